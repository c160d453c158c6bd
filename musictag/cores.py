"""How many CPU cores this process may use: what the scan's workers and training's backbone run on."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


# --- the scan ----------------------------------------------------------------------------------


def capped_workers(requested: int, asked: str) -> tuple[int, str | None]:
    """``requested`` worker processes held to :func:`usable_cpus` (more is no faster, and each holds a model):
    how many to start, and the note that says so when they are fewer (``asked``: the option as given, e.g.
    ``--jobs 9``)."""
    cores = usable_cpus()
    if requested <= cores:
        return requested, None
    return cores, f"{asked} is more than the {cores} CPU cores musictag may use here; using {cores}"
