"""The entries of an M3U / M3U8 playlist a user gives: the files it lists, and the entries that are not files.

Lines starting with ``#`` (``#EXTM3U``, ``#EXTINF`` and other directives, comments) and blank lines are
skipped; a relative entry is resolved against the playlist's folder (each file named as the library
names it: absolute, ``..`` resolved as :func:`os.path.abspath` does); a ``file://`` address is read as
the path it names. An entry's bytes are kept as they are (a name that is not UTF-8 stays the name on
disk, as :func:`os.fsdecode` gives it), whatever the playlist's extension.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from musictag.errors import UsageError
from musictag.paths import display_path


@dataclass(frozen=True)
class Missing:
    """An entry that names no file: its line number, the entry as written (printable), and why."""

    line: int
    entry: str
    reason: str


@dataclass(frozen=True)
class Listed:
    """What a playlist lists: its files, in order, and the entries that are not files."""

    files: list[Path]
    missing: list[Missing]


def read_m3u(playlist: str | os.PathLike) -> Listed:
    """The entries of the playlist file ``playlist``; a usage error when it cannot be read, is not
    text, or lists nothing."""
    name = display_path(playlist)
    try:
        data = Path(playlist).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"no such playlist: {name}") from None
    except OSError as e:
        raise UsageError(f"{name}: cannot read the playlist: {e.strerror or e}") from None
    if b"\0" in data:
        raise UsageError(f"{name}: not a text playlist (M3U)")
    folder = Path(playlist).parent
    files: list[Path] = []
    missing: list[Missing] = []
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        entry = os.fsdecode(line)
        path, why_not = _local_path(line)
        if path is None:
            missing.append(Missing(number, display_path(entry), why_not))
            continue
        path = Path(os.path.abspath(folder / path))  # as the library names files: absolute, normalised
        if os.path.isfile(path):
            files.append(path)
        else:
            missing.append(Missing(number, display_path(entry),
                                   "not a file" if os.path.lexists(path) else "no such file"))
    if not files and not missing:
        raise UsageError(f"{name}: an empty playlist (no entries)")
    return Listed(files, missing)


def _local_path(line: bytes) -> tuple[Path | None, str]:
    """The path an entry names, or None and why (an address of something not on this machine)."""
    if b"://" not in line:
        return Path(os.fsdecode(line)), ""
    address = urlsplit(line)
    if address.scheme.lower() != b"file" or address.netloc not in (b"", b"localhost"):
        return None, "not a local file"
    return Path(os.fsdecode(unquote_to_bytes(address.path))), ""
