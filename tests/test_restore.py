"""`musictag restore` puts back what musictag changed, and only that."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from musictag.errors import UsageError
from musictag.library.database import Library
from musictag.library.history import original_snapshot
from musictag.library.restore import restore
from musictag.library.rows import TagBackup
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from musictag.tags.riff_info import info_fields
from musictag.tags.tagfile import read_genres, write_genres
from tests import audiogen
from tests.cli_checks import run_musictag


@pytest.fixture
def tagged(tmp_path: Path) -> tuple[Path, Path, list[Path]]:
    """Three files tagged by a scan (none had a genre): ``(music folder, db, files)``."""
    music = tmp_path / "music"
    music.mkdir()
    files = [audiogen.write_audio(music / f"t{i}.flac", audiogen.sweep(3.0, seed=i), 44100, "flac") for i in range(3)]
    db = tmp_path / "lib.db"
    report = scan([music], db, ScanOptions(min_confidence=0.0, jobs=1))
    assert report.tagged == 3
    return music, db, files


def test_a_genre_edited_since_is_kept_unless_forced(tagged):
    _, db, files = tagged
    write_genres(files[0], ["My Own Genre"])
    report = restore(None, db)
    assert [c["values"] for c in report.changed] == [["My Own Genre"]]
    assert len(report.restored) == 2 and read_genres(files[0]) == ["My Own Genre"]
    assert read_genres(files[1]) == [] and read_genres(files[2]) == []
    forced = restore(None, db, force=True)
    assert len(forced.restored) == 1 and read_genres(files[0]) == []


def test_cli_lists_what_it_kept(tagged):
    _, db, files = tagged
    write_genres(files[1], ["Mine"])
    res = subprocess.run([sys.executable, "-m", "musictag", "restore", "--db", str(db)], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    assert f"kept: {files[1]}: Mine (edited since musictag wrote it; --force restores it)" in res.stderr
    assert "2 file(s) restored" in res.stdout


def test_ignoring_a_folder_keeps_the_undo_and_its_files_stay_musictags(tmp_path):
    """The README's ignore cycle: tag, ignore a folder (its tracks pruned), restore one of its files, bring the
    folder back: the other file is musictag's again, counted and learned from as such."""
    music = tmp_path / "music"
    (music / "Samples").mkdir(parents=True)
    song = audiogen.write_audio(music / "song.flac", audiogen.sweep(3.0, seed=0), 44100, "flac")
    hits = [audiogen.write_audio(music / "Samples" / f"hit{i}.flac", audiogen.sweep(3.0, seed=i + 1), 44100,
                                 "flac") for i in range(2)]
    db = tmp_path / "lib.db"
    options = ScanOptions(min_confidence=0.0, jobs=1)
    assert scan([music], db, options).tagged == 3
    genres = {p: read_genres(p) for p in hits}
    (music / "Samples" / ".musictag-ignore").touch()
    assert scan([music], db, options).pruned == 2
    one = restore([hits[0]], db)  # an ignored file that still exists can be put back
    assert [r["values"] for r in one.restored] == [[]] and read_genres(hits[0]) == []
    (music / "Samples" / ".musictag-ignore").unlink()
    back = scan([music], db, options)
    assert back.kept == 0 and read_genres(hits[1]) == genres[hits[1]]  # hit1 is musictag's again, not the user's
    with Library(db, readonly=True) as lib:
        assert lib.track_by_path(hits[1]).tag_state == "written"
    everything = restore(None, db)
    assert sorted(r["path"] for r in everything.restored) == sorted(str(p) for p in (song, *hits))
    assert all(read_genres(p) == [] for p in (song, *hits))


def test_restored_tracks_stay_restored_until_retag_asks(tagged):
    music, db, files = tagged
    genres = [read_genres(p) for p in files]
    restore(files[1:], db)
    for options in (ScanOptions(min_confidence=0.0, jobs=1), ScanOptions(min_confidence=0.0, jobs=1, overwrite=True)):
        again = scan([music], db, options)  # neither a plain scan nor --overwrite writes over a restore
        assert again.tagged == (1 if options.overwrite else 0)  # --overwrite: only the track never restored
        assert [read_genres(p) for p in files[1:]] == [[], []]
    listed = run_musictag("list", "--restored", "--json", "--db", str(db))
    assert sorted(v["path"] for v in json.loads(listed.stdout)) == [str(p) for p in files[1:]], listed.stderr
    retag = scan([music], db, ScanOptions(min_confidence=0.0, jobs=1, retag=True))
    assert retag.tagged == 2 and [read_genres(p) for p in files] == genres
    assert json.loads(run_musictag("list", "--restored", "--json", "--db", str(db)).stdout) == []


def test_a_missing_library_is_refused_not_created(tmp_path):
    db = tmp_path / "nowhere.db"
    with pytest.raises(UsageError, match="no library at"):
        restore(None, db)
    assert not db.exists()
    res = subprocess.run([sys.executable, "-m", "musictag", "restore", "--db", str(db)], capture_output=True,
                         text=True)
    assert res.returncode == 2 and "no library at" in res.stderr and not db.exists()


def test_a_path_that_does_not_exist_says_so(tagged, tmp_path):
    _, db, _ = tagged
    with pytest.raises(UsageError, match="no such file or folder: .*nope"):
        restore([tmp_path / "nope"], db)


def test_a_moved_file_says_to_rescan_first(tagged, tmp_path):
    music, db, files = tagged
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(files[2], moved / files[2].name)
    report = restore(None, db)
    assert len(report.restored) == 2
    assert [e["reason"] for e in report.errors] == [
        "file not found: moved or deleted since it was tagged; run `musictag scan` on its new folder first, "
        "then restore"]


def test_restore_walks_back_over_musictags_own_writes() -> None:
    def backup(values: list[str] | None, written: list[str]) -> TagBackup:
        return TagBackup(1, 1, "/m/a.mp3", "TCON", {"present": values is not None, "values": values or []}, written,
                         "2026-01-01T00:00:00Z")

    # none -> Rock (musictag) -> Pop (musictag --overwrite): the original is "none"
    assert original_snapshot([backup(None, ["Rock"]), backup(["Rock"], ["Pop"])])["present"] is False
    # none -> Rock (musictag), the user sets Jazz, -> Pop (musictag): restore gives the user's Jazz
    assert original_snapshot([backup(None, ["Rock"]), backup(["Jazz"], ["Pop"])])["values"] == ["Jazz"]
    # an ID3v2.3 file stores two genres joined
    assert original_snapshot([backup(["Soul"], ["Rock", "Pop"]), backup(["Rock; Pop"], ["Jazz"])])["values"] == \
        ["Soul"]


def test_a_wavs_info_genre_is_written_kept_and_restored_byte_for_byte(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    credits = [(b"IART", b"An Artist\0"), (b"ISFT", b"Lavf59.27.100\0")]
    ripped = audiogen.wav_with_info(music / "ripped.wav", credits, seconds=3.0, seed=1)
    own = audiogen.wav_with_info(music / "own.wav", [*credits, (b"IGNR", b"Chanson\0")], seconds=3.0, seed=2)
    originals = {path: path.read_bytes() for path in (ripped, own)}
    db = tmp_path / "lib.db"
    report = scan([music], db, ScanOptions(min_confidence=0.0, jobs=1))
    assert (report.tagged, report.kept) == (1, 1)  # a genre that another program put in INFO is the user's
    assert own.read_bytes() == originals[own]
    assert read_genres(ripped) and info_fields(ripped)["IGNR"] == read_genres(ripped)[0]
    report = scan([music], db, ScanOptions(min_confidence=0.0, jobs=1, overwrite=True))
    assert info_fields(own)["IGNR"] == read_genres(own)[0] != "Chanson"
    report = restore(None, db)
    assert sorted(r["values"] for r in report.restored) == [[], ["Chanson"]]
    assert all(path.read_bytes() == original for path, original in originals.items())


def test_an_info_genre_edited_since_musictag_wrote_it_is_kept(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    path = audiogen.wav_with_info(music / "ripped.wav", [(b"IART", b"An Artist\0")], seconds=3.0)
    db = tmp_path / "lib.db"
    assert scan([music], db, ScanOptions(min_confidence=0.0, jobs=1)).tagged == 1
    written = read_genres(path)
    audiogen.set_info_entries(path, [(b"IART", b"An Artist\0"), (b"IGNR", b"Soul\0")])  # a program writing INFO only
    edited = path.read_bytes()
    report = restore(None, db)
    assert report.restored == [] and [c["values"] for c in report.changed] == [[*written, "Soul"]]
    assert path.read_bytes() == edited
