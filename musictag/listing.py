"""What the library says about each track, for ``musictag list`` and ``musictag stats``: where it
stands, musictag's prediction, and the genre its file holds now (what the user's player shows).

The genre in the file is known without opening it: the genres musictag last wrote (its newest
tag backup) when the scan wrote one, else what the scan read from the file (``tracks.file_tags``);
None for a track scanned before musictag recorded that.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from musictag.library import Library
from musictag.paths import key_to_path

#: ``list`` filters -> the tracks they select.
STATES = {
    "tagged": "its genre written by musictag",
    "kept": "a genre of its own kept (no --overwrite)",
    "uncertain": "left untagged: the best genre scored under --min-confidence",
    "failed": "could not be analysed or tagged",
}


@dataclass
class TrackView:
    """One track as ``list`` shows it."""

    path: str  # as stored (a str path; see :func:`musictag.paths.key_to_path`)
    state: str  # tagged, kept, uncertain, failed, silent, pending (not decided yet), or the tag state
    predicted: str | None  # the model's best genre
    confidence: float | None
    in_file: list[str] | None  # the genre field now; None when never read
    duration: float | None
    reason: str | None  # why it failed

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, the path as printable text plus ``path_bytes`` where that is not the exact name."""
        from musictag.paths import path_fields

        return {**asdict(self), **path_fields(self.path)}


def _state(row: dict[str, Any]) -> str:
    if row["status"] == "failed" or row["tag_state"] == "failed":
        return "failed"
    if row["status"] == "silent":
        return "silent"
    return {"written": "tagged", None: "pending"}.get(row["tag_state"], row["tag_state"])


def track_views(library: Library) -> list[TrackView]:
    """Every track of the library, by path."""
    written: dict[int, list[str]] = {}
    for entries in library.backups().values():
        written[entries[-1]["track_id"]] = list(entries[-1]["written"] or [])
    views = []
    for row in library.tracks(by_path=True):
        state = _state(row)
        if state == "tagged" and row["id"] in written:
            in_file = written[row["id"]]
        elif row.get("file_tags"):
            in_file = list(json.loads(row["file_tags"]).get("genres") or [])
        else:
            in_file = None
        views.append(TrackView(key_to_path(row["path"]), state, row["genre"], row["confidence"], in_file,
                               row["duration"], row["error"]))
    return views


def matches_genre(view: TrackView, genre: str) -> bool:
    """Whether the track has ``genre`` now: in its file, else (never read) as musictag's prediction."""
    from musictag.tags import display_name
    from musictag.user_labels import group_key

    key = group_key(genre)
    if view.in_file is not None:
        return any(group_key(g) == key for g in view.in_file)
    return view.predicted is not None and key in (group_key(view.predicted), group_key(display_name(view.predicted)))


def genre_counts(views: list[TrackView]) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, float, int]]]:
    """``(genre in files, tracks, of them written by musictag)`` and ``(predicted genre, tracks, mean
    confidence, of them tagged)``, most tracks first. A multi-value field counts under each value."""
    in_files: Counter = Counter()
    ours: Counter = Counter()
    for v in views:
        for g in v.in_file or []:
            in_files[g] += 1
            ours[g] += v.state == "tagged"
    predicted: dict[str, list[float]] = {}
    tagged: Counter = Counter()
    for v in views:
        if v.predicted is not None and v.state not in ("failed", "silent"):
            predicted.setdefault(v.predicted, []).append(v.confidence or 0.0)
            tagged[v.predicted] += v.state == "tagged"
    files = sorted(((g, n, ours[g]) for g, n in in_files.items()), key=lambda r: (-r[1], r[0]))
    preds = sorted(((g, len(c), sum(c) / len(c), tagged[g]) for g, c in predicted.items()), key=lambda r: (-r[1], r[0]))
    return files, preds
