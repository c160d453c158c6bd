"""Tracks that sound alike: playlists of the library's tracks nearest to one seed or several.

A seed file that the library already holds (same path, unchanged size and mtime, or the same
quick content hash) is answered from its stored embedding: nothing is decoded, and neither the
model nor librosa is imported. Any other file is analysed on the fly with the model that
analysed the library, and is not added to it.

Several seeds are combined by ``round-robin`` (default: each seed in turn adds its nearest track
not yet taken) or by ``mean`` (the tracks nearest to the mean of the seeds' unit embeddings);
bench/bench_playlist.py measured which keeps the seeds' genres better (README, "Similar tracks").
A playlist never holds a seed, nor a track twice: not the same track, nor two tracks with the
same quick content hash (copies of one recording appear once, and a copy of a seed never). Nor does it hold a
track too short to be given a genre (:func:`musictag.analysis.duration_floor.too_short`: a drum hit, a jingle);
such a track can still be a seed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musictag.analysis.duration_floor import too_short
from musictag.errors import FileError, UsageError
from musictag.hashing import quick_hash
from musictag.library import index as annoy_index
from musictag.library import ordering
from musictag.library.labels import genre_key
from musictag.library.rows import TrackRow
from musictag.paths import display_path, key_to_path, path_fields
from musictag.tags.fields import artist_title, display_name

if TYPE_CHECKING:
    from musictag.analysis.models import Model
    from musictag.library.database import Library

ROUND_ROBIN, MEAN = "round-robin", "mean"  # how several seeds are combined (musictag similar --combine)
RANKED, PATH = "ranked", "path"  # the orders of a playlist (--order)


class SilentSeed(FileError):
    """A seed that is digital silence: there is nothing in it to compare (a usage error, exit 2)."""

    exit_code = 2


@dataclass
class Query:
    """A seed: the track to find neighbours for."""

    path: Path
    embedding: np.ndarray  # (dim,) L2-normalised
    track_id: int | None  # its row in the library, None when analysed on the fly
    exclude: set[int]  # track ids that are the seed itself (same path or same content)
    duration: float | None
    genre: str | None  # model genre key
    quick_hash: str | None = None

    def label(self) -> str:
        """``Artist – Title`` from the file's tags, or the title (the file name) alone."""
        artist, title = artist_title(self.path)
        return f"{artist} – {title}" if artist else title


@dataclass
class Match:
    """One similar track, as shown in the table and the JSON output."""

    rank: int  # its place in the playlist
    similarity: float  # cosine to the closest seed, clipped to [0, 1]
    artist: str | None
    title: str
    genre: str | None  # display name
    genre_key: str | None  # the model's genre key
    path: str
    track_id: int
    duration: float | None
    step: float  # cosine distance from the track before it (the first: from the last seed)

    def label(self) -> str:
        """``Artist – Title``, or the title alone when the artist is unknown."""
        return f"{self.artist} – {self.title}" if self.artist else self.title

    def as_dict(self) -> dict[str, Any]:
        """The match as a JSON-ready object; ``path_bytes`` (hex) gives a name that is not UTF-8 exactly."""

        return {**asdict(self), **path_fields(self.path)}


@dataclass
class Playlist:
    """The tracks found for the seeds, in the order asked for."""

    seeds: list[Query]
    matches: list[Match]

    @property
    def mean_step(self) -> float | None:
        """The mean cosine distance between consecutive tracks, the last seed first (None: no track)."""
        return float(np.mean([m.step for m in self.matches])) if self.matches else None


@dataclass
class Seeds:
    """The seeds resolved, and the playlist entries left out, as ``(printable name, reason)``."""

    queries: list[Query]
    skipped: list[tuple[str, str]]


def genre_keys(library: Library, wanted: str) -> set[str]:
    """The library's genre keys that ``wanted`` names (key or display name, any case or spacing)."""
    present = library.genres()
    target = genre_key(wanted)  # the one spelling rule of every --genre filter (list's too)
    keys = {g for g in present if target in (genre_key(g), genre_key(display_name(g)))}
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
    """The query from the library's stored embedding, or None when the library lacks this content.

    Raises :class:`SilentSeed` for a file the library found to be digital silence (and unchanged since)."""
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
    if row is not None and row.status == "silent":
        raise SilentSeed(p, "digital silence, nothing to compare")
    vector = library.embedding(row.id) if row is not None else None
    if vector is None:
        return None
    return Query(p, vector, row.id, _same_content_ids(library, p, h), row.duration, row.genre, h)


def library_model(library: Library, model_dir: str | os.PathLike | None = None) -> Model:
    """The model of ``model_dir`` (default: the default model), refused unless it analysed the library."""
    from musictag.analysis.models import load_model

    model = load_model(model_dir)
    used = library.model_ids()
    if used and model.model_id not in used:
        raise UsageError(f"the library was analysed with model {', '.join(sorted(used))}, not "
                         f"{model.model_id}: pass that model with --model, or rescan the library")
    return model


def analysed_query(library: Library, path: str | os.PathLike, model: Model) -> Query:
    """The query analysed on the fly with ``model`` (raises DecodeError for bad files, SilentSeed for silence)."""
    from musictag.audio.decode import open_audio

    p = Path(path).absolute()
    with open_audio(p) as opened:
        analysis = model.analyse(opened)
        digest = opened.quick_hash()
    if analysis.silent:
        raise SilentSeed(p, "digital silence, nothing to compare")
    genre = model.genres[int(np.argmax(analysis.scores))]
    return Query(p, analysis.embedding.astype(np.float32), None, _same_content_ids(library, p, digest),
                 analysis.duration, genre, digest)


def resolve_query(library: Library, path: str | os.PathLike, model_dir: str | os.PathLike | None = None,
                  model: Callable[[], Model] | None = None) -> Query:
    """The stored query when the library holds the file, else the file analysed on the fly (with ``model()``
    when given, else the library's model of ``model_dir``)."""
    stored = stored_query(library, path)
    if stored is not None:
        return stored
    return analysed_query(library, path, model() if model else library_model(library, model_dir))


def resolve_seeds(library: Library, given: Sequence[Path], listed: Sequence[Path],
                  model_dir: str | os.PathLike | None = None) -> Seeds:
    """The seeds: the files ``given`` (any that fails raises), then the files a playlist ``listed`` (one
    that cannot be read or is silence is skipped); the same track or content given twice counts once.
    The model is loaded once, and only if a file is not in the library."""
    model = functools.cache(lambda: library_model(library, model_dir))
    queries: list[Query] = []
    skipped: list[tuple[str, str]] = []
    seen: set[Any] = set()
    for path, from_playlist in [(p, False) for p in given] + [(p, True) for p in listed]:
        try:
            query = resolve_query(library, path, model=model)
        except FileError as e:
            if not from_playlist:
                raise
            skipped.append((display_path(path), e.reason))
            continue
        same = {query.track_id, query.quick_hash, os.fsdecode(query.path)} - {None}
        if not same & seen:
            queries.append(query)
        seen |= same
    return Seeds(queries, skipped)


def _nearest(library: Library, index: Any, vector: np.ndarray, wanted: set[str] | None) -> Iterator[TrackRow]:
    """The library's analysed tracks (of the ``wanted`` genres; none too short) nearest to ``vector`` first, fetched
    lazily."""
    total = index.get_n_items()
    k, given = min(32, total), set()
    while True:
        ids, _ = annoy_index.neighbours(index, vector, k)
        fresh = [i for i in ids if i not in given]
        rows = library.analysed_tracks(fresh)
        for i in fresh:
            given.add(i)
            row = rows.get(i)
            if row is not None and not too_short(row.duration) and (wanted is None or row.genre in wanted):
                yield row
        if k >= total:
            return
        k = min(total, k * 4)


def _unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, np.float32)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _taken_in_turn(streams: list[Iterator[TrackRow]], claim: Callable[[TrackRow], bool]) -> Iterator[TrackRow]:
    """Round-robin over ``streams``: each in turn gives its next row that ``claim`` accepts, until all run out."""
    live = list(streams)
    while live:
        for stream in list(live):
            row = next((r for r in stream if claim(r)), None)
            if row is None:
                live.remove(stream)
            else:
                yield row


def build_playlist(library: Library, seeds: Sequence[Query], count: int | None = None,
                   seconds: float | None = None, genre: str | None = None, combine: str = ROUND_ROBIN,
                   order: str = RANKED, index: Any = None) -> Playlist:
    """The tracks that sound like ``seeds``: ``count`` of them, or until they last ``seconds`` in all
    (the track that reaches it included), whichever comes first (neither: every track), of ``genre`` only
    when given; combined by ``combine`` and in ``order`` (``ranked``: as found; ``path``: each step short,
    from the last seed, :func:`musictag.library.ordering.smooth_order`).

    ``index``: the library's loaded index (:func:`musictag.library.index.load`, which is called when None).
    """
    wanted = genre_keys(library, genre) if genre else None
    index = index if index is not None else annoy_index.load(library)
    vectors = np.stack([_unit(s.embedding) for s in seeds])
    taken = set().union(*(s.exclude for s in seeds)) | {s.track_id for s in seeds if s.track_id is not None}
    hashes = {s.quick_hash for s in seeds if s.quick_hash}

    def claim(row: TrackRow) -> bool:
        if row.id in taken or (row.quick_hash is not None and row.quick_hash in hashes):
            return False
        taken.add(row.id)
        if row.quick_hash is not None:
            hashes.add(row.quick_hash)
        return True

    aims = vectors if combine == ROUND_ROBIN else [_unit(vectors.sum(axis=0))]
    chosen: list[TrackRow] = []
    total = 0.0
    for row in _taken_in_turn([_nearest(library, index, aim, wanted) for aim in aims], claim):
        chosen.append(row)
        total += row.duration or 0.0
        if (count is not None and len(chosen) >= count) or (seconds is not None and total >= seconds):
            break
    if order == PATH and len(chosen) > ordering.MAX_PATH_TRACKS:
        raise UsageError(f"--order path puts at most {ordering.MAX_PATH_TRACKS} tracks in order, not "
                         f"{len(chosen)}: ask for fewer (-n, --minutes)")
    found = np.stack([_unit(library.embedding(r.id)) for r in chosen]) if chosen else vectors[:0]
    if order == PATH:
        place = ordering.smooth_order(vectors[-1], found)
        chosen, found = [chosen[i] for i in place], found[place]
    step = ordering.steps(vectors[-1], found)
    closeness = np.clip((found @ vectors.T).max(axis=1, initial=-1.0), 0.0, 1.0)
    matches = []
    for rank, row in enumerate(chosen, start=1):
        path = key_to_path(row.path)
        artist, title = artist_title(path)
        matches.append(Match(rank, round(float(closeness[rank - 1]), 4), artist, title,
                             display_name(row.genre) if row.genre else None, row.genre,
                             os.fsdecode(path), row.id, row.duration, round(float(step[rank - 1]), 4)))
    return Playlist(list(seeds), matches)


def write_m3u(out: str | os.PathLike, playlist: Playlist) -> list[str]:
    """Write an extended M3U8 playlist: the seeds first, then the tracks found, in the playlist's order
    (see :func:`musictag.tags.playlist.write_m3u`); returns ``"path: why"`` for each file left out."""
    from musictag.tags import playlist as m3u

    entries = [(s.duration, s.label(), os.fsdecode(s.path)) for s in playlist.seeds]
    entries += [(m.duration, m.label(), m.path) for m in playlist.matches]
    return m3u.write_m3u(out, entries)
