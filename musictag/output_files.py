"""Files and folders a command writes where the user says (``--m3u``, ``map --out``, ``train --out``):
checked before any work is done, written whole or not at all (:mod:`musictag.atomic`), never
through a link (one at that name is replaced), and every failure one line naming the option and path.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from musictag import atomic
from musictag.errors import MusictagError, UsageError
from musictag.paths import display_path

T = TypeVar("T")

#: What a model folder given as ``train --out`` may already hold to be replaced: a model's own files.
MODEL_FILES = frozenset({"model.json", "head.npz", "metrics.json", "heldout.json", "confusion.png", "curves.png",
                         "umap.png", "model.keras", "model.tflite", "reference.npz"})


def _try_writing_in(folder: Path, option: str, out: Path) -> None:
    """Create and remove a temporary file in ``folder``: the one proof that a file can be written there."""
    try:
        fd, name = tempfile.mkstemp(prefix=".musictag-check.", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as e:
        raise UsageError(f"{option} {display_path(out)}: cannot write in {display_path(folder)} "
                         f"({e.strerror or e})") from None


def _folder_of(out: Path, option: str) -> Path:
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{option} {display_path(out)}: no such folder {display_path(folder)}")
    return folder


def check_output_file(out: Path, option: str, suffixes: tuple[str, ...] = ()) -> None:
    """Refuse, before any work, an output file that cannot be written: an unknown type (not one of
    ``suffixes``), a folder at that name, a folder that is missing or not writable."""
    if suffixes and out.suffix.lower() not in suffixes:
        raise UsageError(f"{option} {display_path(out)}: give a file ending in {' or '.join(suffixes)}")
    folder = _folder_of(out, option)
    try:
        if stat.S_ISDIR(os.lstat(out).st_mode):
            raise UsageError(f"{option} {display_path(out)}: is a folder; give a file name")
    except FileNotFoundError:
        pass
    _try_writing_in(folder, option, out)


def check_output_folder(out: Path, option: str) -> None:
    """Refuse, before any work, a model folder that cannot be written or must not be replaced: a file
    at that name, a folder holding anything but a model's own files, a parent that is missing or not
    writable. (A link at that name is replaced, not followed.)"""
    folder = _folder_of(out, option)
    try:
        st = os.lstat(out)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISREG(st.st_mode):
        raise UsageError(f"{option} {display_path(out)}: is a file; give a folder for the model")
    if st is not None and stat.S_ISDIR(st.st_mode):
        others = sorted(p.name for p in out.iterdir() if p.name not in MODEL_FILES)
        if others:
            raise UsageError(f"{option} {display_path(out)}: holds files that are not a model's "
                             f"({display_path(others[0])}{', ...' if len(others) > 1 else ''}); give a new "
                             "folder, or a model folder to replace")
    _try_writing_in(folder, option, out)


def write_output_file(out: Path, option: str, write: Callable[[Path], T], suffix: str = "") -> T:
    """Write ``out`` whole through ``write(tmp)`` (:func:`musictag.atomic.replace_atomically`); a write
    that fails (a full disk, ...) leaves what was there and raises one line."""
    try:
        return atomic.replace_atomically(out, write, suffix)
    except OSError as e:
        raise MusictagError(f"{option} {display_path(out)}: could not be written ({e.strerror or e}); "
                            "nothing was changed there") from None


def write_output_folder(out: Path, option: str, write: Callable[[Path], T]) -> T:
    """Write the folder ``out`` whole through ``write(tmp)`` (:func:`musictag.atomic.replace_folder_atomically`);
    a write that fails leaves what was there and raises one line."""
    try:
        return atomic.replace_folder_atomically(out, write)
    except OSError as e:
        raise MusictagError(f"{option} {display_path(out)}: could not be written ({e.strerror or e}); "
                            "nothing was changed there") from None
