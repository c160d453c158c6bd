"""The scan's worker side: check, decode, featurise and classify one file at a time.

Each worker process loads its own model (:func:`~musictag.analysis.models.load_model`) once, then answers
requests from the scan's main process (see :mod:`musictag.scan.pool`) with plain data: an
:class:`Outcome` per file, never an exception.

:func:`warm_up` is the work (the decoders' imports, the filter bank) that the scan's fork server does
once (:mod:`musictag.scan.warmup`), so that every worker forked from it starts warm.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from musictag.analysis.models import HeadModel, Model, load_model
from musictag.audio.decode import SAMPLE_RATE, open_audio
from musictag.errors import FileError, MusictagError, short_reason
from musictag.scan.outcome import Outcome


def analyse_file(model: Model, path: str) -> Outcome:
    """Check, decode and classify ``path``; any failure comes back as ``Outcome.error``.

    The file is opened once (:func:`musictag.audio.decode.open_audio`: readable, audio by its content, not cut
    short, a header a decoder accepts); its quick hash, its audio hash and every excerpt the analysis decodes
    are read from that one opening.
    """
    out = Outcome()
    try:
        with open_audio(path) as opened:
            out.format, out.quick_hash, out.audio_hash = opened.format, opened.quick_hash(), opened.audio_hash()
            analysis = model.analyse(opened)
        out.duration = float(analysis.duration)
        out.silent = bool(analysis.silent)
        out.scores = [float(s) for s in analysis.scores]
        out.embedding = np.asarray(analysis.embedding, np.float32).tobytes()
        if analysis.summary is not None:
            out.summary = analysis.summary.to_row()
    except FileError as e:
        out.error = e.reason
    except MemoryError:
        out.error = "out of memory while analysing the file"
    except OSError as e:
        out.error = f"cannot read the file: {e.strerror or e}"
    except Exception as e:  # a decoder or library bug must not stop the scan; report it in one line
        name, detail = type(e).__name__, short_reason(e)
        out.error = f"unexpected error while analysing: {name}" + (f": {detail}" if detail != name else "")
    out.peak_rss = peak_rss()
    return out


def peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux: VmHWM, which a fork does not inherit)."""
    with contextlib.suppress(OSError, AttributeError):
        match = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
        if match:
            return int(match.group(1)) * 1024
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def quiet_worker_process() -> None:
    """In a worker process: leave Ctrl-C to the main process, and point file descriptors 1 and 2 at
    /dev/null, where the C libraries' own chatter (LiteRT, mpg123) goes instead of the terminal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def serve(conn: Connection, model_dir: str | None, settings: dict[str, str] | None = None) -> None:
    """A worker's life: load the model, then analyse each ``(key, path)`` received until ``None``.

    ``settings``: environment variables of the scan's process that choose how the model runs
    (:func:`musictag.analysis.backbone.runtime_settings`), set here before the model is loaded.

    Sends ``("ready", model_id, runtime)`` (the model's ``runtime``: what runs it) or ``("fatal", message, exit_code)``
    first (a model computed with librosa imports librosa's kernels before it is ready: a first run's
    compile), then ``("done", key, Outcome)`` per request. Ctrl-C is left to the main process; the C
    libraries' own chatter on the terminal (LiteRT, mpg123) is silenced by pointing file descriptors 1
    and 2 at /dev/null.
    """
    quiet_worker_process()
    os.environ.update(settings or {})  # the scan's runtime choice, not the fork server's environment
    try:
        model = load_model(model_dir)
    except MusictagError as e:
        conn.send(("fatal", str(e), e.exit_code))
        return
    if not isinstance(model, HeadModel):  # librosa's kernels, compiled on a first run, before "ready", not on a file
        from musictag.analysis.librosa_warmup import import_kernels

        import_kernels()
    conn.send(("ready", model.model_id, model.runtime))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # the main process is gone
            return
        if request is None:
            return
        key, path = request
        try:
            conn.send(("done", key, analyse_file(model, path)))
        except (BrokenPipeError, OSError):
            return


def warm_up() -> None:
    """Import the decoders and run the log-mel code once on a short synthetic signal: what every model on
    the backbone (the shipped one) needs, so each forked worker starts warm.

    Not warmed: OpenVINO (it starts threads, and a fork server must hold none when it forks), LiteRT (the
    fallback, imported where it is used) and the 44 hand-made features of the first version's window
    networks (librosa and numba: 1.5 s of the server's start, measured, on the way to every scan's first
    track; a window model's worker pays them once itself).
    """
    import av  # noqa: F401
    import soundfile  # noqa: F401
    import soxr  # noqa: F401

    from musictag.analysis.patches import audio_patches

    t = np.arange(SAMPLE_RATE * 6, dtype=np.float32) / SAMPLE_RATE
    audio_patches((0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
