"""What the library says about each track, for ``musictag list`` and ``musictag stats``: where it
stands, musictag's prediction, and the genre its file holds now (what the user's player shows).

The genre in the file is known without opening it: the genres musictag last wrote (its newest
tag backup) when the scan wrote one, else what the scan read from the file (``tracks.file_tags``);
None for a track scanned before musictag recorded that.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from musictag.library.database import Library
from musictag.library.rows import UNSURE_WHY, TrackRow
from musictag.paths import key_to_path, some_of

#: ``list`` filters -> the tracks they select.
STATES = {
    "tagged": "its genre written by musictag",
    "kept": "a genre of its own kept (no --overwrite)",
    "uncertain": "left untagged: the best genre scored under --min-confidence, or the track is unlike every "
                 "track the model learned from",
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
    reason: str | None  # why it failed, or (uncertain) why it was left untagged
    style_tags: list[tuple[str, float]] | None = None  # uncertain: the backbone's strongest style tags

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, the path as printable text plus ``path_bytes`` where that is not the exact name."""
        from musictag.paths import path_fields

        return {**asdict(self), **path_fields(self.path)}


#: Style tags shown beside an uncertain track (strongest first).
STYLE_TAGS_SHOWN = 3


def _state(row: TrackRow) -> str:
    if row.status == "failed" or row.tag_state == "failed":
        return "failed"
    if row.status == "silent":
        return "silent"
    states = {"written": "tagged", None: "pending", "unfamiliar": "uncertain", "short": "uncertain"}
    return states.get(row.tag_state, row.tag_state)


def _tag_names() -> tuple[str, list[str]] | None:
    """The shipped backbone's id and style-tag names, from its manifest alone (None: no usable manifest)."""
    from musictag.analysis.backbone import DEFAULT_BACKBONE, BackboneInfo
    from musictag.errors import UsageError
    from musictag.shipped import shipped_models_dir

    try:
        info = BackboneInfo.read(shipped_models_dir() / DEFAULT_BACKBONE, check_files=False)
        return info.backbone_id, info.tags
    except (UsageError, KeyError, TypeError):
        return None


def _style_tags(library: Library, track_id: int, names: tuple[str, list[str]] | None) -> list[tuple[str, float]] | None:
    """The strongest style tags the backbone (``names``: its id and tag names) heard in a track, where the library
    kept them (None: not kept, or kept from another backbone)."""
    stored = library.style_tags(track_id)
    if stored is None or names is None:
        return None
    backbone_id, scores = stored
    if backbone_id != names[0] or len(scores) != len(names[1]):
        return None
    order = scores.argsort()[::-1][:STYLE_TAGS_SHOWN]
    return [(names[1][i], round(float(scores[i]), 3)) for i in order]


def track_views(library: Library) -> list[TrackView]:
    """Every track of the library, by path."""
    written = {key: list(entries[-1].written or []) for key, entries in library.backups().items()}
    views = []
    names = _tag_names()  # read once: the manifest is small, the library may hold many uncertain tracks
    for row in library.tracks(by_path=True):
        state = _state(row)
        own = row.own_tags()
        if state == "tagged" and row.path in written:
            in_file = written[row.path]
        elif own:
            in_file = list(own.get("genres") or [])
        else:
            in_file = None
        uncertain = state == "uncertain"
        views.append(TrackView(key_to_path(row.path), state, row.genre, row.confidence, in_file, row.duration,
                               UNSURE_WHY.get(row.tag_state) if uncertain else row.error,
                               _style_tags(library, row.id, names) if uncertain else None))
    return views


def matches_genre(view: TrackView, genre: str) -> bool:
    """Whether the track has ``genre`` now: in its file, else (never read) as musictag's prediction."""
    from musictag.library.labels import genre_key, split_values
    from musictag.tags.fields import display_name

    key = genre_key(genre)
    if view.in_file is not None:
        return any(genre_key(g) == key for g in split_values(view.in_file))
    return view.predicted is not None and key in (genre_key(view.predicted), genre_key(display_name(view.predicted)))


#: At most this many of the library's genres are named when a ``--genre`` names none of them.
GENRES_NAMED = 40


def require_genre(views: list[TrackView], genre: str) -> None:
    """Refuse a ``--genre`` that no track of the library has, in its file or as musictag's prediction,
    whatever its state (:class:`~musictag.errors.UsageError`, the library's genres named); a genre some
    track has is no error, even where the tracks chosen by state have none."""
    from musictag.errors import UsageError
    from musictag.library.labels import genre_key, split_values
    from musictag.tags.fields import display_name

    names: dict[str, str] = {}  # genre_key -> the first spelling seen
    for v in views:
        for name in split_values(v.in_file or []):
            names.setdefault(genre_key(name), name)
        if v.predicted:
            names.setdefault(genre_key(display_name(v.predicted)), display_name(v.predicted))
            names.setdefault(genre_key(v.predicted), display_name(v.predicted))
    if genre_key(genre) in names:
        return
    known = sorted(set(names.values()), key=str.casefold)
    shown = some_of(known, GENRES_NAMED) + (": musictag stats lists them" if len(known) > GENRES_NAMED else "")
    raise UsageError(f"no track in the library has the genre {genre!r} (genres: {shown or 'none yet'})")


def genre_counts(views: list[TrackView]) -> tuple[list[tuple[str, int, int, list[str]]],
                                                  list[tuple[str, int, float, int]]]:
    """``(genre in files, tracks, of them written by musictag, its spellings)`` and ``(predicted genre, tracks,
    mean confidence, of them tagged)``, most tracks first. The spellings of one genre (by
    :func:`~musictag.library.labels.genre_key`: ``Hip Hop`` and ``Hip-Hop``, ``Classical Music`` and
    ``Classical``) count as one, named as most tracks spell it; a multi-value field (``Jazz; Blues`` too)
    counts under each value."""
    from musictag.library.labels import genre_key, most_used, spelling_counts, split_values

    in_files: Counter = Counter()
    ours: Counter = Counter()
    spellings = spelling_counts(v.in_file or [] for v in views)
    for v in views:
        for key in dict.fromkeys(genre_key(name) for name in split_values(v.in_file or [])):  # a track once a genre
            in_files[key] += 1
            ours[key] += v.state == "tagged"
    predicted: dict[str, list[float]] = {}
    tagged: Counter = Counter()
    for v in views:
        if v.predicted is not None and v.state not in ("failed", "silent"):
            predicted.setdefault(v.predicted, []).append(v.confidence or 0.0)
            tagged[v.predicted] += v.state == "tagged"
    files = sorted(((most_used(spellings[k]), n, ours[k], sorted(spellings[k], key=lambda s: (-spellings[k][s], s)))
                    for k, n in in_files.items()), key=lambda r: (-r[1], r[0]))
    preds = sorted(((g, len(c), sum(c) / len(c), tagged[g]) for g, c in predicted.items()), key=lambda r: (-r[1], r[0]))
    return files, preds
