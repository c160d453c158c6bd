"""The Annoy index: built from the stored embeddings, item id = track id, stale detection, kill safety."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from musictag.errors import MusictagError
from musictag.library import index
from musictag.library.database import Library
from musictag.library.rows import FileFacts

DIM = 16


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _add(lib: Library, vectors: np.ndarray, start: int = 0) -> list[int]:
    return [lib.save_analysis(f"/music/t{start + i}.flac", FileFacts(), model_id=None, status="ok",
                              scores={"rock": 1.0}, embedding=v.tobytes()) for i, v in enumerate(vectors)]


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    library = Library(tmp_path / "library.db")
    yield library
    library.close()


def test_trees_grow_with_the_library_within_bounds() -> None:
    counts = [index.n_trees(n) for n in (0, 1, 10, 100, 1_000, 10_000, 100_000, 10_000_000)]
    assert counts == sorted(counts)
    assert counts[0] == index.MIN_TREES and counts[-1] == index.MAX_TREES


def test_rebuild_keys_items_by_track_id_and_finds_exact_neighbours(lib: Library) -> None:
    rng = np.random.default_rng(0)
    vectors = _unit(rng, 40)
    ids = _add(lib, vectors)
    lib.delete_tracks(ids[:5])  # ids no longer start at 1
    path = index.rebuild(lib)
    assert path == lib.index_path() and path.is_file()
    state = index.status(lib)
    assert state.fresh and state.dim == DIM and state.trees == index.n_trees(35)
    ann = index.load(lib)
    kept = np.array(ids[5:])
    for track_id, v in zip(kept[:5], vectors[5:10], strict=True):
        got = ann.get_nns_by_vector(v, 5)
        exact = kept[np.argsort(-(vectors[5:] @ v))[:5]].tolist()
        assert got == exact and got[0] == track_id
    assert not set(ann.get_nns_by_vector(vectors[0], 40)) & set(ids[:5])


def test_changed_embeddings_make_the_index_stale_and_load_rebuilds_it(lib: Library) -> None:
    rng = np.random.default_rng(2)
    ids = _add(lib, _unit(rng, 10))
    index.rebuild(lib)
    assert index.status(lib).fresh
    new = _add(lib, _unit(rng, 3), start=10)
    assert not index.status(lib).fresh
    assert set(new) <= set(index.load(lib).get_nns_by_item(ids[0], 20))
    assert index.status(lib).fresh
    lib.delete_tracks(new)
    assert not index.status(lib).fresh
    assert not set(new) & set(index.load(lib).get_nns_by_item(ids[0], 20))


def test_missing_index_file_is_rebuilt(lib: Library) -> None:
    _add(lib, _unit(np.random.default_rng(3), 5))
    index.rebuild(lib).unlink()
    assert not index.status(lib).fresh
    assert index.load(lib).get_n_items() >= 5


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_a_damaged_index_file_of_the_right_size_is_rebuilt(lib: Library, where: float) -> None:
    vectors = _unit(np.random.default_rng(5), 200)
    ids = _add(lib, vectors)
    path = index.rebuild(lib)
    data = bytearray(path.read_bytes())
    at = int(len(data) * where)
    data[at:at + 64] = b"\xff" * 64  # garbage where Annoy keeps node offsets and vectors
    path.write_bytes(bytes(data))
    state = index.status(lib)
    assert state.exists and not state.intact and not state.fresh
    ann = index.load(lib)  # rebuilt, not trusted
    assert index.status(lib).fresh
    found, _ = index.neighbours(ann, vectors[7], 1)
    assert found == [ids[7]]


def test_index_command_says_a_damaged_index_is_rebuilt(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from musictag.cli import cli

    db = tmp_path / "l.db"
    with Library(db) as library:
        _add(library, _unit(np.random.default_rng(6), 20))
        path = index.rebuild(library)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    res = CliRunner().invoke(cli, ["index", "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "damaged or changed since it was built: rebuilding it" in res.stderr
    assert "up to date" in res.stdout


def test_empty_library_has_no_index(lib: Library) -> None:
    ids = _add(lib, _unit(np.random.default_rng(4), 3))
    index.rebuild(lib)
    lib.delete_tracks(ids)
    assert not index.rebuild(lib).exists()
    with pytest.raises(MusictagError, match="no analysed tracks"):
        index.load(lib)


# Rebuilds in a child that dies by SIGKILL right before its rename (the temporary file written), or
# in the middle of building the trees.
_KILLED = """
import os, signal, sys
import annoy
from musictag.library import index
from musictag.library.database import Library

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if sys.argv[2] == "rename":
    os.replace = die
else:
    class Dying(annoy.AnnoyIndex):
        def build(self, *args, **kwargs):
            die()
    annoy.AnnoyIndex = Dying
index.rebuild(Library(sys.argv[1]))
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
@pytest.mark.parametrize("moment", ["rename", "build"])
def test_a_kill_during_rebuild_leaves_the_old_index_usable(lib: Library, moment: str) -> None:
    rng = np.random.default_rng(5)
    ids = _add(lib, _unit(rng, 20))
    old = index.rebuild(lib).read_bytes()
    new = _add(lib, _unit(rng, 5), start=20)
    child = subprocess.run([sys.executable, "-c", _KILLED, str(lib.path), moment], capture_output=True, timeout=60)
    assert child.returncode == -9, child.stderr
    assert lib.index_path().read_bytes() == old  # untouched, still whole
    leftovers = list(lib.path.parent.glob(".library.annoy.*.tmp"))
    assert len(leftovers) == (moment == "rename")
    assert not index.status(lib).fresh
    ann = index.load(lib)  # rebuilds: the new tracks are found
    assert set(new) <= set(ann.get_nns_by_item(ids[0], 25))
    for tmp in leftovers:  # an hour later, the next rebuild sweeps what the killed one left
        os.utime(tmp, (time.time() - 7200, time.time() - 7200))
    index.rebuild(lib)
    assert not list(lib.path.parent.glob(".library.annoy.*.tmp"))


def test_scans_that_add_or_remove_files_rebuild_the_index(tmp_path: Path) -> None:
    from musictag.scan.orchestration import scan
    from musictag.scan.report import ScanOptions
    from tests.audiogen import tone, write_audio

    music, db = tmp_path / "music", tmp_path / "library.db"
    music.mkdir()
    for freq in (220, 440, 880):
        write_audio(music / f"{freq}.wav", tone(freq, 5), 22050, "wav")

    def indexed() -> set[int]:
        with Library(db) as lib:
            assert index.status(lib).fresh  # the scan rebuilt it: nothing left to do
            ids = lib.all_embeddings()[0].tolist()
            return set(index.load(lib).get_nns_by_item(ids[0], 10))

    scan([music], db, ScanOptions(jobs=1))
    first = indexed()
    assert len(first) == 3
    write_audio(music / "new.flac", tone(660, 5), 22050, "flac")
    scan([music], db, ScanOptions(jobs=1))
    assert len(indexed()) == 4 and first < indexed()
    (music / "220.wav").unlink()
    with Library(db) as lib:
        gone = lib.track_by_path(music / "220.wav").id
    scan([music], db, ScanOptions(jobs=1))
    assert len(indexed()) == 3 and gone not in indexed()
