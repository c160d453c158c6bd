"""A scan whose worker processes die: the fork server killed, a worker killed, no worker startable.

Real processes are killed with SIGKILL while a real scan runs; the scan must say what happened,
fail only the files in flight, keep what finished and print its summary.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from multiprocessing import forkserver
from pathlib import Path

import pytest

from musictag.library.database import Library
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from tests import audiogen

pytestmark = pytest.mark.skipif("forkserver" not in multiprocessing.get_all_start_methods(),
                                reason="no fork server on this platform")
N_FILES = 10


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("music")
    for i in range(N_FILES):
        audiogen.write_audio(folder / f"t{i:02d}.flac", audiogen.sweep(40.0, sr=22050, seed=i), 22050, "flac", 1)
    return folder


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


class _Killer:
    """A progress callback that kills the fork server after ``at`` files, then one of its workers."""

    def __init__(self, at: int, then: callable = lambda: None) -> None:
        self.at, self.then, self.fired = at, then, False

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != "analysing" or done < self.at or self.fired:
            return
        self.fired = True
        server = forkserver._forkserver._forkserver_pid
        workers = _children(server)
        assert workers, "the workers are the fork server's children"
        os.kill(server, signal.SIGKILL)
        self.then()
        os.kill(workers[0], signal.SIGKILL)


def _statuses(db: Path) -> dict[str, str]:
    with Library(db, readonly=True) as library:
        return {Path(row.path).name: row.status for row in library.tracks()}


def test_a_killed_fork_server_costs_nothing_and_a_killed_worker_one_file(music: Path, tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    report = scan([music], db, ScanOptions(jobs=2, min_confidence=1.0), progress=_Killer(at=2))
    # at most the killed worker's file, not the other one in flight; none when it was killed idle (the file
    # it was about to get went to its replacement)
    assert report.failed <= 1, report.errors
    assert all("analysis process died" in e["reason"] for e in report.errors)
    assert report.analysed == N_FILES - report.failed and report.pool_died is None
    assert report.exit_code == (1 if report.failed else 0)
    statuses = _statuses(db)
    assert sorted(statuses.values()).count("ok") == N_FILES - report.failed


def test_when_no_worker_can_be_started_the_files_in_flight_fail_and_the_rest_wait(music: Path,
                                                                                tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    saved = multiprocessing.spawn.get_executable()
    try:  # as if the interpreter were removed by an upgrade during the scan: a new fork server cannot start
        report = scan([music], db, ScanOptions(jobs=2, min_confidence=1.0),
                      progress=_Killer(at=2, then=lambda: multiprocessing.set_executable(str(tmp_path / "gone"))))
    finally:
        multiprocessing.set_executable(saved)
    assert report.pool_died and "no new one could be started" in report.pool_died
    assert report.exit_code == 1 and 1 <= report.failed <= 2
    assert report.analysed + report.failed + report.not_analysed == N_FILES
    assert report.not_analysed >= 1
    statuses = _statuses(db)
    assert len(statuses) == report.analysed + report.failed  # the rest are not recorded: the next scan takes them
    again = scan([music], db, ScanOptions(jobs=2, min_confidence=1.0))  # the rest, and what the pool's death cost
    assert again.exit_code == 0 and again.analysed + again.known_failures == N_FILES - report.analysed
    assert again.known_failures <= 1  # only the file whose worker was killed under it stays a known failure
