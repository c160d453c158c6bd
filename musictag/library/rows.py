"""What :class:`~musictag.library.database.Library` hands out and takes: typed rows, not dicts.

Each class mirrors one table (see :mod:`musictag.library.database` for what the columns mean) and is
built from a query's row by ``from_sql``, which decodes the JSON columns. They are frozen: a changed
track is a new value (``dataclasses.replace``), and a write goes through a ``Library`` method.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from musictag.analysis.duration_floor import short_reason

if TYPE_CHECKING:
    from musictag.analysis.track_summary import TrackSummary

#: Why a track was left uncertain, by the tag state a scan recorded in ``tracks.tag_state``
#: (``musictag list``, the scan summary).
UNSURE_WHY = {"uncertain": "best genre under the confidence needed",
              "unfamiliar": "unlike every track the model learned from",
              "short": short_reason()}


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What an analysis found out about a file: the columns that say which file, and what kind, it was."""

    size: int | None = None
    mtime_ns: int | None = None
    quick_hash: str | None = None
    duration: float | None = None
    format: str | None = None
    audio_hash: str | None = None  # musictag.audio.payload.audio_hash: None where the format has no payload


@dataclass(frozen=True, slots=True)
class TrackRow:
    """One ``tracks`` row, with the backbone of its stored summary (``summary_backbone``, None: none kept)."""

    id: int
    path: str
    size: int | None = None
    mtime_ns: int | None = None
    quick_hash: str | None = None
    duration: float | None = None
    format: str | None = None
    status: str | None = None
    error: str | None = None
    model_id: str | None = None
    genre: str | None = None
    confidence: float | None = None
    analysed_at: str | None = None
    tag_state: str | None = None
    file_tags: str | None = None  # JSON of what the file's own tags said when last read: see own_tags()
    audio_hash: str | None = None  # of the audio alone, tags left out (None: not known, or no payload)
    summary_backbone: str | None = None

    @classmethod
    def from_sql(cls, row: dict[str, Any]) -> TrackRow:
        """The row of a ``SELECT`` over ``tracks`` (extra columns are ignored, missing ones are None)."""
        return cls(**{name: row.get(name) for name in _TRACK_COLUMNS})

    def own_tags(self) -> dict[str, Any] | None:
        """What the file's own tags said when the scan last read them (``genres``, ``album``, ``artist``), or
        None when never read (decoded on demand: a scan's plan reads every row and needs none of it)."""
        return None if self.file_tags is None else json.loads(self.file_tags)


_TRACK_COLUMNS = tuple(f.name for f in fields(TrackRow))
#: The ``tracks`` columns a write may set (``id`` and the joined ``summary_backbone`` are not columns to set).
TRACK_COLUMNS = frozenset(_TRACK_COLUMNS) - {"id", "summary_backbone"}


@dataclass(frozen=True, slots=True)
class TagBackup:
    """One ``tag_backups`` row: a file's genre field as it was just before musictag wrote ``written``."""

    id: int
    track_id: int | None  # None: the track was pruned (its file gone from the scanned folders, or ignored)
    path: str
    field: str
    original: dict[str, Any]  # the TagFile snapshot
    written: list[str] | None
    written_at: str

    @classmethod
    def from_sql(cls, row: dict[str, Any]) -> TagBackup:
        """The row of ``SELECT * FROM tag_backups``, its JSON columns read."""
        return cls(int(row["id"]), row["track_id"], row["path"], row["field"], json.loads(row["original"]),
                   json.loads(row["written"]) if row["written"] else None, row["written_at"])


@dataclass(frozen=True, slots=True)
class LearningRow:
    """An analysed track as learning from the library reads it: its own tags and its stored summary."""

    id: int
    path: str
    file_tags: dict[str, Any] | None  # as TrackRow.own_tags()
    backbone: str | None  # the backbone its summary came from (None: no summary kept)
    summary: TrackSummary | None
