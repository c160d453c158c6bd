"""A tag editor's pass over the library (real files of every format, real mutagen edits, real scans): the tags are
read again, the audio is not analysed again; an audio change still is."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from musictag.audio.payload import file_hashes
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from tests import audiogen
from tests.cli_checks import run_musictag
from tests.scan_checks import WITH_GENRE, copy_library, require_model, track_rows

ALL = ScanOptions(min_confidence=0.0, jobs=2)  # tag every track, whatever the model says
COVER = b"\xff\xd8\xff\xe0" + os.urandom(200_000)
#: Formats whose genre the tag editor sets (the user's from then on); the others get a new title and a cover only.
USER_GENRE = ("wav", "ogg", "aac", "wma")

require_model()


def test_a_tag_editors_pass_is_read_without_analysing_again_and_an_audio_change_is_analysed(
        tagged_files: dict[str, Path], tmp_path: Path) -> None:
    files = copy_library(tagged_files, tmp_path / "music")
    db = tmp_path / "lib.db"
    first = scan([tmp_path / "music"], db, ALL)
    assert (first.analysed, first.tagged, first.kept, first.failed) == (9, 7, 2, 0)
    written = {fmt: audiogen.raw_genres(path) for fmt, path in files.items()}
    before = track_rows(db)
    assert all(before[str(path)].audio_hash for path in files.values())
    with sqlite3.connect(db) as conn:  # a row from before audio hashes (a schema 3 library): known as before
        conn.execute("UPDATE tracks SET audio_hash = NULL WHERE path = ?", [str(files["alac"])])

    for fmt, path in files.items():  # Picard's pass: every file's tags rewritten, a cover added
        audiogen.edit_tags(path, title=f"{fmt} (remastered)", genre="Polka" if fmt in USER_GENRE else None,
                           cover=COVER)
    again = scan([tmp_path / "music"], db, ALL)
    assert (again.analysed, again.tags_edited, again.skipped, again.failed) == (1, 8, 0, 0)  # alac: the old row
    assert again.changes == [] and again.kept == len(USER_GENRE) + len(WITH_GENRE)
    rows = track_rows(db)
    for fmt, path in files.items():
        row, st = rows[str(path)], path.stat()
        assert (row.size, row.mtime_ns) == (st.st_size, st.st_mtime_ns), fmt  # the next scan skips it
        assert (row.quick_hash, row.audio_hash) == file_hashes(path), fmt
        assert row.analysed_at == before[str(path)].analysed_at or fmt == "alac", fmt
        if fmt in USER_GENRE:  # the genre set by hand is the user's: kept, learned from
            assert audiogen.raw_genres(path) == ["Polka"] and row.tag_state == "kept", fmt
            assert row.own_tags()["genres"] == ["Polka"], fmt
        else:  # a title edited: nothing changes
            assert audiogen.raw_genres(path) == written[fmt], fmt
            assert row.tag_state == before[str(path)].tag_state, fmt
    listed = json.loads(run_musictag("scan", str(tmp_path / "music"), "--db", str(db), "--json").stdout)
    assert (listed["analysed"], listed["tags_edited"], listed["skipped"]) == (0, 0, 9)

    path = files["wav"]  # the audio itself changed: analysed again
    audiogen.write_audio(path, audiogen.sweep(4.0, seed=99), 44100, "wav")
    audiogen.edit_tags(path, title="wav (remastered)", genre="Polka")
    changed = scan([tmp_path / "music"], db, ALL)
    assert (changed.analysed, changed.tags_edited, changed.skipped) == (1, 0, 8)
    assert track_rows(db)[str(path)].analysed_at != rows[str(path)].analysed_at


def test_a_tagger_that_edits_and_renames_in_one_pass_moves_the_tracks_and_keeps_musictags_genres(
        tagged_files: dict[str, Path], tmp_path: Path) -> None:
    """Picard's usual pass: tags rewritten and each file renamed into Artist/Album. The track is found moved by
    its audio, not analysed again, and the genre musictag wrote stays musictag's (restorable), not the user's."""
    files = copy_library(tagged_files, tmp_path / "music")
    db = tmp_path / "lib.db"
    first = scan([tmp_path / "music"], db, ALL)
    assert first.failed == 0
    before = track_rows(db)
    ours = {fmt for fmt, path in files.items() if before[str(path)].tag_state == "written"}
    assert ours
    renamed = {}
    for fmt, path in files.items():
        audiogen.edit_tags(path, title=f"{fmt} (remastered)", cover=COVER)
        target = tmp_path / "music" / "Artist" / "Album" / f"{fmt} (remastered){path.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
        renamed[fmt] = target
    again = scan([tmp_path / "music"], db, ALL)
    assert (again.analysed, again.moved, again.pruned, again.failed) == (0, len(files), 0, 0), again.errors
    assert again.tags_edited == len(files) and again.changes == []
    rows = track_rows(db)
    for fmt, path in renamed.items():
        row = rows[str(path)]
        assert row.id == before[str(files[fmt])].id and row.tag_state == before[str(files[fmt])].tag_state, fmt
        assert (row.quick_hash, row.audio_hash) == file_hashes(path), fmt
    res = run_musictag("restore", "--db", str(db))
    assert res.returncode == 0, res.stderr
    assert all(not audiogen.raw_genres(renamed[fmt]) for fmt in ours)  # musictag's genres taken back out
