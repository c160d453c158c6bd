"""Extended M3U8 playlists whose entries cannot be multiplied by what a file's name or tags hold."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def write_m3u(out: str | os.PathLike, entries: Iterable[tuple[float | None, str, str]]) -> list[str]:
    """Write ``(duration s, label, path)`` entries as an extended M3U8 playlist, in order.

    A label becomes one printable line (:func:`~musictag.paths.printable`), so a title cannot
    add entries; a file whose name holds a line break cannot be listed in M3U and is left out.
    Returns the printable paths of the files left out.
    """
    from musictag.paths import display_path, printable

    lines, left_out = ["#EXTM3U"], []
    for duration, label, path in entries:
        if "\n" in path or "\r" in path:
            left_out.append(display_path(path))
            continue
        seconds = round(duration) if duration is not None else -1
        lines += [f"#EXTINF:{seconds},{printable(label)}", path]
    Path(out).write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))
    return left_out
