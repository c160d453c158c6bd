"""librosa's first run: compiling its numba kernels, said in a line before the wait, and done once.

Importing librosa's core compiles seven numba kernels whose signatures it gives (so at import, whether
a model uses them or not; the 44 features and the frame inputs use none). librosa asks numba to cache
them, so only the first process after an install pays: 22 s on this machine's two cores beside
one other job (48 s beside a test run) against 2 s to load them from the cache later. Two scan
workers starting cold each compiled them, side by side, on their first file, with no word on the
terminal (``bench/bench_first_run.py``: a scan of 10 clips, 22–41 s the first time, 3–6 s later).

:func:`prepare_librosa` is called before the work (the scan's workers, a training run's features):
when the cache lacks a kernel it says so in a line, then the work compiles them (training and
evaluating in their own process, a scan in each worker as it starts) and numba caches them for every
later run.
The models on the backbone (the shipped one) never import librosa and pay nothing.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path

#: librosa's kernels compiled at import: (source file in the package, function names).
EAGER_KERNELS = (("util/utils.py", ("_localmax", "_localmin", "__peak_pick", "_cabs2", "_phasor_angles")),
                 ("core/audio.py", ("_zc_wrapper",)), ("core/pitch.py", ("_pi_wrapper",)))
#: What the line says the wait is: a cold compile took 22 s on this machine's two cores beside one
#: other job, 48 s beside a test run; a slower laptop takes longer.
NOTICE = "preparing the audio analysis (first run only, about 30 s)"
#: Model inputs computed with librosa (:mod:`musictag.analysis.features`, :mod:`musictag.analysis.frame_inputs`).
LIBROSA_INPUTS = ("features44", "mel", "mfcc", "cqt")


def _cache_dir(source: Path) -> Path | None:
    """Where numba keeps the cache of functions in ``source``: the first of its own locators that
    applies (``$NUMBA_CACHE_DIR``, the package's ``__pycache__`` if writable, the user's cache folder)."""
    from numba.core import caching

    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl

    def probe() -> None:  # a locator reads only a function's first line number
        """Stands in for a kernel."""

    for cls in impl._locator_classes:
        locator = cls.from_function(probe, str(source))
        if locator is not None:
            return Path(locator.get_cache_path())
    return None


def missing_kernels() -> list[str]:
    """librosa's import-time kernels that numba's cache lacks (empty: librosa starts warm, or is absent)."""
    spec = importlib.util.find_spec("librosa")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return []
    package = Path(next(iter(spec.submodule_search_locations)))
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}{getattr(sys, 'abiflags', '')}.nbi"
    missing = []
    for file, names in EAGER_KERNELS:
        source = package / file
        try:
            text = source.read_text(encoding="utf-8")
            cache = _cache_dir(source)
        except (OSError, ImportError, AttributeError, RuntimeError):
            continue  # another librosa or numba than this was written for: no claim either way
        stem = source.stem
        for name in names:
            if re.search(rf"^def {re.escape(name)}\(", text, re.M) is None:
                continue  # not in this librosa version
            if cache is None or not any(cache.glob(f"{stem}.{name}-*.{tag}")):
                missing.append(f"{file}:{name}")
    return missing


def prepare_librosa(say: Callable[[str], None], compile_here: bool = True) -> bool:
    """Say :data:`NOTICE` (one line, through ``say``) if numba's cache lacks librosa's kernels, and with
    ``compile_here`` compile them in this process; return whether they were missing. Nothing is said or
    done when they are cached already.

    The scan passes ``compile_here=False``: its workers, one per core, compile them side by side
    while they start (:func:`import_kernels`), which was 4.6 s sooner on two idle cores than compiling
    them here first (22.0 against 26.6 s, ``bench/bench_first_run.py``).
    """
    if not missing_kernels():
        return False
    say(NOTICE)
    if compile_here:
        import_kernels()
    return True


def import_kernels() -> None:
    """Import librosa's modules that hold its import-time kernels: compiled (and cached) on a first run,
    loaded from numba's cache later (2 s)."""
    for file, _ in EAGER_KERNELS:  # librosa's packages load their modules lazily: import each one
        importlib.import_module("librosa." + file.removesuffix(".py").replace("/", "."))


def prepare_for_input(input_name: str | None, say: Callable[[str], None]) -> bool:
    """:func:`prepare_librosa` when a model's input ``input_name`` (None: the 44 features) is computed with librosa."""
    return (input_name or "features44") in LIBROSA_INPUTS and prepare_librosa(say)
