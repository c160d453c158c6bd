"""Loaded by the scan's fork server only (its preload): warms the analysis stack once, so that
every worker forked from the server starts warm (see :func:`musictag.scan.worker.warm_up`)."""

from musictag.scan.worker import warm_up

try:
    warm_up()
except Exception:  # warming up is only an optimisation; a real problem shows in the worker's results
    pass
