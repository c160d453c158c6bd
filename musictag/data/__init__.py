"""Data files shipped with musictag (the fault-filtered GTZAN split lists)."""
