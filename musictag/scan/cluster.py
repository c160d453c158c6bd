"""The scan's analysis on a Dask cluster (``musictag scan --cluster``): the same stream as the local pool.

:class:`Cluster` offers :class:`musictag.scan.pool.Pool`'s surface (``start``, ``imap``, ``close``,
a context manager), so that :mod:`musictag.scan.orchestration` picks one or the other and nothing else changes:
the main process keeps the walk, the library, the tag writes and the index; a worker only runs
:func:`musictag.scan.worker.analyse_file` on a path and returns its :class:`Outcome` (plain data).

- **Where**: ``local:N`` starts N worker processes here (one thread each; ``local``: one per core);
  ``tcp://host:port`` uses an existing scheduler, whose workers must see the files under the same
  paths and have the same musictag and model: :meth:`Cluster.start` first opens a plain connection
  (to tell a refused one from no answer), then runs a probe on every worker and names what is
  missing. No other address is taken (``tls://`` needs certificates musictag does not pass).
- **A model per worker thread** (LiteRT interpreters are not shared between threads), loaded
  (and the analysis stack warmed) once, kept in ``_MODELS`` by model folder, model id and thread.
  Workers are meant to run one thread each (``local:N`` does; ``dask worker --nthreads 1
  --nworkers N`` elsewhere), with BLAS and OpenMP held to one thread (the nanny's default
  environment does that).
- **A file that kills its worker** is tried once more elsewhere, then reported failed alone:
  the scheduler runs with ``allowed-failures: 1`` (a task whose worker died twice under it is
  erred with ``KilledWorker``) and ``worker-saturation: 1.0`` (a worker holds only the task it
  runs, the others wait on the scheduler, so a death makes no bystander "suspicious"). An external
  scheduler needs the same two settings in its own configuration (Dask's defaults are 3 and 1.1).
- **A per-file time limit**: a worker whose file runs past ``timeout`` logs the file's key to the
  scheduler (event topic ``musictag-overrun``) and exits, which Dask treats as a death.
- **Bounded work in flight**: at most ``IN_FLIGHT_PER_THREAD`` futures per worker thread. A result
  waits on its worker until fetched; one lost with a dying worker is computed again by Dask.

Dask is imported here only, and only once a cluster is used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import musictag
from musictag.cores import usable_cpus
from musictag.errors import MusictagError, UsageError, short_reason
from musictag.paths import display_path
from musictag.scan.outcome import Outcome
from musictag.scan.pool import FILE_TIMEOUT_S, POLL_S, START_TIMEOUT_S, THREAD_VARS, PoolDied, sigint_ignored

INSTALL_HINT = "pip install 'musictag[cluster]'"
#: Seconds to reach a scheduler before saying it cannot be reached.
CONNECT_TIMEOUT_S = 10.0
#: Futures outstanding per worker thread: enough to keep every worker busy, never the whole catalogue.
IN_FLIGHT_PER_THREAD = 4
#: The scheduler settings that make a file that kills its worker fail alone, after one retry.
SCHEDULER_CONFIG = {"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}
#: ``local:N`` workers do not sample their own stacks every 10 ms (Dask's profiler): nobody reads it.
_LOCAL_WORKER_CONFIG = {"distributed.worker.profile.enabled": False}
_OVERRUN_TOPIC = "musictag-overrun"
_OVERRUN_EXIT = 75

#: A scheduler's address: ``tcp://`` a host name, an IPv4 address or a bracketed IPv6 one, then a port.
_TCP_ADDRESS = re.compile(r"tcp://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>[0-9]{1,5})")

_MODELS: dict[tuple[str | None, str | None, int], Any] = {}
_MODELS_LOCK = threading.Lock()


def require_dask() -> None:
    """Raise :class:`UsageError` (one line, with the install command) when Dask distributed is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError(f"--cluster needs Dask distributed, which is not installed: {INSTALL_HINT}") from None


def local_workers(address: str) -> int | None:
    """N for ``local:N`` (``local``: one per usable CPU core), None for a scheduler's ``tcp://host:port``
    (:func:`scheduler_endpoint`); :class:`UsageError`, one line, for anything else."""
    if address == "local":
        return usable_cpus()
    if address.startswith("local:"):
        count = address.removeprefix("local:")
        digits = count.lstrip("0")
        if re.fullmatch("[0-9]+", count) is None or not digits:
            raise UsageError(f"--cluster local:N needs a number of workers N >= 1 (digits 0-9), not {address!r}")
        return int(digits) if len(digits) <= 9 else 10**9  # beyond any machine: the cap at the cores decides
    scheduler_endpoint(address)
    return None


def scheduler_endpoint(address: str) -> tuple[str, int]:
    """The host and port of a scheduler's ``tcp://host:port``: the one kind of address Dask reaches without
    settings of its own (``tls://`` needs certificates); :class:`UsageError`, one line, for any other."""
    scheme, found, _ = address.partition("://")
    if not found:
        raise UsageError(f"--cluster takes a scheduler address (tcp://host:8786) or local:N, not {address!r}")
    if scheme == "tls":
        raise UsageError(f"--cluster {address!r}: a tls:// scheduler needs TLS certificates, which musictag does not "
                         "pass to Dask; give tcp://host:8786 (on a network you trust) or local:N")
    if scheme != "tcp":
        raise UsageError(f"--cluster {address!r} is not a scheduler address musictag can use (only tcp:// ones); "
                         "give tcp://host:8786 or local:N")
    match = _TCP_ADDRESS.fullmatch(address)
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise UsageError(f"--cluster {address!r} is not a scheduler address: give tcp://host:port (a port from 1 "
                         "to 65535), e.g. tcp://host:8786")
    return match["host"].strip("[]"), int(match["port"])


@dataclass
class Cluster:
    """The analysis of ``(key, path)`` tasks on a Dask cluster at ``address`` (or ``local:N``).

    ``model_id`` is the model the main process scores with; ``probe_path`` a file every worker
    must be able to stat (the scan's first file). Workers are given ``model_dir``, or None when it
    is the shipped model (each worker then loads its own installed copy: the model id must match).
    """

    address: str
    model_dir: str | None
    model_id: str | None = None
    probe_path: str | None = None
    timeout: float = FILE_TIMEOUT_S
    threads: int = 0  # worker threads in the cluster, known once started
    runtime: dict | None = None  # what runs the model on the workers, from their probes
    _client: Any = None
    _local: Any = None
    _worker_model: str | None = None
    _events_seen: set[str] = field(default_factory=set)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Connect (or start ``local:N``), then check every worker.

        Raises :class:`MusictagError` naming what is missing (the scheduler, a worker's musictag,
        its model, its view of the files).
        """
        if self._client is not None:
            return
        require_dask()
        workers = local_workers(self.address)
        self._worker_model = None if self.model_dir is None or _is_shipped(self.model_dir) else self.model_dir
        import dask
        from distributed import Client, LocalCluster

        try:
            if workers is None:
                self._reach(*scheduler_endpoint(self.address))
                self._client = Client(self.address, timeout=CONNECT_TIMEOUT_S)
            else:
                preload = [*dask.config.get("distributed.worker.preload", []), __name__]
                with dask.config.set({**SCHEDULER_CONFIG, **_LOCAL_WORKER_CONFIG}), sigint_ignored():
                    self._local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               dashboard_address=None, silence_logs=logging.CRITICAL,
                                               env=dict.fromkeys(THREAD_VARS, "1"), preload=preload)
                self._client = Client(self._local)
        except OSError as e:  # TimeoutError too: something listens there, but no Dask scheduler answers
            self.close()
            reason = short_reason(e)
            if isinstance(e, TimeoutError) or "Timed out" in reason:
                reason = f"no answer in {CONNECT_TIMEOUT_S:.0f} s: is it a Dask scheduler, and is the address right?"
            raise MusictagError(f"cannot reach the Dask scheduler at {self.address} ({reason})") from None
        try:
            self._check_workers()
        except BaseException:
            self.close()
            raise

    def _reach(self, host: str, port: int) -> None:
        """Open (and close) a TCP connection to the scheduler, to say in one line why it cannot be reached:
        Dask's client tries a refused connection again until its timeout, then says only that it timed out."""
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
        except ConnectionRefusedError:
            reason = "connection refused: is the scheduler running, and is the port right?"
        except TimeoutError:
            reason = f"no answer in {CONNECT_TIMEOUT_S:.0f} s: is it running, and is the address right?"
        except OSError as e:  # an unknown host name, no route
            reason = short_reason(e)
        else:
            return
        raise MusictagError(f"cannot reach the Dask scheduler at {self.address} ({reason})")

    def _check_workers(self) -> None:
        """Run the probe on each worker: musictag importable, same version and model, the files visible."""
        workers = self._client.nthreads()  # {address: threads}, every worker
        if not workers:
            raise MusictagError(f"the Dask scheduler at {self.address} has no workers")
        crowded = {address: n for address, n in workers.items() if n > 1}
        if crowded:
            address, n = next(iter(crowded.items()))
            raise MusictagError(f"the Dask worker {address} runs {n} threads: start the workers with one thread each "
                                "(dask worker ... --nthreads 1 --nworkers N), so that a file that crashes its "
                                "worker takes no other file with it")
        self.threads = sum(workers.values())
        probes = {address: self._client.submit(_probe, self._worker_model, self.model_id, self.probe_path,
                                               workers=[address], allow_other_workers=False, pure=False)
                  for address in workers}
        for address, future in probes.items():
            try:
                found = future.result(timeout=START_TIMEOUT_S)
            except Exception as e:  # noqa: BLE001 - whatever stops a worker running musictag is said in one line
                raise MusictagError(f"the Dask worker {address} cannot run musictag ({type(e).__name__}: "
                                    f"{short_reason(e)}): install it there ({INSTALL_HINT})") from None
            problem = _mismatch(found, self.model_id, self.probe_path)
            if problem:
                raise MusictagError(f"the Dask worker {address} {problem}")
            self.runtime = found.get("runtime")

    def imap(self, tasks: Iterable[tuple[str, str]], should_stop: Callable[[], bool] = lambda: False
             ) -> Iterator[tuple[str, Outcome]]:
        """Analyse ``(key, path)`` tasks; yield ``(key, Outcome)`` in the order they finish.

        A file whose worker died under it on two workers, or that overran :attr:`timeout` (once: it is
        not tried again), yields a failed outcome. Stops early (work in flight is cancelled) once
        ``should_stop()`` is true.
        Raises :class:`PoolDied` when the connection to the scheduler is lost.
        """
        from distributed import wait

        self.start()
        queue = deque(tasks)
        pending: dict[Any, str] = {}
        window = IN_FLIGHT_PER_THREAD * max(1, self.threads)
        first = [queue.popleft() for _ in range(min(window, len(queue)))]
        if first:  # one message: the scheduler sees the whole window as one large group and queues it
            keys, paths = zip(*first, strict=True)
            futures = self._client.map(_analyse_remote, paths, model_dir=self._worker_model, model_id=self.model_id,
                                       timeout=self.timeout, pure=False)
            pending.update(zip(futures, keys, strict=True))
        try:
            while pending:
                if should_stop():
                    return
                try:
                    done = wait(list(pending), timeout=POLL_S, return_when="FIRST_COMPLETED").done
                except TimeoutError:
                    done = set()
                except OSError as e:  # the connection to the scheduler is gone
                    raise _Lost(f"lost the connection to the Dask scheduler at {self.address}") from e
                # a result kept on a worker that has died since is computed again: wait for it once more
                done = [future for future in done if future.status in ("finished", "error", "cancelled")]
                # a file that ran out of time is not tried again on another worker: that would double the limit
                overruns = self._overruns()
                overran = [future for future in pending if future not in done and future.key in overruns]
                for _ in range(min(window - len(pending) + len(done) + len(overran), len(queue))):  # refill first
                    key, path = queue.popleft()
                    pending[self._submit(path)] = key
                for future in done:
                    outcome = self._outcome(future)  # before the pop: a lost scheduler leaves it counted as not done
                    if outcome is None:  # lost with a worker since the wait: wait for it once more
                        continue
                    yield pending.pop(future), outcome
                    future.release()
                for future in overran:
                    future.cancel()
                    yield pending.pop(future), self._overrun_outcome()
        except _Lost as e:
            raise PoolDied(str(e), len(queue) + len(pending)) from None
        finally:
            for future in pending:
                future.cancel()

    def _submit(self, path: str) -> Any:
        return self._client.submit(_analyse_remote, path, model_dir=self._worker_model, model_id=self.model_id,
                                   timeout=self.timeout, pure=False)

    def _outcome(self, future: Any) -> Outcome | None:
        """The finished future's Outcome; a worker death or an overrun as a failed one. None when it is
        not finished after all: its result was lost with a worker since it finished, and Dask computes it
        again (the status moves back to pending)."""
        from distributed import KilledWorker

        status = future.status
        if status == "finished":
            return future.result()
        if status == "cancelled":
            raise _Lost(f"lost the connection to the Dask scheduler at {self.address}")
        if status != "error":
            return None
        error = future.exception()
        if isinstance(error, KilledWorker):
            if future.key in self._overruns():
                return self._overrun_outcome()
            return Outcome(error="the analysis process died while analysing this file (tried on "
                                 f"{error.allowed_failures + 1} Dask workers)")
        return Outcome(error=f"the Dask worker could not analyse this file ({type(error).__name__}: "
                             f"{short_reason(error)})", transient=True)

    def _overrun_outcome(self) -> Outcome:
        return Outcome(error=f"analysis took longer than {self.timeout:.0f} s and was stopped")

    def _overruns(self) -> set[str]:
        """Keys of the tasks whose workers stopped them for running past the time limit."""
        try:
            events = self._client.get_events(_OVERRUN_TOPIC)
        except OSError as e:
            raise _Lost(f"lost the connection to the Dask scheduler at {self.address}") from e
        for _, message in events:
            self._events_seen.add(message["key"])
        return self._events_seen

    def close(self) -> None:
        """Disconnect (and stop a ``local:N`` cluster); work in flight is dropped."""
        client, local, self._client, self._local = self._client, self._local, None, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        if local is not None:
            with contextlib.suppress(Exception):
                local.close()


class _Lost(Exception):
    """The scheduler is gone: no future can finish."""


def _is_shipped(model_dir: str) -> bool:
    from musictag.analysis.models import default_model_dir

    return Path(model_dir).resolve() == default_model_dir().resolve()


def _mismatch(found: dict[str, Any], model_id: str | None, probe_path: str | None) -> str | None:
    """What a worker's probe says is wrong with it (one phrase), or None."""
    if found["version"] != musictag.__version__:
        return f"runs musictag {found['version']}, not {musictag.__version__}: install the same version on every worker"
    if found.get("model_error"):
        return f"cannot load the model: {found['model_error']}"
    if model_id is not None and found["model_id"] != model_id:
        return f"loads the model {found['model_id']}, not {model_id}: give every worker the same model"
    if probe_path is not None and found.get("stat_error"):
        return (f"cannot see {display_path(probe_path)} ({found['stat_error']}): the workers must see the files "
                "under the same paths")
    return None


# --- the worker side ------------------------------------------------------------------------


def _model(model_dir: str | None, model_id: str | None) -> Any:
    """This worker thread's model (loaded and warmed up once per folder, id and thread)."""
    from musictag.analysis.models import load_model
    from musictag.scan.worker import warm_up

    thread = threading.get_ident()
    with _MODELS_LOCK:
        model = _MODELS.get((model_dir, model_id, thread))
        if model is None:
            model = load_model(model_dir)
            with contextlib.suppress(Exception):  # only an optimisation: a real problem shows in the results
                warm_up()
            _MODELS[(model_dir, model_id, thread)] = model
        return model


def _probe(model_dir: str | None, model_id: str | None, path: str | None) -> dict[str, Any]:
    """Run on each worker at start: its musictag version, the model it loads, whether it sees ``path``."""
    found: dict[str, Any] = {"version": musictag.__version__}
    try:
        model = _model(model_dir, model_id)
        found["model_id"], found["runtime"] = model.model_id, model.runtime
    except MusictagError as e:
        found["model_error"] = str(e)
    if path is not None:
        try:
            os.stat(path)
        except OSError as e:
            found["stat_error"] = e.strerror or type(e).__name__
    return found


def _analyse_remote(path: str, model_dir: str | None, model_id: str | None, timeout: float) -> Outcome:
    """One file on a worker; past ``timeout`` the worker logs the task's key and exits (see the module doc)."""
    from distributed import get_worker

    from musictag.scan import worker as scan_worker

    model = _model(model_dir, model_id)
    if model_id is not None and model.model_id != model_id:
        return Outcome(error=f"the Dask worker loaded the model {model.model_id}, not {model_id}", transient=True)
    worker, overran = get_worker(), threading.Event()
    watchdog = threading.Timer(timeout, _overrun, (worker, worker.get_current_task(), overran))
    watchdog.daemon = True
    watchdog.start()
    try:
        outcome = scan_worker.analyse_file(model, path)
    finally:
        watchdog.cancel()
    if overran.is_set():  # too late: the watchdog is ending this process, the result must not go out first
        threading.Event().wait()
    return outcome


def _overrun(worker: Any, key: str, overran: threading.Event) -> None:
    """Tell the scheduler that ``key`` ran out of time, then end this worker process (its nanny starts another)."""
    overran.set()
    worker.log_event(_OVERRUN_TOPIC, {"key": key})
    time.sleep(1.0)  # the event goes out on the worker's batched stream
    os._exit(_OVERRUN_EXIT)


def dask_setup(worker: Any) -> None:
    """Dask preload hook, for ``local:N`` workers only: Ctrl-C is the main process's to handle, and the C
    libraries' chatter (LiteRT, mpg123) stays off the terminal."""
    from musictag.scan.worker import quiet_worker_process

    quiet_worker_process()
