"""``musictag scan`` from the command line: jobs, JSON, stats and errors, a zoo of bad files, SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from musictag.audio import decode as audio
from musictag.cli import cli
from musictag.paths import key_to_path, path_to_key
from musictag.tags.tagfile import read_genres
from tests import audiogen
from tests.cli_checks import run_musictag
from tests.scan_checks import ROOT, copy_library, require_model, track_rows, wait_for_rows, write_sweeps

require_model()


def test_cli_caps_jobs_at_the_cores_with_a_message(tmp_path: Path) -> None:
    from musictag.cores import usable_cpus

    music = tmp_path / "music"
    music.mkdir()
    res = run_musictag("scan", str(music), "--db", str(tmp_path / "lib.db"), "--jobs", "100000", "--json")
    assert res.returncode == 0, res.stderr
    cores = usable_cpus()
    assert f"musictag: --jobs 100000 is more than the {cores} CPU cores musictag may use here; using {cores}" \
        in res.stderr.splitlines()


def test_cli_json_stats_errors_and_usage(tagged_files: dict[str, Path], tmp_path: Path) -> None:
    files = copy_library(tagged_files, tmp_path / "music")
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
    missing = run_musictag("stats", "--db", str(tmp_path / "none.db"))
    assert missing.returncode == 2 and "run musictag scan first" in missing.stderr
    assert "Traceback" not in missing.stderr
    restored = runner.invoke(cli, ["restore", str(files["wav"]), "--db", db])
    assert restored.exit_code == 0 and "restored" in restored.stdout and audiogen.raw_genres(files["wav"]) is None


def _zoo(tagged_files: dict[str, Path], music: Path) -> dict[str, str]:
    """Bad and odd files; returns name -> the words expected in its reason (failures only)."""
    music.mkdir()
    mp3, flac = tagged_files["mp3"].read_bytes(), tagged_files["flac"].read_bytes()
    (music / "zero.mp3").write_bytes(b"")
    (music / "random.mp3").write_bytes(np.random.default_rng(0).bytes(40_000))
    (music / "truncated.mp3").write_bytes(mp3[: len(mp3) // 3])
    (music / "truncated.flac").write_bytes(flac[: len(flac) // 3])
    (music / "text.ogg").write_text("this is not an ogg file\n" * 50)
    (music / "x.flac").mkdir()  # a folder with an audio name: walked as a folder
    (music / "broken-link.flac").symlink_to(music / "nowhere.flac")
    shutil.copy(tagged_files["wav"], music / "unreadable.wav")
    os.chmod(music / "unreadable.wav", 0)
    shutil.copy(tagged_files["wav"], music / "readonly.wav")
    os.chmod(music / "readonly.wav", 0o444)
    shutil.copy(tagged_files["wav"], os.path.join(os.fsencode(music), b"caf\xe9-latin1.wav"))
    sr = 22050
    audiogen.write_audio(music / "short.wav", audiogen.tone(440, 0.2, sr), sr, "wav", channels=1)
    audiogen.write_audio(music / "silence.flac", np.zeros(sr * 6, np.float32), sr, "flac", channels=1)
    rng = np.random.default_rng(1)
    hour = (0.1 * rng.standard_normal(8000 * 3600)).astype(np.float32)
    sf.write(music / "hour.flac", hour, 8000, format="FLAC", subtype="PCM_16")
    return {"zero.mp3": "empty", "random.mp3": "not an audio file", "truncated.mp3": "truncated",
            "truncated.flac": "truncated", "text.ogg": "not an audio file", "broken-link.flac": "broken symbolic link",
            "unreadable.wav": "permission denied", "readonly.wav": "read-only"}


def test_bad_file_zoo_is_listed_with_reasons_and_exit_code_1(tagged_files: dict[str, Path], tmp_path: Path) -> None:
    # root reads and writes any file: drop the two capabilities that allow it (a real check, not a skip)
    prefix = []
    if ROOT:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: chmod 000 and read-only files cannot be tested")
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    music = tmp_path / "music"
    expected = _zoo(tagged_files, music)
    db = tmp_path / "lib.db"
    started = time.monotonic()
    result = run_musictag("scan", str(music), "--db", str(db), "--json", "--min-confidence", "0", prefix=prefix)
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
    rows = track_rows(db)
    odd = os.fsdecode(os.path.join(os.fsencode(music), b"caf\xe9-latin1.wav"))
    assert rows[odd].status == "ok" and read_genres(odd)
    assert rows[str(music / "silence.flac")].status == "silent"
    assert audiogen.raw_genres(music / "silence.flac") is None
    assert rows[str(music / "hour.flac")].duration == pytest.approx(3600, abs=1)
    assert rows[str(music / "short.wav")].status == "ok"
    assert 0 < summary["worker_peak_rss"] < 500 * 2**20  # the hour-long file included
    assert time.monotonic() - started < 120


def test_sigkill_mid_scan_leaves_a_valid_library_and_the_rerun_finishes_the_rest(
        tagged_files: dict[str, Path], tmp_path: Path) -> None:
    music, total = tmp_path / "music", 24
    write_sweeps(music, total)
    db = tmp_path / "lib.db"
    args = [sys.executable, "-m", "musictag", "scan", str(music), "--db", str(db), "--jobs", "1",
            "--min-confidence", "0"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_rows(proc, db, 3)
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
    rerun = run_musictag("scan", str(music), "--db", str(db), "--json", "--min-confidence", "0")
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    # a file tagged just before the kill, its row not yet told: its tags changed, not its audio (not analysed again)
    assert summary["analysed"] + summary["tags_edited"] == total - len(done) and summary["skipped"] == len(done)
    rows = track_rows(db)
    assert len(rows) == total and all(r.status == "ok" for r in rows.values())
    for path in music.iterdir():
        assert not path.name.startswith(".")  # no temporary file left behind by a tag write
        assert len(audio.load(path)) > 0 and read_genres(path)
    assert path_to_key(music / "00.flac") in {r.path for r in rows.values()}


_DIE_AFTER_FIRST_WRITE = """
import os, sys
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
if __name__ == "__main__":
    scan([sys.argv[1]], sys.argv[2], ScanOptions(min_confidence=0.0, jobs=1, on_change=lambda change: os._exit(137)))
"""


def test_a_genre_written_just_before_a_kill_is_musictags_on_the_next_scan(tmp_path: Path) -> None:
    music = tmp_path / "music"
    write_sweeps(music, 3)
    db = tmp_path / "lib.db"
    before = {p.name: (audiogen.raw_genres(p), audio.load(p).tobytes()) for p in music.iterdir()}
    # the process dies right after the first tag write, before the scan records it
    died = subprocess.run([sys.executable, "-c", _DIE_AFTER_FIRST_WRITE, str(music), str(db)], timeout=300,
                          capture_output=True, text=True)
    assert died.returncode == 137, died.stderr
    written = [p.name for p in music.iterdir() if read_genres(p)]
    assert len(written) == 1
    result = run_musictag("scan", str(music), "--db", str(db), "--json", "--min-confidence", "0")
    summary = json.loads(result.stdout)
    assert (summary["tagged"], summary["kept"]) == (3, 0), summary  # the first write is musictag's, not the user's
    assert {r.tag_state for r in track_rows(db).values()} == {"written"}
    kept = run_musictag("list", "--kept", "--db", str(db), "--json")
    assert json.loads(kept.stdout) == [], kept.stdout
    assert run_musictag("restore", "--db", str(db)).returncode == 0
    after = {p.name: (audiogen.raw_genres(p), audio.load(p).tobytes()) for p in music.iterdir()}
    assert after == before  # restore exact (no genre field, as before), the killed write included
