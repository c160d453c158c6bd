"""The library DB: schema, path keys, quick hash, rows, embeddings, generation, lock."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from musictag.errors import UsageError
from musictag.hashing import quick_hash
from musictag.library.connection import LibraryBusy, default_db_path
from musictag.library.database import Library
from musictag.library.rows import FileFacts
from musictag.library.schema import SCHEMA_VERSION
from musictag.paths import display_path, key_range, key_to_path, path_to_key


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    library = Library(tmp_path / "lib" / "library.db")
    yield library
    library.close()


def _generation(lib: Library) -> int:
    return int(lib.meta_get("index_generation"))


def test_default_path_is_in_the_user_data_folder_unless_overridden(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    monkeypatch.delenv("MUSICTAG_DB", raising=False)
    assert default_db_path().name == "library.db" and "musictag" in str(default_db_path())
    monkeypatch.setenv("MUSICTAG_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"


def test_schema_1_library_is_upgraded_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with Library(db) as library:
        library.save_analysis("/m/a.mp3", FileFacts(), model_id="gtzan-crnn-1", status="ok", scores={"rock": 0.9})
        library.db.execute("DROP TABLE track_summaries")
        library.db.execute("ALTER TABLE tracks DROP COLUMN file_tags")
        library.db.execute("ALTER TABLE tracks DROP COLUMN audio_hash")
        library.meta_set("schema_version", 1)
    with Library(db, readonly=True) as library:  # read-only: usable as it is
        assert library.meta_get("schema_version") == "1"
    with Library(db) as library:
        assert library.meta_get("schema_version") == str(SCHEMA_VERSION) == "4"
        assert "track_summaries" in library.db.table_names()
        assert {"file_tags", "audio_hash"} <= set(library.db["tracks"].columns_dict)
        assert library.predictions(1) == {"rock": 0.9}


def test_schema_3_library_gets_the_audio_hash_column_null_in_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "v3.db"
    with Library(db) as library:
        library.save_analysis("/m/a.mp3", FileFacts(10, 1, "q1", 2.0, "mp3", "a1"), model_id="m", status="ok")
        library.db.execute("ALTER TABLE tracks DROP COLUMN audio_hash")
        library.meta_set("schema_version", 3)
    with Library(db, readonly=True) as library:  # read-only: read as it is, the hash unknown
        assert library.meta_get("schema_version") == "3"
        assert library.track_by_path("/m/a.mp3").audio_hash is None
    with Library(db) as library:
        assert library.meta_get("schema_version") == "4"
        old = library.track_by_path("/m/a.mp3")
        assert (old.quick_hash, old.audio_hash) == ("q1", None)  # known by size and mtime until analysed again
        library.save_analysis("/m/a.mp3", FileFacts(10, 1, "q1", 2.0, "mp3", "a1"), model_id="m", status="ok")
        assert library.track_by_path("/m/a.mp3").audio_hash == "a1"


def test_summary_round_trips_and_goes_with_its_track(lib: Library) -> None:
    from musictag.analysis.track_summary import TrackSummary

    rng = np.random.default_rng(0)
    summary = TrackSummary.of(rng.normal(0, 1, (5, 200)), rng.uniform(0, 1, (5, 50)))
    track_id = lib.save_analysis("/m/a.mp3", FileFacts(), model_id=None, status="ok", scores={"rock": 1.0},
                                 summary=dict(summary.to_row(), backbone="musicnn-msd-0123456789"))
    got = lib.summary(track_id)
    np.testing.assert_array_equal(got.patches, summary.patches)
    np.testing.assert_array_equal(got.tags, summary.tags)
    row = next(lib.db.query("SELECT * FROM track_summaries"))
    np.testing.assert_array_equal(np.frombuffer(row["mean"], "<f4"), summary.mean)
    np.testing.assert_array_equal(np.frombuffer(row["spread"], "<f4"), summary.spread)
    lib.delete_tracks([track_id])
    assert lib.summary(track_id) is None


def test_new_library_has_schema_wal_and_meta(lib: Library) -> None:
    tables = {"tracks", "predictions", "embeddings", "tag_backups", "meta", "track_summaries"}
    assert tables <= set(lib.db.table_names())
    assert lib.meta_get("schema_version") == str(SCHEMA_VERSION)
    assert _generation(lib) == 0
    assert lib.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert lib.index_path() == lib.path.with_suffix(".annoy")
    columns = set(lib.db["tracks"].columns_dict)
    assert {"path", "size", "mtime_ns", "quick_hash", "duration", "format", "status", "error", "model_id",
            "genre", "confidence", "analysed_at"} <= columns


@pytest.mark.parametrize("raw", [b"/music/plain.mp3", b"/music/caf\xc3\xa9.flac", b"/music/bad\xff\xfe.mp3",
                                 "/music/esc\U0010fffd.mp3".encode(), "/music/\U0010fffd\U0010fffdx".encode()])
def test_path_keys_round_trip_and_are_valid_text(raw: bytes) -> None:
    key = path_to_key(raw)
    key.encode("utf-8")  # storable as SQLite TEXT
    assert os.fsencode(key_to_path(key)) == raw
    if b"\xff" not in raw and "\U0010fffd".encode() not in raw:
        assert key == os.fsdecode(raw)  # ordinary paths are stored as they are


def test_folder_key_range_holds_exactly_its_files() -> None:
    low, high = key_range(path_to_key("/music/a"))
    inside = [path_to_key(p) for p in ("/music/a/x.mp3", b"/music/a/\xff.mp3", "/music/a/b/c.flac")]
    outside = [path_to_key(p) for p in ("/music/a.mp3", "/music/ab/x.mp3", "/music/a")]
    assert all(low <= k < high for k in inside)
    assert not any(low <= k < high for k in outside)


def test_display_path_shows_undecodable_bytes() -> None:
    assert display_path(b"/m/bad\xff.mp3") == "/m/bad\\xff.mp3"


def test_quick_hash_sees_content_not_name(tmp_path: Path) -> None:
    data = np.random.default_rng(0).bytes(500_000)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    a.write_bytes(data)
    b.write_bytes(data)
    c.write_bytes(data[:-1] + b"x")
    assert quick_hash(a) == quick_hash(b) != quick_hash(c)
    small = tmp_path / "small"
    small.write_bytes(b"abc")
    assert len(quick_hash(small)) == 32


def test_saving_a_track_upserts_by_path_and_bumps_generation(lib: Library) -> None:
    v = np.ones(4, np.float32) / 2
    tid = lib.save_analysis("/m/a.mp3", FileFacts(), model_id=None, status="ok", scores={"rock": 0.9, "pop": 0.1},
                            embedding=v.tobytes())
    assert _generation(lib) == 1
    assert lib.track_by_path("/m/a.mp3").genre == "rock"
    assert lib.predictions(tid) == pytest.approx({"rock": 0.9, "pop": 0.1})
    np.testing.assert_array_equal(lib.embedding(tid), v)
    again = lib.save_failure("/m/a.mp3", "bad", model_id=None)
    assert again == tid and lib.embedding(tid) is None and lib.predictions(tid) == {}
    assert _generation(lib) == 2
    lib.save_failure("/m/b.mp3", "bad", model_id=None)
    assert _generation(lib) == 2  # no embedding added or removed


def test_all_embeddings_are_ordered_by_track_id(lib: Library) -> None:
    ids, m = lib.all_embeddings()
    assert ids.shape == (0,) and m.shape[0] == 0
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(3, 8)).astype(np.float32)
    tids = [lib.save_analysis(f"/m/{i}.mp3", FileFacts(), model_id=None, status="ok", embedding=v.tobytes())
            for i, v in enumerate(vecs)]
    ids, m = lib.all_embeddings()
    assert ids.dtype == np.int64 and ids.tolist() == tids
    np.testing.assert_array_equal(m, vecs)


def test_move_keeps_id_embedding_and_backups(lib: Library) -> None:
    tid = lib.save_analysis("/m/a.mp3", FileFacts(quick_hash="h1"), model_id=None, status="ok",
                            scores={"rock": 1.0}, embedding=np.ones(2, np.float32).tobytes())
    lib.add_backup(tid, "/m/a.mp3", {"field": "TCON", "values": []}, ["Rock"])
    generation = _generation(lib)
    lib.move_track(tid, "/n/b.mp3", size=5)
    assert lib.track_by_path("/n/b.mp3").id == tid and lib.track_by_path("/m/a.mp3") is None
    assert lib.track_by_hash("h1").id == tid
    assert list(lib.backups()) == ["/n/b.mp3"]
    assert _generation(lib) == generation


def test_delete_tracks_removes_their_analysis_and_keeps_their_backups(lib: Library) -> None:
    tid = lib.save_analysis("/m/a.mp3", FileFacts(), model_id=None, status="ok", scores={"rock": 1.0},
                            embedding=np.ones(2, np.float32).tobytes())
    lib.add_backup(tid, "/m/a.mp3", {"field": "TCON", "values": []}, ["Rock"])
    assert lib.delete_tracks([tid]) == 1
    for table in ("tracks", "predictions", "embeddings", "track_summaries"):
        assert lib.db[table].count == 0
    assert _generation(lib) == 2
    [kept] = lib.backups()["/m/a.mp3"]  # what was in the file before musictag outlives the analysis
    assert kept.track_id is None and kept.written == ["Rock"]
    back = lib.save_analysis("/m/a.mp3", FileFacts(), model_id=None, status="ok")  # the file comes back
    assert [b.track_id for b in lib.backups_at("/m/a.mp3")] == [back]


def test_backups_filter_by_file_or_folder(lib: Library) -> None:
    for path in ("/m/a/1.mp3", "/m/a/2.mp3", "/m/b/3.mp3"):
        tid = lib.save_analysis(path, FileFacts(), model_id=None, status="ok")
        lib.add_backup(tid, path, {"field": "TCON", "values": ["Jazz"]}, ["Rock"])
    assert sorted(lib.backups(["/m/a"])) == ["/m/a/1.mp3", "/m/a/2.mp3"]
    assert list(lib.backups(["/m/b/3.mp3"])) == ["/m/b/3.mp3"]
    entry = lib.backups(["/m/b"])["/m/b/3.mp3"][0]
    assert entry.original["values"] == ["Jazz"] and entry.written == ["Rock"]


def test_writer_lock_refuses_a_second_writer(tmp_path: Path) -> None:
    first = Library(tmp_path / "l.db", lock=True)
    with pytest.raises(LibraryBusy, match=f"pid {os.getpid()}"):
        Library(tmp_path / "l.db", lock=True)
    reader = Library(tmp_path / "l.db", readonly=True)  # readers are never refused
    assert reader.db["tracks"].count == 0
    reader.close()
    first.close()
    Library(tmp_path / "l.db", lock=True).close()


def test_a_link_planted_at_the_lock_name_is_refused_not_followed(tmp_path: Path) -> None:
    Library(tmp_path / "l.db").close()
    elsewhere = tmp_path / "precious.txt"
    elsewhere.write_text("keep me")
    (tmp_path / "l.db.lock").symlink_to(elsewhere)
    with pytest.raises(UsageError, match="is a symbolic link, not the library's lock file"):
        Library(tmp_path / "l.db", lock=True)
    assert elsewhere.read_text() == "keep me"


def test_readonly_needs_an_existing_library(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="run musictag scan first"):
        Library(tmp_path / "none.db", readonly=True)
    assert not (tmp_path / "none.db").exists()


def test_a_file_that_is_not_a_library_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UsageError, match="not a usable musictag library"):
        Library(junk)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)").connection.commit()
    with pytest.raises(UsageError, match="no schema version"):
        Library(other, readonly=True)
    alien = tmp_path / "alien.db"
    sqlite3.connect(alien).execute("CREATE TABLE notes (t TEXT)").connection.commit()
    with pytest.raises(UsageError, match="not a musictag library"):
        Library(alien)
    assert sqlite3.connect(alien).execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]


def test_a_symlinked_name_is_the_same_library_with_the_same_lock(tmp_path: Path) -> None:
    real = tmp_path / "real" / "lib.db"
    Library(real).close()
    (tmp_path / "alias.db").symlink_to(real)
    first = Library(real, lock=True)
    try:
        with pytest.raises(LibraryBusy, match=f"pid {os.getpid()}"):
            Library(tmp_path / "alias.db", lock=True)
    finally:
        first.close()
    with Library(tmp_path / "alias.db", lock=True) as library:  # opened through the link: the real file's journal
        library.meta_set("seen", "through the link")
        assert (tmp_path / "real" / "lib.db-wal").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.db", "real"]  # no lock, journal or index of its own
    with Library(real, readonly=True) as library:
        assert library.meta_get("seen") == "through the link"


def test_a_library_file_with_two_names_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    Library(db).close()
    os.link(db, tmp_path / "twin.db")
    before = (db.read_bytes(), db.stat().st_mtime_ns, sorted(p.name for p in tmp_path.iterdir()))
    for name in ("lib.db", "twin.db"):
        for kind in ({"lock": True}, {}, {"readonly": True}):
            refused = re.escape(f"{tmp_path / name}: ") + ".*2 names .*hard links"
            with pytest.raises(UsageError, match=refused) as caught:
                Library(tmp_path / name, **kind)
            assert "\n" not in str(caught.value)
    assert (db.read_bytes(), db.stat().st_mtime_ns, sorted(p.name for p in tmp_path.iterdir())) == before
    (tmp_path / "twin.db").unlink()
    Library(db, lock=True).close()
