"""The scan's worker pool: a file that overruns or kills its worker costs that file alone; workers
run the main process's model.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from musictag.analysis.models import load_model
from musictag.errors import MusictagError
from musictag.scan.pool import Pool
from tests import audiogen
from tests.scan_checks import require_model

require_model()


def test_pool_names_the_file_of_a_worker_that_overruns_or_dies_and_replaces_it(tagged_files: dict[str, Path],
                                                                               tmp_path: Path) -> None:
    slow = audiogen.write_audio(tmp_path / "slow.wav", audiogen.sweep(89.0, sr=48000), 48000, "wav")
    with Pool(None, 1, timeout=0.0) as pool:
        out = dict(pool.imap([("a", str(slow)), ("b", str(slow))]))
    assert all("longer than" in o.error for o in out.values())
    with Pool(None, 1) as pool:
        pool.start()
        threading.Timer(0.05, os.kill, (pool.pids()[0], signal.SIGKILL)).start()  # a decoder "crash"
        out = dict(pool.imap([("slow", str(slow)), ("c", str(tagged_files["wav"]))]))
    assert out["slow"].error == "the decoder crashed (SIGKILL) while analysing this file"
    assert out["c"].error is None and len(out["c"].scores) == len(load_model().genres)


def test_workers_that_load_another_model_than_the_main_process_stop_the_scan() -> None:
    with Pool(None, 1, model_id="some-other-model") as pool, \
            pytest.raises(MusictagError, match="the model changed on disk"):
        pool.start()
    with Pool(None, 1, model_id=load_model().model_id) as pool:
        pool.start()  # the same model: fine


def test_a_worker_that_died_idle_costs_no_file(tagged_files: dict[str, Path]) -> None:
    import time

    with Pool(None, 1) as pool:
        pool.start()
        pid = pool.pids()[0]
        os.kill(pid, signal.SIGKILL)  # killed between files (the out-of-memory killer, a user)
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower() \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # its end of the pipe closed: handing it a file fails
        out = dict(pool.imap([("c", str(tagged_files["wav"])), ("d", str(tagged_files["flac"]))]))
        assert pid not in pool.pids()  # replaced
    assert {key: o.error for key, o in out.items()} == {"c": None, "d": None}
