"""``musictag scan``: the walk, the plan, the workers (a local pool or a Dask cluster), storing and tagging."""
