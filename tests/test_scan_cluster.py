"""``musictag scan --cluster``: a local Dask cluster of two workers analyses exactly as the local pool does;
a file that kills its worker fails alone, one past the time limit is stopped and named; a missing extra
or an unreachable scheduler is one line.
"""

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

from musictag.cores import usable_cpus
from musictag.library.database import Library
from musictag.scan.cluster import CONNECT_TIMEOUT_S, Cluster
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from musictag.tags.tagfile import read_genres
from tests import audiogen
from tests.cli_checks import one_line_error, run_musictag
from tests.scan_checks import copy_library, require_model, track_rows, wait_for_rows, write_sweeps

require_model()
dask = pytest.importorskip("dask", reason="Dask distributed is not installed: pip install 'musictag[cluster]'")
pytest.importorskip("distributed", reason="Dask distributed is not installed: pip install 'musictag[cluster]'")

CLUSTER = ScanOptions(min_confidence=0.0, cluster="local:2")  # tag every track, on two Dask workers
POOL = ScanOptions(min_confidence=0.0, jobs=2)


def _embeddings(db: Path) -> dict[str, np.ndarray]:
    with Library(db, readonly=True) as lib:
        return {Path(r.path).name: lib.embedding(r.id) for r in lib.tracks()}


def test_the_cluster_analyses_and_tags_exactly_as_the_local_pool(tagged_files: dict[str, Path],
                                                                  tmp_path: Path) -> None:
    by_pool = copy_library(tagged_files, tmp_path / "pool")
    by_cluster = copy_library(tagged_files, tmp_path / "cluster")
    pool = scan([tmp_path / "pool"], tmp_path / "pool.db", POOL)
    cluster = scan([tmp_path / "cluster"], tmp_path / "cluster.db", CLUSTER)
    assert cluster.exit_code == pool.exit_code == 0, cluster.errors
    assert cluster.analysed == pool.analysed == len(tagged_files) and cluster.tagged == pool.tagged
    rows_pool = {Path(k).name: r for k, r in track_rows(tmp_path / "pool.db").items()}
    rows_cluster = {Path(k).name: r for k, r in track_rows(tmp_path / "cluster.db").items()}
    assert rows_pool.keys() == rows_cluster.keys()
    for name, row in rows_pool.items():
        assert (rows_cluster[name].genre, rows_cluster[name].status) == (row.genre, row.status), name
        assert rows_cluster[name].confidence == pytest.approx(row.confidence, abs=1e-6), name
    emb_pool, emb_cluster = _embeddings(tmp_path / "pool.db"), _embeddings(tmp_path / "cluster.db")
    for name, vector in emb_pool.items():
        np.testing.assert_allclose(emb_cluster[name], vector, atol=1e-6, err_msg=name)
    for fmt in tagged_files:
        assert read_genres(by_cluster[fmt]) == read_genres(by_pool[fmt]), fmt


def test_a_file_that_kills_its_worker_fails_alone_after_one_retry(tagged_files: dict[str, Path],
                                                                  tmp_path: Path) -> None:
    files = copy_library(tagged_files, tmp_path / "music")
    shutil.copy(files["flac"], tmp_path / "music" / "crash.flac")
    with dask.config.set({"distributed.worker.preload": ["tests.cluster_crash"]}):
        report = scan([tmp_path / "music"], tmp_path / "lib.db", CLUSTER)
    assert report.failed == 1 and report.exit_code == 1, report.errors
    assert report.errors[0]["path"].endswith("crash.flac")
    assert report.errors[0]["reason"] == ("the analysis process died while analysing this file "
                                          "(tried on 2 Dask workers)")
    assert report.analysed == len(files) and report.pool_died is None
    statuses = {Path(k).name: r.status for k, r in track_rows(tmp_path / "lib.db").items()}
    assert statuses.pop("crash.flac") == "failed" and set(statuses.values()) == {"ok"}


def test_no_extra_and_no_scheduler_are_one_line_errors(tagged_files: dict[str, Path], tmp_path: Path) -> None:
    music = tmp_path / "music"
    copy_library({"wav": tagged_files["wav"]}, music)
    hide = tmp_path / "no-dask" / "distributed"
    hide.mkdir(parents=True)
    (hide / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    res = run_musictag("scan", str(music), "--db", str(tmp_path / "a.db"), "--cluster", "local:2",
                       env={"PYTHONPATH": f"{hide.parent}:{Path(__file__).parents[1]}"})
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and "pip install 'musictag[cluster]'" in lines[0], res.stderr
    one_line_error(run_musictag("scan", str(music), "--db", str(tmp_path / "c.db"), "--cluster", "sched:8786"),
                   "tcp://host:8786", "local:N")
    one_line_error(run_musictag("scan", str(music), "--db", str(tmp_path / "c.db"), "--cluster", "local:2", "-j", "2"),
                   "--jobs")
    one_line_error(run_musictag("scan", str(music), "--db", str(tmp_path / "c.db"), "--cluster", "foo://host:1"),
                   "not a scheduler address musictag can use", "tcp://host:8786")
    started = time.monotonic()
    res = run_musictag("scan", str(music), "--db", str(tmp_path / "b.db"), "--cluster", "tcp://127.0.0.1:1")
    lines = [line for line in res.stderr.splitlines() if "error" in line or "Traceback" in line]
    assert res.returncode == 1 and len(lines) == 1, res.stderr
    assert lines[0].startswith("musictag: error: cannot reach the Dask scheduler at tcp://127.0.0.1:1 (connection "
                               "refused"), res.stderr
    assert time.monotonic() - started < CONNECT_TIMEOUT_S  # said at once, not after Dask's retries ran out


@pytest.mark.parametrize(("address", "words"), [
    ("local:\u00b2", ["local:N", "digits 0-9"]),  # superscript two: str.isdigit says yes, int() says no
    ("local:\u0664", ["local:N", "digits 0-9"]),  # Arabic-Indic four
    ("local:0", ["local:N", ">= 1"]),
    ("local:-3", ["local:N"]),
    ("local:" + "9" * 5000, None),  # past int()'s digit limit: capped, not a traceback (see the cap test)
    ("tls://sched:8786", ["tls://", "certificates", "tcp://host:8786"]),
    ("inproc://sched", ["not a scheduler address musictag can use", "tcp://"]),
    ("ws://sched:8786", ["not a scheduler address musictag can use"]),
    ("tcp://sched", ["tcp://host:port"]),
    ("tcp://sched:99999", ["a port from 1 to 65535"]),
    ("tcp://sched:\uff18\uff17\uff18\uff16", ["tcp://host:port"]),  # full-width digits
    ("tcp://sched host:8786", ["tcp://host:port"]),
])
def test_a_cluster_address_musictag_cannot_use_is_one_line(address, words, tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()  # no file: a usable address would start nothing
    res = run_musictag("scan", str(music), "--db", str(tmp_path / "l.db"), "--cluster", address)
    if words is None:
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    else:
        one_line_error(res, *words)


def test_local_workers_beyond_the_cores_are_capped_as_jobs_are(tagged_files: dict[str, Path],
                                                                tmp_path: Path) -> None:
    """On one core, local:3 starts one worker, with --jobs's message; the scan analyses as usual."""
    music = tmp_path / "music"
    copy_library({"wav": tagged_files["wav"]}, music)
    res = run_musictag("scan", str(music), "--db", str(tmp_path / "l.db"), "--cluster", "local:3", "--json",
                       "--no-write", prefix=["taskset", "-c", "0"])
    assert res.returncode == 0, res.stderr
    assert "musictag: --cluster local:3 is more than the 1 CPU cores musictag may use here; using 1" \
        in res.stderr.splitlines(), res.stderr
    assert json.loads(res.stdout)["analysed"] == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run_musictag("scan", str(empty), "--db", str(tmp_path / "e.db"), "--cluster", "local:100000")
    cores = usable_cpus()
    assert res.returncode == 0 and f"musictag: --cluster local:100000 is more than the {cores} CPU cores musictag " \
        f"may use here; using {cores}" in res.stderr.splitlines(), res.stderr


def test_a_file_past_the_time_limit_is_stopped_named_and_not_tried_again(tmp_path: Path) -> None:
    slow = audiogen.write_audio(tmp_path / "slow.wav", audiogen.sweep(89.0, sr=48000), 48000, "wav")
    with Cluster("local:2", None, timeout=0.01) as cluster:
        out = dict(cluster.imap([("slow", str(slow))]))
        time.sleep(3.0)  # long enough for a retry on the other worker to run out of time too
        overruns = cluster._client.get_events("musictag-overrun")
    assert out["slow"].error == "analysis took longer than 0 s and was stopped", out
    assert len(overruns) == 1, overruns  # stopped once: a second worker never spent the limit on it again


def test_ctrl_c_stops_a_cluster_scan_cleanly_and_the_rerun_finishes(tmp_path: Path) -> None:
    """Ctrl-C in a terminal reaches the whole process group: the scan stores what finished, exits 130 without
    a traceback, leaves no worker behind, and the next scan analyses exactly the rest."""
    music, total = tmp_path / "music", 40
    write_sweeps(music, total)
    db = tmp_path / "lib.db"
    proc = subprocess.Popen([sys.executable, "-m", "musictag", "scan", str(music), "--db", str(db), "--cluster",
                             "local:2", "--min-confidence", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        wait_for_rows(proc, db, 2)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # the Dask workers and their nannies end with the scan
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("Dask worker processes outlived the interrupted scan")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = conn.execute("SELECT COUNT(*) FROM tracks WHERE status = 'ok'").fetchone()[0]
    assert 2 <= stored < total
    rerun = run_musictag("scan", str(music), "--db", str(db), "--json", "--min-confidence", "0")
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["analysed"] == total - stored and summary["skipped"] == stored


def test_workers_with_several_threads_are_refused_before_any_file(tmp_path: Path) -> None:
    """A file that crashes a worker of two threads would take the file beside it down too: say so and stop."""
    from distributed import LocalCluster

    from musictag.errors import MusictagError

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as local:  # tcp://: the one kind of address a cluster is given
        with pytest.raises(MusictagError, match=r"runs 2 threads: start the workers with one thread each"):
            Cluster(local.scheduler_address, None).start()
