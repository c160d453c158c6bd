"""Library database faults (full disk, damage, another program's schema) give one line and exit 2."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

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
