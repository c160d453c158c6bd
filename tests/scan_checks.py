"""Helpers the scan tests share: a copy of the audio files to scan, and the library's rows."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from musictag.analysis.models import default_model_dir
from musictag.library.database import Library
from musictag.library.rows import TrackRow
from musictag.paths import key_to_path

#: Whether the tests run as root (who can read and write everything: permission tests drop to another user).
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False
#: Formats whose ``tagged_files`` (tests/conftest.py) start with a genre (the others have none).
WITH_GENRE = {"flac": ["Jazz"], "mp3": ["Ambient", "Dub"]}


def copy_library(pristine: dict[str, Path], folder: Path) -> dict[str, Path]:
    """Copy one file per format into ``folder`` (ALAC in a subfolder); return their new paths."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for fmt, src in pristine.items():
        out[fmt] = folder / src.name if fmt != "alac" else folder / "sub" / src.name
        out[fmt].parent.mkdir(exist_ok=True)
        shutil.copy(src, out[fmt])
    return out


def track_rows(db: Path) -> dict[str, TrackRow]:
    """The library's tracks by file path."""
    with Library(db, readonly=True) as lib:
        return {key_to_path(r.path): r for r in lib.tracks()}


def require_model() -> None:
    """Skip the calling test module when there is no model: neither the shipped one nor $MUSICTAG_MODEL."""
    try:
        have = (default_model_dir() / "model.json").is_file()
    except (ModuleNotFoundError, TypeError):  # no shipped model package at all
        have = False
    if not have:
        pytest.skip("no model: neither the shipped one nor $MUSICTAG_MODEL", allow_module_level=True)


def write_sweeps(folder: Path, count: int) -> None:
    """``count`` distinct 20 s FLAC sweeps ``00.flac`` ... in ``folder`` (created)."""
    from tests import audiogen

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        audiogen.write_audio(folder / f"{i:02d}.flac", audiogen.sweep(20.0, sr=22050, seed=i), 22050, "flac")


def wait_for_rows(proc: subprocess.Popen, db: Path, rows: int, timeout: float = 120.0) -> None:
    """Wait until the scan ``proc`` has committed ``rows`` tracks to ``db``; fail if it ends first."""
    deadline, committed = time.monotonic() + timeout, 0
    while committed < rows and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
        with contextlib.suppress(sqlite3.OperationalError):  # no file, or no schema yet
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
                committed = conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
    assert proc.poll() is None, "the scan ended before it could be stopped"
