"""Dask worker preload for the cluster tests: a file named ``crash*`` kills the worker analysing it.

The worker process exits mid-analysis (``os._exit``), as a decoder crash would end it; every other
file is analysed as usual. Loaded by the test's workers only (``distributed.worker.preload``).
"""

from __future__ import annotations

import os

from musictag.scan import worker as scan_worker

_analyse_file = scan_worker.analyse_file


def _crash_on_crash_files(model, path: str) -> scan_worker.Outcome:
    if os.path.basename(path).startswith("crash"):
        os._exit(70)
    return _analyse_file(model, path)


scan_worker.analyse_file = _crash_on_crash_files
