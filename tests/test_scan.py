"""musictag scan / restore / stats / errors on real files of every format, bad files, kills.

Tests that must not depend on how good the model is pass ``min_confidence`` 0 (tag everything)
or 1 (tag nothing).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from mutagen.asf import ASF
from mutagen.id3 import ID3, TCON, TIT2, TPE1
from mutagen.mp4 import MP4

from musictag import audio, index
from musictag.cli import cli
from musictag.discover import find_audio, remove_leftover_copies
from musictag.library import Library, LibraryBusy
from musictag.paths import key_to_path, path_to_key
from musictag.restore import RestoreReport, original_snapshot, restore
from musictag.runtime import default_model_dir, load_model
from musictag.scan import ScanOptions, choose_genres, scan
from musictag.scan_pool import Pool
from musictag.sniff import NotAudio, sniff
from musictag.tags import display_name, read_genres
from tests import audiogen

ALL = ScanOptions(min_confidence=0.0, jobs=2)  # tag every track, whatever the model says
NONE = ScanOptions(min_confidence=1.0, jobs=2)  # tag (almost) no track
GENRE_FIELD_KEYS = {"tcon", "genre", "\xa9gen", "wm/genre"}
#: formats whose test file starts with a genre of its own (the others have none)
WITH_GENRE = {"flac": ["Jazz"], "mp3": ["Ambient", "Dub"]}
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False



def _have_model() -> bool:
    try:
        return (default_model_dir() / "model.json").is_file()
    except (ModuleNotFoundError, TypeError):  # no shipped model package at all
        return False


if not _have_model():
    pytest.skip("no model: neither the shipped one nor $MUSICTAG_MODEL", allow_module_level=True)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One 4-second file per format with a title and an artist, and for some a genre."""
    folder = tmp_path_factory.mktemp("pristine")
    files = {}
    for i, (fmt, (suffix, _)) in enumerate(audiogen.FORMATS.items()):
        path = audiogen.write_audio(folder / f"{fmt}{suffix}", audiogen.sweep(4.0, seed=i), 44100, fmt)
        _add_tags(path, WITH_GENRE.get(fmt))
        files[fmt] = path
    return files


def _add_tags(path: Path, genres: list[str] | None) -> None:
    f = mutagen.File(path)
    if f.tags is None:
        f.add_tags()
    if isinstance(f.tags, ID3):
        f.tags.add(TIT2(encoding=3, text="A Title"))
        f.tags.add(TPE1(encoding=3, text="An Artist"))
        if genres:
            f.tags.add(TCON(encoding=3, text=genres))
    elif isinstance(f, MP4):
        f.tags.update({"\xa9nam": ["A Title"], "\xa9ART": ["An Artist"]})
    elif isinstance(f, ASF):
        f.tags.update({"Title": ["A Title"], "Author": ["An Artist"]})
    else:
        f.tags.update({"TITLE": ["A Title"], "ARTIST": ["An Artist"]})
        if genres:
            f.tags["GENRE"] = genres
    f.save()


def _library(pristine: dict[str, Path], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for fmt, src in pristine.items():
        out[fmt] = folder / src.name if fmt != "alac" else folder / "sub" / src.name
        out[fmt].parent.mkdir(exist_ok=True)
        shutil.copy(src, out[fmt])
    return out


def _other_tags(path: Path) -> list[tuple[str, str]]:
    tags = mutagen.File(path).tags
    return sorted((str(k).lower(), repr(v)) for k, v in (tags.items() if tags else [])
                  if str(k).lower() not in GENRE_FIELD_KEYS)


def _pcm(path: Path) -> list[np.ndarray]:
    out = [audio.load(path)]
    if path.suffix in (".wav", ".aiff", ".flac"):
        out.append(sf.read(path, dtype="int16")[0])
    return out


def _rows(db: Path) -> dict[str, dict]:
    with Library(db, readonly=True) as lib:
        return {key_to_path(r["path"]): r for r in lib.tracks()}


# --- units ----------------------------------------------------------------------------------------


def test_choose_genres_takes_the_best_that_reach_the_threshold() -> None:
    scores = {"rock": 0.5, "metal": 0.3, "pop": 0.2}
    assert choose_genres(scores, 0.4, 1) == ["rock"]
    assert choose_genres(scores, 0.25, 3) == ["rock", "metal"]
    assert choose_genres(scores, 0.0, 2) == ["rock", "metal"]
    assert choose_genres(scores, 0.6, 3) == []


def test_restore_walks_back_over_musictags_own_writes() -> None:
    def backup(values: list[str] | None, written: list[str]) -> dict:
        return {"original": {"present": values is not None, "values": values or []}, "written": written}

    # none -> Rock (musictag) -> Pop (musictag --overwrite): the original is "none"
    assert original_snapshot([backup(None, ["Rock"]), backup(["Rock"], ["Pop"])])["present"] is False
    # none -> Rock (musictag), the user sets Jazz, -> Pop (musictag): restore gives the user's Jazz
    assert original_snapshot([backup(None, ["Rock"]), backup(["Jazz"], ["Pop"])])["values"] == ["Jazz"]
    # an ID3v2.3 file stores two genres joined
    assert original_snapshot([backup(["Soul"], ["Rock", "Pop"]), backup(["Rock; Pop"], ["Jazz"])])["values"] == \
        ["Soul"]


def test_sniff_knows_every_format_by_content_and_names_what_is_not_audio(pristine: dict[str, Path],
                                                                         tmp_path: Path) -> None:
    expected = {"aac": "m4a", "alac": "m4a"}
    for fmt, path in pristine.items():
        assert sniff(path) == expected.get(fmt, fmt)
    for content, words in ((np.random.default_rng(0).bytes(30_000), "matches no audio format"),
                           (b"hello\n" * 500, "holds text"), (bytes(5000), "only zero bytes"),
                           (b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(16) + b"junk" * 1000, "ID3 tag followed by no")):
        (tmp_path / "x.mp3").write_bytes(content)
        with pytest.raises(NotAudio, match=words):
            sniff(tmp_path / "x.mp3")


def test_find_audio_skips_hidden_and_ignored_folders_and_follows_links_once(tmp_path: Path) -> None:
    for rel in ("a.mp3", "B.FLAC", "notes.txt", ".hidden/c.mp3", ".d.mp3", "skip/e.mp3", "x.flac/f.ogg",
                "deep/er/g.wav"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "skip" / ".musictag-ignore").write_bytes(b"")
    (tmp_path / "deep" / "loop").symlink_to(tmp_path)
    found = find_audio([tmp_path])
    names = sorted(os.path.relpath(p, tmp_path) for _, p, _ in found.files)
    assert names == ["B.FLAC", "a.mp3", "deep/er/g.wav", "x.flac/f.ogg"]


# --- the integration on every format ---------------------------------------------------------------


def test_scan_tags_every_format_keeps_audio_and_other_tags_and_restore_undoes_it(
        pristine: dict[str, Path], tmp_path: Path) -> None:
    files = _library(pristine, tmp_path / "music")
    before = {fmt: (_pcm(p), _other_tags(p), audiogen.raw_genres(p)) for fmt, p in files.items()}
    db = tmp_path / "lib.db"

    report = scan([tmp_path / "music"], db, ALL)
    assert (report.found, report.analysed, report.failed, report.errors) == (9, 9, 0, [])
    assert report.tagged == 7 and report.kept == 2 and report.exit_code == 0
    rows = _rows(db)
    for fmt, path in files.items():
        row = rows[str(path)]
        assert row["status"] == "ok" and row["model_id"] == load_model().model_id
        expected = WITH_GENRE.get(fmt) or [display_name(row["genre"])]
        assert audiogen.raw_genres(path) == expected, fmt
        pcm, others, _ = before[fmt]
        assert all(np.array_equal(a, b) for a, b in zip(pcm, _pcm(path), strict=True)), fmt
        assert _other_tags(path) == others, fmt
        st = path.stat()
        assert (row["size"], row["mtime_ns"]) == (st.st_size, st.st_mtime_ns)  # tagged: new mtime stored

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


def test_moves_are_followed_and_vanished_files_pruned_without_analysis(pristine: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    files = _library(pristine, tmp_path / "music")
    db = tmp_path / "lib.db"
    assert scan([tmp_path / "music"], db, ALL).tagged == 7  # tagged: the stored quick hash is the new content's
    old = _rows(db)[str(files["flac"])]
    (tmp_path / "music" / "moved").mkdir()
    new_path = tmp_path / "music" / "moved" / "renamed.flac"
    files["flac"].rename(new_path)
    files["wma"].unlink()
    report = scan([tmp_path / "music"], db, ALL)
    assert (report.analysed, report.moved, report.pruned, report.skipped, report.tagged) == (0, 1, 1, 7, 0)
    rows = _rows(db)
    assert rows[str(new_path)]["id"] == old["id"] and str(files["flac"]) not in rows
    assert str(files["wma"]) not in rows and len(rows) == 8
    with Library(db) as lib:
        assert lib.embedding(old["id"]) is not None
        assert index.status(lib).fresh  # rebuilt after the prune
        assert sorted(index.load(lib).get_nns_by_item(old["id"], 20)) == sorted(r["id"] for r in rows.values())


def test_overwrite_and_top_k_write_native_multi_values(pristine: dict[str, Path], tmp_path: Path) -> None:
    files = _library(pristine, tmp_path / "music")
    db = tmp_path / "lib.db"
    report = scan([tmp_path / "music"], db, ScanOptions(min_confidence=0.0, top_k=2, overwrite=True, jobs=2))
    assert report.tagged == 9
    for fmt in ("flac", "mp3", "aac", "wma", "ogg"):
        assert len(audiogen.raw_genres(files[fmt])) == 2, fmt
    restore([files["flac"], tmp_path / "music" / "sub"], db)
    assert audiogen.raw_genres(files["flac"]) == ["Jazz"] and audiogen.raw_genres(files["alac"]) is None
    assert len(audiogen.raw_genres(files["mp3"])) == 2  # not asked for


def test_uncertain_tracks_stay_untagged_until_the_threshold_allows(pristine: dict[str, Path], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    files = _library(pristine, tmp_path / "music")
    db = tmp_path / "lib.db"
    with monkeypatch.context() as m:  # an untrained model can be sure of itself: make every track uncertain
        m.setattr("musictag.scan.choose_genres", lambda scores, threshold, k: [])
        report = scan([tmp_path / "music"], db, NONE)
    assert (report.uncertain, report.tagged, report.kept) == (9, 0, 0)
    assert {t["path"] for t in report.uncertain_tracks} == {str(p) for p in files.values()}
    assert audiogen.raw_genres(files["wav"]) is None
    lower = scan([tmp_path / "music"], db, ALL)  # decided again from the stored scores
    assert (lower.analysed, lower.tagged, lower.kept) == (0, 7, 2)
    assert read_genres(files["wav"]) == [display_name(_rows(db)[str(files["wav"])]["genre"])]


def test_dry_run_writes_nothing_and_shows_the_changes(pristine: dict[str, Path], tmp_path: Path) -> None:
    files = _library(pristine, tmp_path / "music")
    data = {p: p.read_bytes() for p in files.values()}
    db = tmp_path / "lib.db"
    report = scan([tmp_path / "music"], db, ScanOptions(min_confidence=0.0, dry_run=True, jobs=2))
    assert report.tagged == 7 and len(report.changes) == 7 and report.analysed == 9
    assert not db.exists()
    assert all(p.read_bytes() == b for p, b in data.items())
    result = CliRunner().invoke(cli, ["scan", str(tmp_path / "music"), "--db", str(db), "--dry-run",
                                      "--min-confidence", "0"])
    assert result.exit_code == 0 and result.output.count("would tag") == 7 and not db.exists()


def test_known_failures_are_skipped_until_they_change_or_are_retried(pristine: dict[str, Path],
                                                                    tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    shutil.copy(pristine["wav"], music / "good.wav")
    for i in range(3):
        (music / f"broken{i}.mp3").write_bytes(os.urandom(4000))
    db = tmp_path / "lib.db"
    first = scan([music], db, NONE)
    assert first.failed == 3 and first.exit_code == 1
    again = scan([music], db, NONE)  # nothing new failed: a script can tell
    assert (again.failed, again.known_failures, again.analysed, again.exit_code) == (0, 3, 0, 0)
    assert again.errors == []
    res = _musictag("scan", str(music), "--db", str(db))
    assert res.returncode == 0 and "failed:" not in res.stderr and "known failures" in res.stdout
    (music / "broken1.mp3").write_bytes(os.urandom(5000))  # changed: tried again
    changed = scan([music], db, NONE)
    assert (changed.failed, changed.known_failures) == (1, 2)
    retried = scan([music], db, replace(NONE, retry_failed=True))
    assert (retried.failed, retried.known_failures) == (3, 0) and retried.exit_code == 1


def test_failed_files_are_kept_and_retried_and_a_new_model_reanalyses(pristine: dict[str, Path],
                                                                      tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    shutil.copy(pristine["wav"], music / "good.wav")
    (music / "later.flac").write_bytes(b"not yet audio")
    db = tmp_path / "lib.db"
    report = scan([music], db, NONE)
    assert report.failed == 1 and report.exit_code == 1
    assert _rows(db)[str(music / "later.flac")]["status"] == "failed"
    shutil.copy(pristine["flac"], music / "later.flac")
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
        assert result.exit_code == 1 and "in use by another musictag" in str(result.exception)
    finally:
        holder.close()


def test_stop_request_commits_finished_work_and_the_next_scan_resumes(pristine: dict[str, Path],
                                                                      tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    for i in range(6):
        shutil.copy(pristine["flac"], music / f"{i}.flac")
    db = tmp_path / "lib.db"
    done = []
    report = scan([music], db, ScanOptions(min_confidence=1.0, jobs=1),
                  progress=lambda phase, n, total: done.append(n) if phase == "analysing" else None,
                  should_stop=lambda: len(done) >= 3)
    assert report.interrupted and report.exit_code == 130 and 1 <= report.analysed < 6
    assert len(_rows(db)) == report.analysed
    rest = scan([music], db, NONE)
    assert rest.analysed == 6 - report.analysed and rest.skipped == report.analysed


def test_pool_names_the_file_of_a_worker_that_overruns_or_dies_and_replaces_it(pristine: dict[str, Path],
                                                                               tmp_path: Path) -> None:
    slow = audiogen.write_audio(tmp_path / "slow.wav", audiogen.sweep(89.0, sr=48000), 48000, "wav")
    with Pool(None, 1, timeout=0.0) as pool:
        out = dict(pool.imap([("a", str(slow)), ("b", str(slow))]))
    assert all("longer than" in o.error for o in out.values())
    with Pool(None, 1) as pool:
        pool.start()
        threading.Timer(0.05, os.kill, (pool.pids()[0], signal.SIGKILL)).start()  # a decoder "crash"
        out = dict(pool.imap([("slow", str(slow)), ("c", str(pristine["wav"]))]))
    assert out["slow"].error == "the decoder crashed (SIGKILL) while analysing this file"
    assert out["c"].error is None and len(out["c"].scores) == len(load_model().genres)


# --- the command line ----------------------------------------------------------------------------


def _musictag(*args: str, env: dict | None = None, prefix: list[str] | None = None,
              **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*(prefix or []), sys.executable, "-m", "musictag", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300, **kwargs)


def test_cli_caps_jobs_at_the_cores_with_a_message(tmp_path: Path) -> None:
    from musictag.scan import usable_cpus

    music = tmp_path / "music"
    music.mkdir()
    res = _musictag("scan", str(music), "--db", str(tmp_path / "lib.db"), "--jobs", "100000", "--json")
    assert res.returncode == 0, res.stderr
    cores = usable_cpus()
    assert f"musictag: --jobs 100000 is more than the {cores} CPU cores musictag may use here; using {cores}" \
        in res.stderr.splitlines()


def test_cli_json_stats_errors_and_usage(pristine: dict[str, Path], tmp_path: Path) -> None:
    files = _library(pristine, tmp_path / "music")
    db = str(tmp_path / "lib.db")
    (tmp_path / "music" / "broken.mp3").write_bytes(os.urandom(5000))
    runner = CliRunner()
    result = runner.invoke(cli, ["scan", str(tmp_path / "music"), "--db", db, "--json", "--min-confidence", "0"])
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    for key in ("found", "analysed", "skipped", "moved", "pruned", "tagged", "uncertain", "failed"):
        assert isinstance(summary[key], int)
    assert (summary["found"], summary["analysed"], summary["failed"]) == (10, 9, 1)
    assert summary["errors"] == [{"path": str(tmp_path / "music" / "broken.mp3"),
                                  "reason": summary["errors"][0]["reason"]}]
    stats = json.loads(runner.invoke(cli, ["stats", "--db", db, "--json"]).stdout)
    assert stats["tracks"] == 10 and sum(g["tracks"] for g in stats["genres"]) == 9 and stats["failed"] == 1
    assert "broken.mp3" in runner.invoke(cli, ["errors", "--db", db]).stdout
    assert runner.invoke(cli, ["stats", "--db", db]).exit_code == 0
    assert runner.invoke(cli, ["scan", str(tmp_path / "nowhere"), "--db", db]).exit_code == 2
    assert runner.invoke(cli, ["scan", str(tmp_path), "--min-confidence", "2", "--db", db]).exit_code == 2
    missing = _musictag("stats", "--db", str(tmp_path / "none.db"))
    assert missing.returncode == 2 and "run musictag scan first" in missing.stderr
    assert "Traceback" not in missing.stderr
    restored = runner.invoke(cli, ["restore", str(files["wav"]), "--db", db])
    assert restored.exit_code == 0 and "restored" in restored.stdout and audiogen.raw_genres(files["wav"]) is None


def _zoo(pristine: dict[str, Path], music: Path) -> dict[str, str]:
    """Bad and odd files; returns name -> the words expected in its reason (failures only)."""
    music.mkdir()
    mp3, flac = pristine["mp3"].read_bytes(), pristine["flac"].read_bytes()
    (music / "zero.mp3").write_bytes(b"")
    (music / "random.mp3").write_bytes(np.random.default_rng(0).bytes(40_000))
    (music / "truncated.mp3").write_bytes(mp3[: len(mp3) // 3])
    (music / "truncated.flac").write_bytes(flac[: len(flac) // 3])
    (music / "text.ogg").write_text("this is not an ogg file\n" * 50)
    (music / "x.flac").mkdir()  # a folder with an audio name: walked as a folder
    (music / "broken-link.flac").symlink_to(music / "nowhere.flac")
    shutil.copy(pristine["wav"], music / "unreadable.wav")
    os.chmod(music / "unreadable.wav", 0)
    shutil.copy(pristine["wav"], music / "readonly.wav")
    os.chmod(music / "readonly.wav", 0o444)
    shutil.copy(pristine["wav"], os.path.join(os.fsencode(music), b"caf\xe9-latin1.wav"))
    sr = 22050
    audiogen.write_audio(music / "short.wav", audiogen.tone(440, 0.2, sr), sr, "wav", channels=1)
    audiogen.write_audio(music / "silence.flac", np.zeros(sr * 6, np.float32), sr, "flac", channels=1)
    rng = np.random.default_rng(1)
    hour = (0.1 * rng.standard_normal(8000 * 3600)).astype(np.float32)
    sf.write(music / "hour.flac", hour, 8000, format="FLAC", subtype="PCM_16")
    return {"zero.mp3": "empty", "random.mp3": "not an audio file", "truncated.mp3": "truncated",
            "truncated.flac": "truncated", "text.ogg": "not an audio file", "broken-link.flac": "broken symbolic link",
            "unreadable.wav": "permission denied", "readonly.wav": "read-only"}


def test_bad_file_zoo_is_listed_with_reasons_and_exit_code_1(pristine: dict[str, Path], tmp_path: Path) -> None:
    # root reads and writes any file: drop the two capabilities that allow it (a real check, not a skip)
    prefix = []
    if ROOT:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: chmod 000 and read-only files cannot be tested")
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    music = tmp_path / "music"
    expected = _zoo(pristine, music)
    db = tmp_path / "lib.db"
    started = time.monotonic()
    result = _musictag("scan", str(music), "--db", str(db), "--json", "--min-confidence", "0", prefix=prefix)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    summary = json.loads(result.stdout)
    reasons = {Path(e["path"]).name: e["reason"] for e in summary["errors"]}
    assert set(reasons) == set(expected), reasons
    for name, words in expected.items():
        assert words in reasons[name], (name, reasons[name])
        assert "\n" not in reasons[name] and f"{name}: {reasons[name]}" in result.stderr
    assert summary["analysed"] == 5  # readonly, non-UTF-8, short, silence, hour
    assert summary["silent"] == 1 and summary["silent_tracks"] == [str(music / "silence.flac")]
    rows = _rows(db)
    odd = os.fsdecode(os.path.join(os.fsencode(music), b"caf\xe9-latin1.wav"))
    assert rows[odd]["status"] == "ok" and read_genres(odd)
    assert rows[str(music / "silence.flac")]["status"] == "silent"
    assert audiogen.raw_genres(music / "silence.flac") is None
    assert rows[str(music / "hour.flac")]["duration"] == pytest.approx(3600, abs=1)
    assert rows[str(music / "short.wav")]["status"] == "ok"
    assert 0 < summary["worker_peak_rss"] < 500 * 2**20  # the hour-long file included
    assert time.monotonic() - started < 120


def test_sigkill_mid_scan_leaves_a_valid_library_and_the_rerun_finishes_the_rest(
        pristine: dict[str, Path], tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    total = 24
    for i in range(total):
        audiogen.write_audio(music / f"{i:02d}.flac", audiogen.sweep(20.0, sr=22050, seed=i), 22050, "flac")
    db = tmp_path / "lib.db"
    args = [sys.executable, "-m", "musictag", "scan", str(music), "--db", str(db), "--jobs", "1",
            "--min-confidence", "0"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        committed = 0
        while committed < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            with contextlib.suppress(sqlite3.OperationalError):  # no file, or no schema yet
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
                    committed = conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
        assert proc.poll() is None, "the scan ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute("SELECT path, size, mtime_ns FROM tracks WHERE status = 'ok'").fetchall()
    conn.close()
    done = {p for p, size, mtime in rows if (size, mtime) == (lambda s: (s.st_size, s.st_mtime_ns))(
        os.stat(key_to_path(p)))}
    assert 0 < len(done) < total
    rerun = _musictag("scan", str(music), "--db", str(db), "--json", "--min-confidence", "0")
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["analysed"] == total - len(done) and summary["skipped"] == len(done)
    rows = _rows(db)
    assert len(rows) == total and all(r["status"] == "ok" for r in rows.values())
    for path in music.iterdir():
        assert not path.name.startswith(".")  # no temporary file left behind by a tag write
        assert len(audio.load(path)) > 0 and read_genres(path)
    assert path_to_key(music / "00.flac") in {r["path"] for r in rows.values()}


def test_leftover_copies_of_killed_tag_writes_are_removed_once_stale(tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    audiogen.write_audio(music / "a.flac", audiogen.sweep(6.0, sr=22050), 22050, "flac")
    stale = music / ".a.flac.x1y2.musictag-tmp"
    fresh = music / ".a.flac.z3w4.musictag-tmp"
    for copy in (stale, fresh):
        shutil.copy(music / "a.flac", copy)
    other_hidden = music / ".notes"
    other_hidden.write_text("mine")
    found = find_audio([music])
    assert sorted(found.leftovers) == sorted([str(fresh), str(stale)])
    assert [path for _, path, _ in found.files] == [str(music / "a.flac")]  # copies are never analysed
    assert remove_leftover_copies(found.leftovers, older_than_s=3600) == 0  # just made: could be in use
    assert remove_leftover_copies([str(stale)], older_than_s=-1) == 1
    assert not stale.exists() and fresh.exists() and other_hidden.read_text() == "mine"


def test_a_copy_whose_writer_is_gone_is_removed_at_once_one_in_use_is_kept(tmp_path: Path) -> None:
    import fcntl

    held, dead = tmp_path / ".1a2b3c4d.musictag-tmp", tmp_path / ".5e6f7a8b.musictag-tmp"
    for copy in (held, dead):
        copy.write_bytes(b"partial copy" * 1000)
    with open(held, "rb") as writer:  # a tag write in progress holds its copy's lock
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)
        assert remove_leftover_copies([str(held), str(dead)], grace_s=-1) == 1
        assert held.exists() and not dead.exists()
    assert remove_leftover_copies([str(held)], grace_s=-1) == 1  # its writer is gone now
