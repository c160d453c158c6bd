"""Extended M3U8 playlists whose entries cannot be multiplied by what a file's name or tags hold."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def write_m3u(out: str | os.PathLike, entries: Iterable[tuple[float | None, str, str]]) -> list[str]:
    """Write ``(duration s, label, path)`` entries as an extended M3U8 playlist, in order, whole or not
    at all (:func:`musictag.output_files.write_output_file`: a link at ``out`` is replaced, not followed).

    A label becomes one printable line (:func:`~musictag.paths.printable`), so a title cannot
    add entries. An M3U8 playlist is UTF-8 throughout: a name whose bytes are not UTF-8 is written
    as a ``file://`` URI with those bytes percent-encoded (players that read M3U take it); a file
    whose name holds a line break is left out. Returns ``"path: why"`` (printable) for each file
    left out.
    """
    from musictag.output_files import write_output_file
    from musictag.paths import display_path, printable

    lines, left_out = ["#EXTM3U"], []
    for duration, label, path in entries:
        if "\n" in path or "\r" in path:
            left_out.append(f"{display_path(path)}: a line break in its name")
            continue
        seconds = round(duration) if duration is not None else -1
        lines += [f"#EXTINF:{seconds},{printable(label)}", path if _utf8(path) else _file_uri(path)]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    write_output_file(Path(out), "--m3u", lambda tmp: tmp.write_bytes(data))
    return left_out


def _file_uri(path: str) -> str:
    """``file://`` and the absolute path's exact bytes, percent-encoded (all but ``/`` and unreserved ASCII)."""
    from urllib.parse import quote_from_bytes

    return "file://" + quote_from_bytes(os.fsencode(os.path.abspath(path)), safe="/")


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:  # lone surrogates: bytes of the name that are not UTF-8
        return False
