"""Tracks that sound alike: the nearest neighbours of a track's embedding in the library's index.

A query file that the library already holds (same path, unchanged size and mtime, or the same
quick content hash) is answered from its stored embedding: nothing is decoded, and neither the
model nor librosa is imported. Any other file is analysed on the fly with the model that
analysed the library, and is not added to it. The query itself (and any copy of it with the
same content hash) is never among the results.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musictag.errors import MusictagError, UsageError
from musictag.hashing import quick_hash
from musictag.library import index as annoy_index
from musictag.library.labels import group_key
from musictag.library.rows import TrackRow
from musictag.paths import key_to_path, path_fields
from musictag.tags.fields import artist_title, display_name

if TYPE_CHECKING:
    from musictag.library.database import Library

# Tag keys holding artist and title, by tag type: easy/Vorbis/APE, ID3, MP4, ASF.


@dataclass
class Query:
    """The track to find neighbours for."""

    path: Path
    embedding: np.ndarray  # (dim,) L2-normalised
    track_id: int | None  # its row in the library, None when analysed on the fly
    exclude: set[int]  # track ids that are the query itself (same path or same content)
    duration: float | None
    genre: str | None  # model genre key


@dataclass
class Match:
    """One similar track, as shown in the table and the JSON output."""

    rank: int
    similarity: float  # cosine, clipped to [0, 1]
    artist: str | None
    title: str
    genre: str | None  # display name
    genre_key: str | None  # the model's genre key
    path: str
    track_id: int
    duration: float | None

    def label(self) -> str:
        """``Artist – Title``, or the title alone when the artist is unknown."""
        return f"{self.artist} – {self.title}" if self.artist else self.title

    def as_dict(self) -> dict[str, Any]:
        """The match as a JSON-ready object; ``path_bytes`` (hex) gives a name that is not UTF-8 exactly."""

        return {**asdict(self), **path_fields(self.path)}


def genre_keys(library: Library, wanted: str) -> set[str]:
    """The library's genre keys that ``wanted`` names (key or display name, any case or spacing)."""
    present = library.genres()
    target = group_key(wanted)  # the one spelling rule of every --genre filter and of labels
    keys = {g for g in present if target in (group_key(g), group_key(display_name(g)))}
    if not keys:
        known = ", ".join(display_name(g) for g in present) or "none yet"
        raise UsageError(f"no track in the library has the genre {wanted!r} (genres: {known})")
    return keys


def _same_content_ids(library: Library, path: str | os.PathLike, quick_hash: str | None) -> set[int]:
    ids = set()
    row = library.track_by_path(path)
    if row is not None:
        ids.add(row.id)
    if quick_hash:
        ids.update(library.ids_with_hash(quick_hash))
    return ids


def _unchanged(row: TrackRow, st: os.stat_result) -> bool:
    return row.size == st.st_size and row.mtime_ns == st.st_mtime_ns


def stored_query(library: Library, path: str | os.PathLike) -> Query | None:
    """The query from the library's stored embedding, or None when the library lacks this content."""
    p = Path(path).absolute()
    try:
        st = p.stat()
        row = library.track_by_path(p)
        if row is not None and _unchanged(row, st):
            h = row.quick_hash
        else:
            h = quick_hash(p)
            row = library.track_by_hash(h)
    except OSError:  # unreadable: the analysis says why
        return None
    vector = library.embedding(row.id) if row is not None else None
    if vector is None:
        return None
    return Query(p, vector, row.id, _same_content_ids(library, p, h), row.duration, row.genre)


def analysed_query(library: Library, path: str | os.PathLike,
                   model_dir: str | os.PathLike | None = None) -> Query:
    """The query analysed on the fly with the library's model (raises DecodeError for bad files)."""
    from musictag.analysis.models import load_model

    model = load_model(model_dir)
    used = library.model_ids()
    if used and model.model_id not in used:
        raise UsageError(f"the library was analysed with model {', '.join(sorted(used))}, not "
                         f"{model.model_id}: pass that model with --model, or rescan the library")
    from musictag.audio.decode import open_audio

    p = Path(path).absolute()
    with open_audio(p) as opened:
        analysis = model.analyse(opened)
        digest = opened.quick_hash()
    if analysis.silent:
        raise MusictagError(f"{p}: digital silence, nothing to compare")
    genre = model.genres[int(np.argmax(analysis.scores))]
    return Query(p, analysis.embedding.astype(np.float32), None, _same_content_ids(library, p, digest),
                 analysis.duration, genre)


def resolve_query(library: Library, path: str | os.PathLike,
                  model_dir: str | os.PathLike | None = None) -> Query:
    """The stored query when the library holds the file, else the file analysed on the fly."""
    return stored_query(library, path) or analysed_query(library, path, model_dir)


def find_similar(library: Library, query: Query, n: int = 10, genre: str | None = None,
                 index: Any = None) -> list[Match]:
    """The ``n`` tracks nearest to ``query``, best first, optionally only those of ``genre``.

    ``index``: the library's loaded index (:func:`musictag.library.index.load`, which is called when None).
    """
    wanted = genre_keys(library, genre) if genre else None
    index = index if index is not None else annoy_index.load(library)
    total = index.get_n_items()
    k = (n + len(query.exclude)) * (4 if wanted else 1) + 1
    while True:
        ids, distances = annoy_index.neighbours(index, query.embedding, min(k, total))
        rows = library.analysed_tracks(ids)
        found = [(i, d) for i, d in zip(ids, distances, strict=True) if i in rows and i not in query.exclude
                 and (wanted is None or rows[i].genre in wanted)]
        if len(found) >= n or k >= total:
            break
        k *= 4
    matches = []
    for rank, (track_id, distance) in enumerate(found[:n], start=1):
        row = rows[track_id]
        path = key_to_path(row.path)
        artist, title = artist_title(path)
        matches.append(Match(rank, round(annoy_index.similarity(distance), 4), artist, title,
                             display_name(row.genre) if row.genre else None, row.genre,
                             os.fsdecode(path), track_id, row.duration))
    return matches


def write_m3u(out: str | os.PathLike, query: Query, matches: list[Match]) -> list[str]:
    """Write an extended M3U8 playlist: the query first, then the matches in rank order
    (see :func:`musictag.tags.playlist.write_m3u`); returns the printable paths of the files left out."""
    from musictag.tags import playlist

    artist, title = artist_title(query.path)
    entries = [(query.duration, f"{artist} – {title}" if artist else title, os.fsdecode(query.path))]
    entries += [(m.duration, m.label(), m.path) for m in matches]
    return playlist.write_m3u(out, entries)
