"""How musictag names and recognises a user's file, without opening the library: path keys,
printable renderings of untrusted names and tags, and timestamps (the quick content hash is
:mod:`musictag.hashing`'s).

A scan worker imports this without SQLite or the library.

Path keys: the ``path`` columns hold the absolute path as text, reversibly escaped so that file
names that are not valid UTF-8 survive. :func:`path_to_key` takes ``os.fsdecode(path)`` (bytes
that are not UTF-8 become lone surrogates, PEP 383) and writes every surrogate as ``U+10FFFD``
followed by its four hex digits, and ``U+10FFFD`` itself as two of them; every other character
is kept, so ordinary paths are stored as they are and a folder's key followed by ``/`` prefixes
the keys of everything under it. :func:`key_to_path` undoes it, giving a ``str`` path that
``open`` and ``os`` accept.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import datetime, timezone

_ESCAPE = "\U0010fffd"
#: Characters that change what a terminal shows beyond themselves: C0 controls, DEL and C1 (line breaks,
#: escape sequences), the line and paragraph separators, and the bidirectional controls (embeddings,
#: overrides, isolates, marks) that can make a name read backwards.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def path_to_key(path: str | bytes | os.PathLike) -> str:
    """The ``tracks.path`` key of ``path``: absolute, escaped as the module docstring says."""
    text = os.path.abspath(os.fsdecode(path))
    if _ESCAPE not in text:
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            pass
    out = []
    for ch in text:
        if ch == _ESCAPE:
            out.append(_ESCAPE * 2)
        elif "\ud800" <= ch <= "\udfff":
            out.append(f"{_ESCAPE}{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def key_to_path(key: str) -> str:
    """The path (a ``str``, possibly with surrogate escapes) that :func:`path_to_key` made ``key`` from."""
    if _ESCAPE not in key:
        return key
    out, i = [], 0
    while i < len(key):
        ch = key[i]
        if ch != _ESCAPE:
            out.append(ch)
            i += 1
        elif key[i + 1: i + 2] == _ESCAPE:
            out.append(_ESCAPE)
            i += 2
        else:
            out.append(chr(int(key[i + 1: i + 5], 16)))
            i += 5
    return "".join(out)


def printable(text: str) -> str:
    """``text`` safe to print on one line of a terminal: control characters (C0, DEL, C1: newlines,
    escape sequences) shown as ``\\xNN``, line separators and bidirectional controls (U+202E, ...) as
    ``\\uNNNN``, and undecodable bytes (lone surrogates) as ``\\xNN``.

    Everything read from a user's folder (names, tags) goes through this before it is printed.
    """
    raw = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(_escaped, raw)


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def some_of(items: Sequence[str], most: int) -> str:
    """The first ``most`` of ``items`` joined with ", ", and how many more there are: ``a, b and 3 more``."""
    return ", ".join(items[:most]) + (f" and {len(items) - most} more" if len(items) > most else "")


def display_path(path: str | bytes | os.PathLike) -> str:
    """``path`` as printable text (:func:`printable`): bytes that are not UTF-8 shown as ``\\xNN``."""
    return printable(os.fsdecode(path))


def path_fields(path: str | bytes | os.PathLike) -> dict[str, str]:
    """A path for JSON output: ``path`` as printable text, plus ``path_bytes`` (hex of the exact
    name) whenever that text is not the name itself (bytes that are not UTF-8, control characters)."""
    text = display_path(path)
    raw = os.fsencode(path)
    return {"path": text} if text.encode("utf-8", "surrogateescape") == raw else {"path": text, "path_bytes": raw.hex()}


def key_range(folder_key: str) -> tuple[str, str]:
    """``(low, high)`` such that ``low <= key < high`` exactly for the keys under the folder."""
    prefix = folder_key.rstrip("/") + "/"
    return prefix, prefix[:-1] + "0"  # "0" is the character after "/"


def now_iso() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def covers(key: str, path_key: str) -> bool:
    """Whether ``key`` (a file's or a folder's) is ``path_key`` or a folder holding it."""
    low, high = key_range(key)
    return path_key == key or low <= path_key < high
