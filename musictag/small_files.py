"""Small text files a user hands musictag (a ``--map`` table, a model folder's model.json), read with
bounds: a regular file only (a FIFO or a device would block or never end), opened without blocking,
at most a size limit, and parsed without Python's recursion limit turning a deeply nested document
into a traceback.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

#: A --map table or a model.json beyond this is not one musictag wrote or a user typed.
MAX_TEXT_BYTES = 4 * 1024 * 1024


class SmallFileError(ValueError):
    """The file cannot be read as a small text document; ``str(error)`` says why, in a few words."""


def read_small_text(path: str | os.PathLike, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of ``path``, a regular file of at most ``max_bytes``; raises :class:`SmallFileError`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise SmallFileError(e.strerror or str(e)) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SmallFileError("not a regular file")
        if st.st_size > max_bytes:
            raise SmallFileError(f"{st.st_size:,} bytes, more than the {max_bytes:,} such a file may have")
        try:
            data = f.read(max_bytes + 1)
        except OSError as e:
            raise SmallFileError(e.strerror or str(e)) from None
    if len(data) > max_bytes:  # it grew while being read
        raise SmallFileError(f"more than the {max_bytes:,} bytes such a file may have")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SmallFileError(f"not UTF-8 text (byte {e.start})") from None


def parse_document(text: str, toml: bool = False) -> Any:
    """``text`` parsed as JSON (or TOML); raises :class:`SmallFileError` naming the fault, nesting too
    deep included."""
    try:
        if toml:
            try:
                import tomllib
            except ImportError:  # Python 3.10
                raise SmallFileError("reading TOML needs Python 3.11 or later; give it as JSON") from None
            return tomllib.loads(text)
        return json.loads(text)
    except RecursionError:
        raise SmallFileError("nested too deeply") from None
    except ValueError as e:
        raise SmallFileError(f"not valid {'TOML' if toml else 'JSON'} ({e})") from None


def read_document(path: str | os.PathLike, max_bytes: int = MAX_TEXT_BYTES) -> Any:
    """The JSON (TOML for a ``.toml`` name) document in ``path``, read and parsed with the bounds above."""
    return parse_document(read_small_text(path, max_bytes), toml=Path(path).suffix.lower() == ".toml")
