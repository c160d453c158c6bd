"""Trained models shipped with musictag; each sub-folder is one model artifact."""
