"""Checks the command-line tests share."""

from __future__ import annotations

import os
import subprocess
import sys


def one_line_error(res: subprocess.CompletedProcess, *words: str) -> None:
    """``res`` exited 2 with exactly one ``musictag: error:`` line holding every one of ``words``, no traceback."""
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.startswith("musictag: error: ")]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for word in words:
        assert word in lines[0], res.stderr


def run_musictag(*args: str, env: dict | None = None, prefix: list[str] | None = None, timeout: float = 600,
                 **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m musictag ARGS`` (after ``prefix``, e.g. setpriv) with ``env`` added; capture text output."""
    return subprocess.run([*(prefix or []), sys.executable, "-m", "musictag", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=timeout, **kwargs)
