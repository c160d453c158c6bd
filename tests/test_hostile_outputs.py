"""The attack's second round, inputs and outputs (issue 24, items 6 and 7): a --map or model.json that
is a FIFO, huge or nested 200,000 deep is one line, not a hang or a RecursionError; every output path
(--m3u, map --out, train --out) is checked before the work, written whole (a full disk leaves what
was there) and never written through a link. Real processes, real files."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from musictag import atomic
from musictag.library.database import Library
from tests import audiogen
from tests.cli_checks import one_line_error, run_musictag

DEEP = "[" * 200_000 + "]" * 200_000


def _empty_library(tmp_path: Path) -> Path:
    db = tmp_path / "lib.db"
    with Library(db):
        pass
    return db


def _drop_root() -> list[str]:
    """Root writes anywhere: drop the capabilities that allow it, so a read-only folder is real."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: a read-only folder cannot be tested")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


# --- item 6: bounded inputs -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "deep", "huge", "not-utf8"])
def test_a_map_that_is_a_fifo_huge_or_deep_is_one_line(tmp_path, kind):
    bad = tmp_path / "map.json"
    if kind == "fifo":
        os.mkfifo(bad)  # nobody writes into it: reading it would wait for ever
    elif kind == "deep":
        bad.write_text(DEEP)
    elif kind == "huge":
        bad.write_text(json.dumps({f"genre {i}": "Rock" for i in range(300_000)}))
    else:
        bad.write_bytes(b'{"Caf\xe9": "Chanson"}')
    start = time.monotonic()
    res = run_musictag("train", "--from-library", "--map", str(bad), "--db", str(tmp_path / "none.db"),
                       "--out", str(tmp_path / "model"), timeout=60)
    why = {"fifo": "not a regular file", "deep": "nested too deeply", "huge": "more than the",
           "not-utf8": "not UTF-8"}[kind]
    one_line_error(res, "--map", str(bad), why)
    assert time.monotonic() - start < 30
    assert not (tmp_path / "model").exists()


def test_a_model_json_nested_200000_deep_is_one_line(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text(DEEP)
    song = audiogen.write_audio(tmp_path / "a.wav", audiogen.sweep(4.0), 22050, "wav")
    one_line_error(run_musictag("info", str(song), "--model", str(model), timeout=60),
                   "model.json", "nested too deeply")


def test_the_confusion_picture_of_thousands_of_genres_shows_the_largest(tmp_path):
    from musictag.training.plots import CONFUSION_GENRES_SHOWN, plot_confusion

    genres = [f"genre {i}" for i in range(2000)]
    support = np.arange(2000) % 7 + 1  # genre i has i % 7 + 1 held-out tracks
    confusion = np.diag(support).astype(np.int64)
    start = time.monotonic()
    plot_confusion(confusion, genres, tmp_path / "confusion.png")
    assert time.monotonic() - start < 30  # drawing all 2,000 ran out of memory after minutes
    from PIL import Image

    width, height = Image.open(tmp_path / "confusion.png").size
    assert width < 110 * (1.6 + 0.6 * CONFUSION_GENRES_SHOWN) + 1 and height < 110 * (1 + 0.55 * 40) + 1


# --- item 7: output paths ---------------------------------------------------------------------------

def test_m3u_into_a_missing_folder_is_refused_before_anything_is_read(tmp_path):
    res = run_musictag("list", "--db", str(tmp_path / "no-library.db"), "--m3u", str(tmp_path / "gone" / "p.m3u8"))
    one_line_error(res, "--m3u", "no such folder")


def test_m3u_onto_a_link_replaces_the_link_and_never_writes_through_it(tmp_path):
    db = _empty_library(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file")
    link = tmp_path / "p.m3u8"
    link.symlink_to(victim)
    res = run_musictag("list", "--db", str(db), "--m3u", str(link))
    assert res.returncode == 0, res.stderr
    assert victim.read_text() == "the user's own file"
    assert not link.is_symlink() and link.read_text() == "#EXTM3U\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def test_m3u_into_a_read_only_folder_is_one_line(tmp_path):
    db = _empty_library(tmp_path)
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    shelf.chmod(0o555)
    try:
        res = run_musictag("list", "--db", str(db), "--m3u", str(shelf / "p.m3u8"), prefix=_drop_root())
    finally:
        shelf.chmod(0o755)
    one_line_error(res, "--m3u", "cannot write in", "shelf")
    assert list(shelf.iterdir()) == []


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_m3u_that_cannot_be_written_whole_leaves_the_old_playlist(tmp_path):
    db = _empty_library(tmp_path)
    old = tmp_path / "p.m3u8"
    old.write_text("#EXTM3U\n/the/old/entry.mp3\n")
    reader = sqlite3.connect(db)  # holds the library's shared-memory file open, so that reading it writes nothing
    reader.execute("SELECT count(*) FROM tracks").fetchone()
    res = run_musictag("list", "--db", str(db), "--m3u", str(old), env={"PYTHONDONTWRITEBYTECODE": "1"},
                       preexec_fn=_file_size_limit(4))  # "#EXTM3U\n" is 8 bytes: as a full disk would
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    line = [x for x in res.stderr.splitlines() if x.startswith("musictag: error:")]
    assert len(line) == 1 and "could not be written" in line[0] and "nothing was changed" in line[0], res.stderr
    reader.close()
    assert old.read_text() == "#EXTM3U\n/the/old/entry.mp3\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("what", ["file", "foreign folder", "read-only parent"])
def test_train_out_is_checked_before_training(tmp_path, what):
    out = tmp_path / "out"
    prefix: list[str] = []
    if what == "file":
        out.write_text("mine")
        expected = "is a file"
    elif what == "foreign folder":
        out.mkdir()
        (out / "thesis.odt").write_text("mine")
        expected = "not a model's (thesis.odt)"
    else:
        parent = tmp_path / "shelf"
        parent.mkdir()
        out = parent / "model"
        parent.chmod(0o555)
        prefix = _drop_root()
        expected = "cannot write in"
    start = time.monotonic()
    try:
        res = run_musictag("train", str(Path(__file__).parent), "--out", str(out), prefix=prefix)
    finally:
        out.parent.chmod(0o755)
    one_line_error(res, "--out", expected)
    assert time.monotonic() - start < 30  # refused at once, not after cross-validation
    if what != "read-only parent":
        assert (out.read_text() if what == "file" else (out / "thesis.odt").read_text()) == "mine"


def test_a_file_replaced_through_a_link_keeps_the_link_target_and_the_mode(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("mine")
    link = tmp_path / "map.html"
    link.symlink_to(victim)
    atomic.replace_atomically(link, lambda tmp: tmp.write_text("page"))
    assert victim.read_text() == "mine" and not link.is_symlink() and link.read_text() == "page"
    link.chmod(0o640)
    atomic.replace_atomically(link, lambda tmp: tmp.write_text("page 2"))
    assert stat.S_IMODE(link.stat().st_mode) == 0o640  # a replaced file keeps its permissions


def test_a_model_folder_is_replaced_whole_or_not_at_all(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text("old")

    def half(folder: Path) -> None:
        (folder / "model.json").write_text("new")
        raise OSError(28, "No space left on device")

    from musictag.errors import MusictagError
    from musictag.output_files import write_output_folder

    with pytest.raises(MusictagError, match="could not be written .No space left on device"):
        write_output_folder(model, "--out", half)
    assert (model / "model.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    write_output_folder(model, "--out", lambda folder: (folder / "model.json").write_text("new"))
    assert (model / "model.json").read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "linked"
    link.symlink_to(elsewhere)
    write_output_folder(link, "--out", lambda folder: (folder / "model.json").write_text("linked"))
    assert not link.is_symlink() and (link / "model.json").read_text() == "linked" and not any(elsewhere.iterdir())


def test_a_killed_write_leaves_no_half_file(tmp_path):
    """A writer killed mid-write leaves the old file; its temporary file is swept once old."""
    target = tmp_path / "p.m3u8"
    target.write_text("old")
    code = ("import os, sys, time\nfrom musictag import atomic\n"
            "def slow(tmp):\n    tmp.write_text('half')\n    print('writing', flush=True)\n    time.sleep(60)\n"
            f"atomic.replace_atomically({str(target)!r}, slow)\n")
    proc = subprocess.Popen([os.sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.kill()
    proc.wait()
    assert target.read_text() == "old"
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".p.m3u8.")]
    assert len(leftovers) == 1
    hour_ago = time.time() - 2 * atomic.LEFTOVER_AGE_S
    os.utime(leftovers[0], (hour_ago, hour_ago))
    assert atomic.sweep(target) == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["p.m3u8"]


def test_model_json_of_thousands_of_genres_stays_small_enough_to_read():
    from musictag.small_files import MAX_TEXT_BYTES
    from musictag.training.model_folders import description_metrics

    big = {"confusion": np.eye(2000, dtype=int).tolist(), "track_accuracy": 0.5}
    assert len(json.dumps(big, indent=1)) > MAX_TEXT_BYTES  # as model.json it could not be read again
    assert description_metrics(big) == {"track_accuracy": 0.5}  # metrics.json keeps the matrix
    small = {"confusion": np.eye(10, dtype=int).tolist()}
    assert description_metrics(small) is small
