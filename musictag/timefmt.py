"""Durations as people read them: ``mm:ss``, ``h:mm:ss``, or to the tenth of a second."""

from __future__ import annotations


def format_time(seconds: float, tenths: bool = False) -> str:
    """Format seconds as ``mm:ss`` (or ``h:mm:ss``), whole seconds cut; with ``tenths``, rounded to
    tenths (``00:02.9``, and 2.995 s is ``00:03.0``)."""
    if tenths:
        t = max(0, round(seconds * 10))
        return f"{format_time(t // 10)}.{t % 10}"
    s = max(0, int(seconds))
    h, rem = divmod(s, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60:02d}:{rem % 60:02d}"
