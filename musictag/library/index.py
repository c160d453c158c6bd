"""The Annoy index of the library's embeddings: a file beside the DB, rebuilt when they change.

Annoy indexes cannot be changed once built, so the index is rebuilt from the stored embeddings
(cheap: seconds for 100,000 tracks) at the end of every scan that changed anything, and by
:func:`load` whenever it finds the index stale. Item id = track id; metric ``angular``, which
ranks as cosine similarity does (``cos = 1 - d**2 / 2`` for the angular distance ``d``).

Staleness: the scan bumps the meta value ``index_generation`` whenever embeddings change; the
generation an index file was built from is stored as ``index_built_generation`` only after the
file is in place, with the file's SHA-1 (``index_sha1``): a file damaged or replaced since (of
the right size or not) does not match it, counts as stale and is rebuilt, since Annoy itself
trusts its file blindly (a damaged one crashed ``similar``). The file is written under a
temporary name in the same folder and renamed over the old one (``os.replace``), so a kill during
a rebuild leaves the old index whole and usable, merely stale, and the next :func:`load` rebuilds it.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musictag import atomic
from musictag.errors import MusictagError, UsageError
from musictag.hashing import file_digest
from musictag.library.schema import GENERATION_KEY

if TYPE_CHECKING:
    from musictag.library.database import Library

METRIC = "angular"
BUILT_GENERATION_KEY = "index_built_generation"
DIM_KEY = "index_dim"
TREES_KEY = "index_trees"
CHECKSUM_KEY = "index_sha1"
MIN_TREES = 10
MAX_TREES = 50
#: Nodes a query inspects, as a multiple of Annoy's default (trees x results). At 100,000 128-d
#: items this lifts recall@10 from ~0.88 to ~0.99 for ~0.3 ms a query (bench/bench_similar.py).
SEARCH_FACTOR = 4


@dataclass
class IndexStatus:
    """Where the index file is and whether it matches the stored embeddings."""

    path: Path
    exists: bool
    generation: int  # of the stored embeddings
    built_generation: int | None  # of the index file, None when never built
    dim: int | None
    trees: int | None
    intact: bool = True  # the file's content is the one built (checksum)

    @property
    def fresh(self) -> bool:
        """True when the file exists, is intact and was built from the current embeddings."""
        return self.exists and self.intact and self.built_generation == self.generation

    @property
    def why_stale(self) -> str:
        """Why a stale index is rebuilt, in words."""
        return "damaged or changed since it was built" if self.exists and not self.intact else "out of date"


def n_trees(n_items: int) -> int:
    """Trees for ``n_items`` items: 10 up to 10 items, 10 more per factor of 10, at most 50."""
    if n_items <= 10:
        return MIN_TREES
    return max(MIN_TREES, min(MAX_TREES, round(10 * math.log10(n_items))))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _checksum(path: Path) -> str | None:
    """SHA-1 of a file's bytes, or None when it cannot be read.

    Hashed once per version of the file in a process (``similar`` asks for the status twice: before
    its message, and again when it loads the index): the key is the file's identity, size and mtime.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _hashed(os.fspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _hashed(path: str, dev: int, ino: int, size: int, mtime_ns: int) -> str | None:
    try:
        return file_digest([path], "sha1")
    except OSError:
        return None


def status(library: Library) -> IndexStatus:
    """The index file's state against the library's current embedding generation and its checksum."""
    path = Path(library.index_path())
    exists = path.is_file()
    intact = exists and _checksum(path) == library.meta_get(CHECKSUM_KEY)
    return IndexStatus(path, exists, _int(library.meta_get(GENERATION_KEY)) or 0,
                       _int(library.meta_get(BUILT_GENERATION_KEY)), _int(library.meta_get(DIM_KEY)),
                       _int(library.meta_get(TREES_KEY)), intact)


@dataclass(frozen=True)
class Ensured:
    """What :func:`ensure` found and did."""

    status: IndexStatus  # the index's state afterwards
    rebuilt_s: float | None = None  # seconds the rebuild took; None: not rebuilt
    was_damaged: bool = False  # the file was there but not the one built (damaged, or changed since)
    left_stale: bool = False  # out of date, and the library cannot be written here: left as it is


def ensure(library: Library, force: bool = False) -> Ensured:
    """Rebuild the index when it is missing, damaged or out of date (or with ``force``), unless the library
    cannot be written (a read-only share: reported, nothing changed)."""
    import time

    state = status(library)
    if library.readonly and not force and not state.fresh:
        return Ensured(state, left_stale=True)
    if not force and state.fresh:
        return Ensured(state)
    damaged = state.exists and not state.intact
    started = time.perf_counter()
    rebuild(library)
    return Ensured(status(library), time.perf_counter() - started, damaged)


def in_memory(library: Library) -> Any:
    """An index of the stored embeddings built in memory only (for a library that cannot be written)."""
    ids, vectors = library.all_embeddings()
    if len(ids) == 0:
        raise MusictagError("the library holds no analysed tracks")
    return _built(ids, vectors)


def _built(ids: Any, vectors: Any) -> Any:
    """An Annoy index of ``vectors`` keyed by ``ids``, built (in memory)."""
    from annoy import AnnoyIndex

    index = AnnoyIndex(int(vectors.shape[1]), METRIC)
    for track_id, vector in zip(ids.tolist(), vectors, strict=True):
        index.add_item(track_id, vector)
    index.build(n_trees(len(ids)), n_jobs=-1)
    return index


def rebuild(library: Library) -> Path:
    """Build the index from the stored embeddings, put it in place atomically; return its path.

    With no embeddings stored, any old index file is removed (there is nothing to search).
    """
    if library.readonly:
        raise UsageError(f"{library.path}: the library cannot be written here, so its similarity index cannot be "
                         "rebuilt on disk (`musictag similar` builds one in memory)")
    path = Path(library.index_path())
    generation = _int(library.meta_get(GENERATION_KEY)) or 0  # read before the embeddings
    ids, vectors = library.all_embeddings()
    atomic.sweep(path)
    if len(ids) == 0:
        path.unlink(missing_ok=True)
        dim = trees = checksum = None
    else:
        dim, trees = int(vectors.shape[1]), n_trees(len(ids))
        index = _built(ids, vectors)
        def save(tmp: Path) -> str | None:
            try:
                index.save(os.fspath(tmp))
            finally:
                index.unload()
            return _checksum(tmp)  # of the file as written, before anyone else can touch its name

        checksum = atomic.replace_atomically(path, save)
    library.meta_set(DIM_KEY, dim)
    library.meta_set(TREES_KEY, trees)
    library.meta_set(CHECKSUM_KEY, checksum)
    library.meta_set(BUILT_GENERATION_KEY, generation)
    return path


def neighbours(index: Any, vector: Any, k: int) -> tuple[list[int], list[float]]:
    """The ``k`` items nearest to ``vector`` in a loaded index: ``(track ids, angular distances)``."""
    return index.get_nns_by_vector(vector, k, search_k=SEARCH_FACTOR * index.get_n_trees() * k,
                                   include_distances=True)


def load(library: Library, on_stale: Callable[[str, bool], None] | None = None) -> Any:
    """The library's index, ready to query (an ``annoy.AnnoyIndex``), rebuilt first when stale.

    ``on_stale(why, in_memory)`` is told before a stale index is rebuilt (``in_memory``: the
    library cannot be written here, so the index is built in memory only). Raises
    :class:`MusictagError` when the library holds no embeddings.
    """
    from annoy import AnnoyIndex

    state = status(library)
    if not state.fresh:
        if on_stale is not None:
            on_stale(state.why_stale, library.readonly)
        if library.readonly:  # a read-only place: search an index built now, in memory
            return in_memory(library)
        rebuild(library)
        state = status(library)
    if not state.exists or not state.dim:
        raise MusictagError("the library holds no analysed tracks")
    index = AnnoyIndex(state.dim, METRIC)
    try:
        index.load(os.fspath(state.path))
    except OSError:  # damaged or unreadable file: build it again once
        rebuild(library)
        index.load(os.fspath(state.path))
    return index
