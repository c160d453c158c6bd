"""Helpers the scan tests share: a copy of the audio files to scan, and the library's rows."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from musictag.library import Library
from musictag.paths import key_to_path
from musictag.runtime import default_model_dir

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


def track_rows(db: Path) -> dict[str, dict]:
    """The library's tracks rows by file path."""
    with Library(db, readonly=True) as lib:
        return {key_to_path(r["path"]): r for r in lib.tracks()}


def require_model() -> None:
    """Skip the calling test module when there is no model: neither the shipped one nor $MUSICTAG_MODEL."""
    try:
        have = (default_model_dir() / "model.json").is_file()
    except (ModuleNotFoundError, TypeError):  # no shipped model package at all
        have = False
    if not have:
        pytest.skip("no model: neither the shipped one nor $MUSICTAG_MODEL", allow_module_level=True)
