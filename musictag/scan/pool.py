"""The scan's process pool: one file per worker at a time, results streamed back as they finish.

Why not ``concurrent.futures``: a worker that crashes inside a C decoder (or hangs) must cost
one file, named, not the whole pool. Each worker here owns a pipe and holds at most one file, so
a dead worker's file is known: it is reported as failed and the worker replaced; a file that
runs past its time limit gets its worker killed the same way. A worker's death is seen on its
pipe (end of file), not on the fork server's report, which also ends when only the fork server
dies. When no worker can be started in a dead one's place, the pool stops handing out files,
lets the files in flight finish and raises :class:`PoolDied` naming how many were never started.

Start method: ``forkserver`` where the platform has it (Linux, macOS), else ``spawn``. The fork
server is a clean single-threaded process that warms up the analysis stack once
(:mod:`musictag.scan.warmup`), so workers start in milliseconds without the imports each would pay
under ``spawn``, while the main process (which may
run a progress thread) never forks itself. BLAS, OpenMP and numba are held to one thread per worker.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from musictag.errors import MusictagError, UsageError
from musictag.scan.outcome import Outcome
from musictag.scan.report import Progress
from musictag.scan.worker import serve


class PoolDied(MusictagError):
    """No worker could be started in place of a dead one: ``not_started`` files were never analysed."""

    def __init__(self, reason: str, not_started: int) -> None:
        super().__init__(reason)
        self.not_started = not_started

#: A file whose analysis takes longer than this is given up (its worker is killed).
FILE_TIMEOUT_S = 300.0
#: Environment variables that hold BLAS, OpenMP and numba to one thread in a worker process.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")
#: How often a waiting loop looks at its workers again, seconds.
POLL_S = 0.2
#: Longest wait for the workers to start (imports, model) before giving up.
START_TIMEOUT_S = 600.0


def _context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["musictag.scan.warmup"])
        return ctx
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def _one_thread_env() -> Iterator[None]:
    """Set the thread-count variables to 1 while processes start (they copy the environment)."""
    saved = {name: os.environ.get(name) for name in THREAD_VARS}
    os.environ.update(dict.fromkeys(THREAD_VARS, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while child processes start: they inherit it, and so load the analysis stack
    without a KeyboardInterrupt traceback when the terminal interrupts the whole process group.
    The main process's own handling is back as soon as they are started."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    task: tuple[str, str] | None = None
    started: float = 0.0
    ready: bool = False
    gone: bool = False  # its pipe closed: the process has exited


@dataclass
class Pool:
    """``jobs`` worker processes, each with its own model loaded from ``model_dir``.

    ``model_id`` is the model the main process scores with (its genre order); a worker that
    loads another (the folder changed on disk in between) stops the scan before any file.
    """

    model_dir: str | None
    jobs: int
    timeout: float = FILE_TIMEOUT_S
    model_id: str | None = None
    runtime: dict | None = None  # what runs the model in the workers, from their start-up message
    #: The scan's progress, for a model whose input librosa computes: librosa's first-run compile (in
    #: each worker) is then said as a phase before the workers start (:mod:`musictag.analysis.librosa_warmup`).
    librosa_progress: Progress | None = None
    _workers: list[_Worker] = field(default_factory=list)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start_worker(self) -> _Worker:
        ctx = _context()
        parent, child = ctx.Pipe()
        from musictag.analysis.backbone import runtime_settings

        process = ctx.Process(target=serve, args=(child, self.model_dir, runtime_settings()), daemon=True,
                              name="musictag-scan-worker")
        with _one_thread_env():
            if ctx.get_start_method() == "forkserver":
                from multiprocessing import forkserver

                with sigint_ignored():  # the server inherits that; start() waits until it has loaded
                    forkserver.ensure_running()
                process.start()
            else:
                with sigint_ignored():  # spawn: start() does not wait for the child's imports
                    process.start()
        child.close()
        worker = _Worker(process, parent)
        self._workers.append(worker)
        return worker

    def start(self) -> None:
        """Start the workers and wait until each has loaded the model (raises if one cannot)."""
        if self.librosa_progress is not None:
            from musictag.analysis.librosa_warmup import prepare_librosa

            progress, self.librosa_progress = self.librosa_progress, None  # once: start() is called again by imap
            prepare_librosa(lambda line: progress(line, 0, 0), compile_here=False)
        for _ in range(self.jobs - len(self._workers)):
            self._start_worker()
        deadline = time.monotonic() + START_TIMEOUT_S
        for worker in self._workers:
            while not worker.ready:
                self._await_ready(worker, deadline)

    def _await_ready(self, worker: _Worker, deadline: float) -> None:
        if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
            raise MusictagError("the scan workers did not start in time")
        self._receive(worker)

    def _receive(self, worker: _Worker) -> tuple[str, Outcome] | None:
        """Read one message from ``worker``: a finished file, or None for a start-up message."""
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            worker.gone = True
            if not worker.ready and worker.task is None:
                worker.process.join(1)
                raise MusictagError("a scan worker exited while starting "
                                    f"(exit code {worker.process.exitcode})") from None
            return None
        if message[0] == "fatal":  # a model the worker cannot load: a usage error stays one (exit 2)
            raise (UsageError if message[2] == UsageError.exit_code else MusictagError)(message[1])
        if message[0] == "ready":
            if self.model_id is not None and message[1] != self.model_id:
                raise MusictagError(f"the model changed on disk while the scan started (workers loaded {message[1]}, "
                                    f"not {self.model_id}); run the scan again")
            worker.ready = True
            self.runtime = message[2]
            return None
        worker.task = None
        return message[1], message[2]

    def pids(self) -> list[int]:
        """The process ids of the workers."""
        return [w.process.pid for w in self._workers]

    def imap(self, tasks: Iterable[tuple[str, str]], should_stop: Callable[[], bool] = lambda: False
             ) -> Iterator[tuple[str, Outcome]]:
        """Analyse ``(key, path)`` tasks; yield ``(key, Outcome)`` in the order they finish.

        A worker that dies or overruns :attr:`timeout` yields a failed outcome for its file and
        is replaced; one found dead when it is handed a file (it died idle) is replaced and the file goes
        to the next worker. Stops early (results in flight are dropped) once ``should_stop()`` is true.
        Raises :class:`PoolDied` after the files in flight when a replacement cannot be started.
        """
        queue = deque(tasks)
        self.start()
        broken: str | None = None
        while queue or any(w.task for w in self._workers):
            if should_stop():
                return
            for worker in list(self._workers):
                if worker.task is None and queue and not broken:
                    task = queue.popleft()
                    try:
                        worker.conn.send(task)
                    except OSError:  # it died while idle (killed, out of memory): the file never reached it
                        queue.appendleft(task)
                        worker.gone = True
                        if worker.ready:
                            broken = broken or self._replace(worker)
                        else:  # a replacement that died before it started: do not try again
                            self._stop(worker)
                            self._workers.remove(worker)
                            broken = broken or "the scan's worker processes died and new ones die while starting"
                        continue
                    worker.task, worker.started = task, time.monotonic()
            busy = [w for w in self._workers if w.task]
            if not busy:
                if queue and not broken and self._workers:  # a worker was replaced before it got a file
                    continue
                break
            next_deadline = min(w.started for w in busy) + self.timeout - time.monotonic()
            ready = wait([w.conn for w in busy], timeout=max(0.0, min(POLL_S, next_deadline)))
            for worker in busy:
                if worker.conn in ready:
                    result = self._receive(worker)
                    if result is not None:
                        yield result
                        continue
                if worker.gone and not worker.ready:  # a replacement that cannot even start: do not try again
                    yield worker.task[0], Outcome(error="the analysis process died while starting", transient=True)
                    self._stop(worker)
                    self._workers.remove(worker)
                    broken = broken or "the scan's worker processes died and new ones die while starting"
                    continue
                if worker.gone:
                    reason = _death_reason(worker.process)
                elif time.monotonic() - worker.started > self.timeout:
                    reason = f"analysis took longer than {self.timeout:.0f} s and was stopped"
                else:
                    continue
                yield worker.task[0], Outcome(error=reason)
                broken = broken or self._replace(worker)
        if broken:
            raise PoolDied(broken, len(queue))

    def _replace(self, worker: _Worker) -> str | None:
        """Kill ``worker`` and start another in its place; say why that failed, or None."""
        self._stop(worker)
        self._workers.remove(worker)
        try:
            self._start_worker()
        except (OSError, EOFError, MusictagError) as e:
            return f"the scan's worker processes died and no new one could be started ({e or type(e).__name__})"
        return None

    def _stop(self, worker: _Worker) -> None:
        if not worker.gone:  # its pipe is open, so the process is alive and the pid still its own
            with contextlib.suppress(OSError):
                os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.join(5)
        worker.conn.close()

    def close(self) -> None:
        """Stop every worker now (files in flight are dropped)."""
        for worker in self._workers:
            if worker.task is None and not worker.gone:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
        for worker in self._workers:
            worker.process.join(0.5 if worker.task is None else 0)
            self._stop(worker)
        self._workers.clear()


def _death_reason(process: Any) -> str:
    process.join(1)
    code = process.exitcode
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"the decoder crashed ({signal.Signals(-code).name}) while analysing this file"
    return f"the analysis process died (exit code {code}) while analysing this file"
