"""musictag scan on real files of every format: tags written and restored, moves, prunes, thresholds,
dry runs, failures, a second scan refused, a stop request.

Tests that must not depend on how good the model is pass ``min_confidence`` 0 (tag everything)
or 1 (tag nothing).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from musictag.analysis.models import load_model
from musictag.audio import decode as audio
from musictag.cli import cli
from musictag.library import index
from musictag.library.connection import LibraryBusy
from musictag.library.database import Library
from musictag.library.restore import RestoreReport, restore
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from musictag.scan.tag_decision import choose_genres
from musictag.tags.fields import display_name
from musictag.tags.tagfile import read_genres
from tests import audiogen
from tests.cli_checks import run_musictag
from tests.scan_checks import WITH_GENRE, copy_library, require_model, track_rows

ALL = ScanOptions(min_confidence=0.0, jobs=2)  # tag every track, whatever the model says
NONE = ScanOptions(min_confidence=1.0, jobs=2)  # tag (almost) no track
GENRE_FIELD_KEYS = {"tcon", "genre", "\xa9gen", "wm/genre"}

require_model()


def _other_tags(path: Path) -> list[tuple[str, str]]:
    tags = mutagen.File(path).tags
    return sorted((str(k).lower(), repr(v)) for k, v in (tags.items() if tags else [])
                  if str(k).lower() not in GENRE_FIELD_KEYS)


def _pcm(path: Path) -> list[np.ndarray]:
    out = [audio.load(path)]
    if path.suffix in (".wav", ".aiff", ".flac"):
        out.append(sf.read(path, dtype="int16")[0])
    return out


def test_choose_genres_takes_the_best_that_reach_the_threshold() -> None:
    scores = {"rock": 0.5, "metal": 0.3, "pop": 0.2}
    assert choose_genres(scores, 0.4, 1) == ["rock"]
    assert choose_genres(scores, 0.25, 3) == ["rock", "metal"]
    assert choose_genres(scores, 0.0, 2) == ["rock", "metal"]
    assert choose_genres(scores, 0.6, 3) == []


def test_scan_tags_every_format_keeps_audio_and_other_tags_and_restore_undoes_it(
        tagged_files: dict[str, Path], tmp_path: Path) -> None:
    files = copy_library(tagged_files, tmp_path / "music")
    before = {fmt: (_pcm(p), _other_tags(p), audiogen.raw_genres(p)) for fmt, p in files.items()}
    db = tmp_path / "lib.db"

    report = scan([tmp_path / "music"], db, ALL)
    assert (report.found, report.analysed, report.failed, report.errors) == (9, 9, 0, [])
    assert report.tagged == 7 and report.kept == 2 and report.exit_code == 0
    rows = track_rows(db)
    for fmt, path in files.items():
        row = rows[str(path)]
        assert row.status == "ok" and row.model_id == load_model().model_id
        expected = WITH_GENRE.get(fmt) or [display_name(row.genre)]
        assert audiogen.raw_genres(path) == expected, fmt
        pcm, others, _ = before[fmt]
        assert all(np.array_equal(a, b) for a, b in zip(pcm, _pcm(path), strict=True)), fmt
        assert _other_tags(path) == others, fmt
        st = path.stat()
        assert (row.size, row.mtime_ns) == (st.st_size, st.st_mtime_ns)  # tagged: new mtime stored

    again = scan([tmp_path / "music"], db, ALL)
    assert (again.analysed, again.skipped, again.tagged) == (0, 9, 0)

    restored = restore(None, db)
    assert isinstance(restored, RestoreReport) and len(restored.restored) == 7 and restored.exit_code == 0
    for fmt, path in files.items():
        pcm, others, genres = before[fmt]
        assert audiogen.raw_genres(path) == genres, fmt  # including "no genre field at all"
        assert _other_tags(path) == others, fmt
        assert all(np.array_equal(a, b) for a, b in zip(pcm, _pcm(path), strict=True)), fmt
    assert Library(db, readonly=True).db["tag_backups"].count == 0
    after_restore = scan([tmp_path / "music"], db, ALL)
    assert (after_restore.analysed, after_restore.tagged) == (0, 0)  # restored files stay as they are


def test_moves_are_followed_and_vanished_files_pruned_without_analysis(tagged_files: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    files = copy_library(tagged_files, tmp_path / "music")
    db = tmp_path / "lib.db"
    assert scan([tmp_path / "music"], db, ALL).tagged == 7  # tagged: the stored quick hash is the new content's
    old = track_rows(db)[str(files["flac"])]
    (tmp_path / "music" / "moved").mkdir()
    new_path = tmp_path / "music" / "moved" / "renamed.flac"
    files["flac"].rename(new_path)
    files["wma"].unlink()
    report = scan([tmp_path / "music"], db, ALL)
    assert (report.analysed, report.moved, report.pruned, report.skipped, report.tagged) == (0, 1, 1, 7, 0)
    rows = track_rows(db)
    assert rows[str(new_path)].id == old.id and str(files["flac"]) not in rows
    assert str(files["wma"]) not in rows and len(rows) == 8
    with Library(db) as lib:
        assert lib.embedding(old.id) is not None
        assert index.status(lib).fresh  # rebuilt after the prune
        assert sorted(index.load(lib).get_nns_by_item(old.id, 20)) == sorted(r.id for r in rows.values())


def test_overwrite_and_top_k_write_native_multi_values(tagged_files: dict[str, Path], tmp_path: Path) -> None:
    files = copy_library(tagged_files, tmp_path / "music")
    db = tmp_path / "lib.db"
    report = scan([tmp_path / "music"], db, ScanOptions(min_confidence=0.0, top_k=2, overwrite=True, jobs=2))
    assert report.tagged == 9
    for fmt in ("flac", "mp3", "aac", "wma", "ogg"):
        assert len(audiogen.raw_genres(files[fmt])) == 2, fmt
    restore([files["flac"], tmp_path / "music" / "sub"], db)
    assert audiogen.raw_genres(files["flac"]) == ["Jazz"] and audiogen.raw_genres(files["alac"]) is None
    assert len(audiogen.raw_genres(files["mp3"])) == 2  # not asked for


def test_uncertain_tracks_stay_untagged_until_the_threshold_allows(tagged_files: dict[str, Path], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    files = copy_library(tagged_files, tmp_path / "music")
    db = tmp_path / "lib.db"
    with monkeypatch.context() as m:  # an untrained model can be sure of itself: make every track uncertain
        m.setattr("musictag.scan.tag_decision.choose_genres", lambda scores, threshold, k: [])
        report = scan([tmp_path / "music"], db, NONE)
    # the two with a genre of the user's keep it: they are not uncertain, only the seven without one
    assert (report.uncertain, report.tagged, report.kept) == (7, 0, 2)
    assert {t["path"] for t in report.uncertain_tracks} == {str(p) for f, p in files.items() if f not in WITH_GENRE}
    assert audiogen.raw_genres(files["wav"]) is None
    lower = scan([tmp_path / "music"], db, ALL)  # decided again from the stored scores
    assert (lower.analysed, lower.tagged, lower.kept) == (0, 7, 0)
    assert read_genres(files["wav"]) == [display_name(track_rows(db)[str(files["wav"])].genre)]


def test_dry_run_writes_nothing_and_shows_the_changes(tagged_files: dict[str, Path], tmp_path: Path) -> None:
    files = copy_library(tagged_files, tmp_path / "music")
    data = {p: p.read_bytes() for p in files.values()}
    db = tmp_path / "lib.db"
    report = scan([tmp_path / "music"], db, ScanOptions(min_confidence=0.0, dry_run=True, jobs=2))
    assert report.tagged == 7 and len(report.changes) == 7 and report.analysed == 9
    assert not db.exists()
    assert all(p.read_bytes() == b for p, b in data.items())
    result = CliRunner().invoke(cli, ["scan", str(tmp_path / "music"), "--db", str(db), "--dry-run",
                                      "--min-confidence", "0"])
    assert result.exit_code == 0 and result.output.count("would tag") == 7 and not db.exists()


def test_known_failures_are_skipped_until_they_change_or_are_retried(tagged_files: dict[str, Path],
                                                                    tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    shutil.copy(tagged_files["wav"], music / "good.wav")
    for i in range(3):
        (music / f"broken{i}.mp3").write_bytes(os.urandom(4000))
    db = tmp_path / "lib.db"
    first = scan([music], db, NONE)
    assert first.failed == 3 and first.exit_code == 1
    again = scan([music], db, NONE)  # nothing new failed: a script can tell
    assert (again.failed, again.known_failures, again.analysed, again.exit_code) == (0, 3, 0, 0)
    assert again.errors == []
    res = run_musictag("scan", str(music), "--db", str(db))
    assert res.returncode == 0 and "failed:" not in res.stderr and "known failures" in res.stdout
    (music / "broken1.mp3").write_bytes(os.urandom(5000))  # changed: tried again
    changed = scan([music], db, NONE)
    assert (changed.failed, changed.known_failures) == (1, 2)
    retried = scan([music], db, replace(NONE, retry_failed=True))
    assert (retried.failed, retried.known_failures) == (3, 0) and retried.exit_code == 1


def test_a_broken_link_is_a_known_failure_while_the_link_is_unchanged(tagged_files: dict[str, Path],
                                                                     tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    shutil.copy(tagged_files["wav"], music / "good.wav")
    link = music / "gone.flac"
    link.symlink_to(music / "nowhere.flac")
    db = tmp_path / "lib.db"
    first = scan([music], db, NONE)
    assert first.failed == 1 and first.exit_code == 1
    assert [e["reason"] for e in first.errors] == ["broken symbolic link"]
    for _ in range(2):  # not retried, not a failure again, as long as the link is the same link
        again = scan([music], db, NONE)
        assert (again.failed, again.known_failures, again.exit_code, again.errors) == (0, 1, 0, [])
    with Library(db) as lib:
        lib.db.execute("UPDATE tracks SET model_id = 'an-older-model'")
    other_model = scan([music], db, NONE)
    assert (other_model.failed, other_model.known_failures) == (0, 1)  # no model can read a link to nothing
    link.unlink()
    link.symlink_to(music / "elsewhere.flac")  # another target: a new link, tried again
    assert scan([music], db, NONE).failed == 1
    link.unlink()
    link.symlink_to(music / "good.wav")  # mended: analysed
    mended = scan([music], db, NONE)
    assert (mended.failed, mended.analysed, mended.exit_code) == (0, 1, 0)


def test_failed_files_are_kept_and_retried_and_a_new_model_reanalyses(tagged_files: dict[str, Path],
                                                                      tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    shutil.copy(tagged_files["wav"], music / "good.wav")
    (music / "later.flac").write_bytes(b"not yet audio")
    db = tmp_path / "lib.db"
    report = scan([music], db, NONE)
    assert report.failed == 1 and report.exit_code == 1
    assert track_rows(db)[str(music / "later.flac")].status == "failed"
    shutil.copy(tagged_files["flac"], music / "later.flac")
    report = scan([music], db, NONE)
    assert (report.analysed, report.failed, report.skipped) == (1, 0, 1)
    with Library(db) as lib:
        lib.db.execute("UPDATE tracks SET model_id = 'an-older-head'")
    report = scan([music], db, NONE)  # another head on the same backbone: re-scored, not decoded
    assert (report.analysed, report.rescored) == (0, 2)
    with Library(db) as lib:
        lib.db.execute("UPDATE tracks SET model_id = 'an-older-model'")
        lib.db.execute("UPDATE track_summaries SET backbone = 'another-backbone'")
    assert scan([music], db, NONE).analysed == 2


def test_a_second_scan_on_the_same_library_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    (tmp_path / "music").mkdir()
    holder = Library(db, lock=True)
    try:
        with pytest.raises(LibraryBusy, match="in use by another musictag"):
            scan([tmp_path / "music"], db, NONE)
        result = CliRunner().invoke(cli, ["scan", str(tmp_path / "music"), "--db", str(db)])
        assert isinstance(result.exception, LibraryBusy) and result.exception.exit_code == 2  # main() exits 2
        assert "in use by another musictag" in str(result.exception)
    finally:
        holder.close()


def test_stop_request_commits_finished_work_and_the_next_scan_resumes(tagged_files: dict[str, Path],
                                                                      tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    for i in range(6):
        shutil.copy(tagged_files["flac"], music / f"{i}.flac")
    db = tmp_path / "lib.db"
    done = []
    report = scan([music], db, ScanOptions(min_confidence=1.0, jobs=1),
                  progress=lambda phase, n, total: done.append(n) if phase == "analysing" else None,
                  should_stop=lambda: len(done) >= 3)
    assert report.interrupted and report.exit_code == 130 and 1 <= report.analysed < 6
    assert len(track_rows(db)) == report.analysed
    rest = scan([music], db, NONE)
    assert rest.analysed == 6 - report.analysed and rest.skipped == report.analysed
