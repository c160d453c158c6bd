"""Library database faults (full disk, damage, another program's file, one library under two names) give one
line, and change nothing that is not musictag's."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mutagen.flac import FLAC

from musictag.library.database import Library
from tests import audiogen
from tests.cli_checks import one_line_error, run_musictag


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("music")
    for i in range(12):
        audiogen.write_audio(folder / f"t{i:02d}.flac", audiogen.sweep(4.0, seed=i), 22050, "flac", 1)
    return folder


def test_another_programs_schema_version_is_refused_untouched(tmp_path):
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', 'abc')")
    for command in (["stats"], ["scan", str(tmp_path)]):
        one_line_error(run_musictag(*command, "--db", str(db)), "schema version 'abc'")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == [("meta",)]
        assert conn.execute("SELECT value FROM meta").fetchall() == [("abc",)]


def test_a_tracks_table_of_another_program_is_refused(tmp_path):
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.execute("CREATE TABLE tracks (id INTEGER PRIMARY KEY, name TEXT)")
    one_line_error(run_musictag("stats", "--db", str(db)), "'tracks' table is not musictag's")
    one_line_error(run_musictag("scan", str(tmp_path), "--db", str(db)), "'tracks' table is not musictag's")


def test_a_damaged_library_says_so(music, tmp_path):
    db = tmp_path / "lib.db"
    res = run_musictag("scan", str(music), "--db", str(db), "--dry-run")  # analysis only: nothing written
    assert res.returncode == 0, res.stderr
    with Library(db) as library:
        library.db["tracks"].insert_all({"path": f"/m/{i}.mp3", "status": "ok", "genre": "rock"} for i in range(3000))
    data = bytearray(db.read_bytes())
    page = 4096
    for start in range(2 * page, len(data) - page, 3 * page):  # scribble over many b-tree pages
        data[start:start + 64] = b"\xff" * 64
    db.write_bytes(bytes(data))
    one_line_error(run_musictag("stats", "--db", str(db)), str(db), "the library database is damaged", "move it aside")


def test_damage_a_plain_read_steps_over_is_found_before_anything_is_changed(music, tmp_path):
    db = tmp_path / "lib.db"
    with Library(db) as library:
        library.db["tracks"].insert_all({"path": f"/m/{i:05d}.mp3", "status": "ok", "genre": "rock"}
                                        for i in range(3000))
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'idx_tracks_path'").fetchone()[0]
    data = bytearray(db.read_bytes())
    start = (root - 1) * page_size  # the path index's root page: the counts per genre never read it
    data[start + 12:start + page_size // 2] = b"\xff" * (page_size // 2 - 12)
    db.write_bytes(bytes(data))
    with sqlite3.connect(db) as conn:  # the damage is real, and a plain count passes over it
        assert conn.execute("SELECT count(*) FROM tracks WHERE status = 'ok'").fetchone()[0] == 3000
        assert conn.execute("PRAGMA quick_check").fetchone()[0] != "ok"
    before = db.read_bytes()
    one_line_error(run_musictag("stats", "--db", str(db)), str(db), "the library database is damaged")
    one_line_error(run_musictag("scan", str(music), "--db", str(db)), str(db), "the library database is damaged")
    assert db.read_bytes() == before


@pytest.fixture
def full_disk(tmp_path: Path):
    """A 300 KiB file system for the library (root only: a tmpfs mount)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small file system here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_stops_the_scan_in_one_line_and_no_tag_is_written_without_its_backup(music, tmp_path, full_disk):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(music, copy)
    db = full_disk / "lib.db"
    res = run_musictag("scan", str(copy), "--db", str(db), "--min-confidence", "0")
    one_line_error(res, str(db), "disk that holds the library is full")
    from musictag.tags.tagfile import read_genres

    tagged = {str(p) for p in copy.iterdir() if read_genres(p)}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        backed_up = {row[0] for row in conn.execute("SELECT path FROM tag_backups")}
    assert tagged <= backed_up  # every file that changed has its old value saved


def _foreign(kind: str, db: Path) -> None:
    """Another program's file at ``db``: an SQLite database (rollback journal or WAL), other bytes, or empty."""
    if kind == "empty":
        db.write_bytes(b"")
    elif kind == "bytes":
        db.write_bytes(b"this is not sqlite" * 300)
    else:
        conn = sqlite3.connect(db)
        if kind == "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE notes (t TEXT)")
        conn.execute("INSERT INTO notes VALUES ('mine')")
        conn.commit()
        conn.close()
    os.utime(db, ns=(10**18, 10**18))  # a change of any kind would move it


_REFUSED_AS = {"empty": "an empty file", "bytes": "not an SQLite database", "sqlite": "not a musictag library",
               "wal": "not a musictag library"}


@pytest.mark.parametrize("kind", list(_REFUSED_AS))
def test_another_programs_file_is_refused_by_every_command_and_left_as_it_was(tmp_path, kind):
    folder = tmp_path / "theirs"
    folder.mkdir()
    db = folder / "f.db"
    _foreign(kind, db)
    before = (db.read_bytes(), db.stat().st_mtime_ns)
    music = tmp_path / "music"
    music.mkdir()
    song = audiogen.write_audio(music / "a.flac", audiogen.sweep(2.0), 22050, "flac", 1)
    for command in (["scan", str(music)], ["restore"], ["similar", str(song)], ["list"], ["stats"],
                    ["map", "--out", str(tmp_path / "map.png")]):
        one_line_error(run_musictag(*command, "--db", str(db)), str(db), _REFUSED_AS[kind])
        assert (db.read_bytes(), db.stat().st_mtime_ns) == before, command
        assert [p.name for p in folder.iterdir()] == ["f.db"], command  # no lock, -wal or -shm left beside it
    assert audiogen.raw_genres(song) is None


def _with_genres(folder: Path, count: int, seconds: float, seed: int = 0) -> dict[Path, list[str] | None]:
    """``count`` FLAC sweeps in ``folder``, every other one with a genre of its own; their genre fields."""
    folder.mkdir(parents=True)
    for i in range(count):
        audiogen.write_audio(folder / f"{i:02d}.flac", audiogen.sweep(seconds, sr=22050, seed=seed + i), 22050, "flac")
    for path in sorted(folder.iterdir())[::2]:
        tags = FLAC(path)
        tags["GENRE"] = ["My Own Genre"]
        tags.save()
    return {p: audiogen.raw_genres(p) for p in folder.iterdir()}


def _scan(music: Path, db: Path) -> list[str]:
    """The arguments of a scan that writes every file's genre (backing up what was there)."""
    return ["scan", str(music), "--db", str(db), "--jobs", "1", "--min-confidence", "0", "--overwrite"]


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "musictag", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_lock(proc: subprocess.Popen, lock: Path) -> None:
    """Wait until the scan ``proc`` holds the writer lock ``lock`` (its pid written in it)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError):
            if lock.read_text() == str(proc.pid):
                return
        time.sleep(0.02)
    raise AssertionError(f"the first scan never took the lock: {proc.poll()}")


def _backups(db: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT * FROM tag_backups ORDER BY id").fetchall()


def test_two_scans_at_once_through_a_symlink_one_is_refused_and_restore_is_exact(tmp_path):
    music = tmp_path / "music"
    originals = _with_genres(music, 16, 20.0)  # a scan of seconds
    db, alias = tmp_path / "lib.db", tmp_path / "alias.db"
    alias.symlink_to(db)
    first = _start(_scan(music, db))
    try:
        _wait_for_lock(first, tmp_path / "lib.db.lock")
        second = run_musictag(*_scan(music, alias))
        overlapped = first.poll() is None
    finally:
        _, first_err = first.communicate(timeout=300)
    assert second.returncode == 2, second.stderr
    lines = [line for line in second.stderr.splitlines() if line.startswith("musictag: error: ")]
    assert len(lines) == 1 and "in use by another musictag scan" in lines[0] and str(alias) in lines[0], second.stderr
    assert overlapped, "the first scan ended before the second one was refused: the refusal was not the lock's"
    assert first.returncode == 0, first_err
    paths = [row[2] for row in _backups(db)]
    assert sorted(paths) == sorted(set(paths)) and len(paths) == len(originals)  # one backup a file, none doubled
    res = run_musictag("restore", "--db", str(alias))
    assert res.returncode == 0, res.stderr
    assert {p: audiogen.raw_genres(p) for p in originals} == originals
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.db", "lib.annoy", "lib.db", "lib.db.lock", "music"]


def test_a_hard_linked_library_is_refused_by_both_scans_at_once_and_restore_is_exact_after(tmp_path):
    music = tmp_path / "music"
    originals = _with_genres(music, 4, 4.0)
    db, twin = tmp_path / "lib.db", tmp_path / "twin.db"
    res = run_musictag(*_scan(music, db))
    assert res.returncode == 0, res.stderr
    backups = _backups(db)
    assert len(backups) == 4
    originals.update(_with_genres(music / "new", 4, 4.0, seed=4))  # work for the next scans
    os.link(db, twin)
    names = sorted(p.name for p in tmp_path.iterdir())
    scans = [_start(_scan(music, name)) for name in (db, twin)]
    for proc, name in zip(scans, (db, twin), strict=True):
        _, err = proc.communicate(timeout=300)
        one_line_error(subprocess.CompletedProcess(proc.args, proc.returncode, "", err), str(name), "hard links")
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # no -wal or -shm of either name
    assert _backups(db) == backups
    twin.unlink()
    res = run_musictag("restore", "--db", str(db))
    assert res.returncode == 0, res.stderr
    assert {p: audiogen.raw_genres(p) for p in originals} == originals
