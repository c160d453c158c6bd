"""What every scan engine (the local pool, the Dask cluster) sends back for one file: an :class:`Outcome`.

Plain data, in a module of its own: the main process imports it without the analysis stack.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Outcome:
    """What a worker found out about one file (plain data, cheap to send back)."""

    quick_hash: str | None = None
    audio_hash: str | None = None  # musictag.audio.payload.audio_hash (None: the format has no payload)
    format: str | None = None
    duration: float | None = None
    scores: list[float] | None = None  # in the model's genre order
    embedding: bytes | None = None  # float32, L2-normalised
    summary: dict | None = None  # backbone models: TrackSummary.to_row(), kept to re-score without decoding
    silent: bool = False
    error: str | None = None  # one line, for the user
    transient: bool = False  # the failure says nothing of the file (no worker could run it): try it next scan
    peak_rss: int = 0  # bytes, of the worker so far
