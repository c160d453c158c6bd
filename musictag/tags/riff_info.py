"""A WAV file's RIFF ``LIST``/``INFO`` chunk (what FFmpeg, Windows and most rippers write): its text
fields read, and its genre entry (``IGNR``) set or put back in place.

Only the file's first ``LIST``/``INFO`` chunk counts. Reading is lenient: a damaged chunk reads as far
as it is sound (:func:`info_fields`). Changing it is strict: a chunk that is not what RIFF says raises
:class:`MalformedInfo` and nothing is written. A change keeps RIFF's structure: the entry's size and
pad byte (odd sizes are padded to even), the list's size and pad byte, and the ``RIFF`` size field;
the bytes after the chunk (the audio, where the chunk comes first) move as they are, in blocks, and
every other entry keeps its bytes and its place.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import IO, Any

#: The INFO ids of the fields musictag reads.
RIFF_INFO = {"genre": "IGNR", "artist": "IART", "title": "INAM", "album": "IPRD"}
_GENRE = RIFF_INFO["genre"].encode("ascii")
_MAX_LIST = 1 << 20  # an INFO list holds a few texts: a bigger one is something else
_MAX_CHUNKS = 100_000
_BLOCK = 1 << 20
_UNKNOWN_SIZE = 0xFFFFFFFF  # the RIFF size of a writer that could not seek back (a stream): left as it is


class MalformedInfo(ValueError):
    """The file's INFO chunk is not what RIFF says: nothing is written into it."""


@dataclass(frozen=True)
class _Info:
    """The first INFO list of a file: the offset of its ``LIST`` header, its data (``INFO`` first), and each
    entry's id, start and end (past its pad byte) in that data."""

    offset: int
    body: bytes
    entries: list[tuple[bytes, int, int]]

    def span(self, key: bytes) -> tuple[int, int] | None:
        """Where the first entry ``key`` lies in :attr:`body`, or None without one."""
        return next(((start, end) for k, start, end in self.entries if k == key), None)

    def payload(self, key: bytes) -> bytes | None:
        """The bytes of the first entry ``key`` as stored (without its pad byte), or None without one."""
        span = self.span(key)
        if span is None:
            return None
        size = struct.unpack("<I", self.body[span[0] + 4:span[0] + 8])[0]
        return self.body[span[0] + 8:span[0] + 8 + size]


def info_fields(path: str | os.PathLike) -> dict[str, str]:
    """The text fields of a WAV file's INFO chunk (``IART``, ``INAM``, ``IGNR``, ...; UTF-8, else Latin-1,
    up to the first NUL); {} if it has none or is no WAV."""
    try:
        with open(path, "rb") as f:
            info = _find(f, strict=False)
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for key, _, _ in info.entries if info else []:
        text = entry_text(info.payload(key) or b"")
        if text and key.isalnum():
            fields.setdefault(key.decode("ascii"), text)
    return fields


def entry_text(payload: bytes) -> str:
    """An INFO entry's bytes as text: up to the first NUL, UTF-8 (else Latin-1), stripped."""
    raw = payload.split(b"\0", 1)[0]
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return raw.decode("latin-1").strip()


def genre_state(path: str | os.PathLike) -> dict[str, str | None] | None:
    """What a backup records of a WAV file's INFO genre: None when it has no INFO chunk, else ``{"ignr": ...}``
    with the ``IGNR`` entry's bytes exactly as stored (NUL included), in hex, or None when it has none.

    Raises :class:`MalformedInfo` (or ``OSError``).
    """
    with open(path, "rb") as f:
        info = _find(f, strict=True)
    if info is None:
        return None
    payload = info.payload(_GENRE)
    return {"ignr": None if payload is None else payload.hex()}


def recorded_genre(state: Any) -> bytes | None:
    """The ``IGNR`` bytes that a :func:`genre_state` (not None) recorded; None: the entry was absent.
    Raises ``ValueError`` when ``state`` is not one."""
    if not isinstance(state, dict) or set(state) != {"ignr"} or not isinstance(state["ignr"], str | None):
        raise ValueError(f"not a RIFF INFO genre state: {state!r}")
    return None if state["ignr"] is None else bytes.fromhex(state["ignr"])


def encode_genre(genres: list[str]) -> bytes:
    """The ``IGNR`` entry's bytes for ``genres``: UTF-8 (as FFmpeg writes INFO), several joined with ``"; "``
    (as one ID3v2.3 value), NUL-terminated."""
    return "; ".join(genres).encode("utf-8") + b"\0"


def set_genre(f: IO[bytes], payload: bytes | None) -> None:
    """Make the ``IGNR`` entry of the INFO chunk in the open file ``f`` hold ``payload`` (None: no entry), in
    place: an entry there is replaced where it is, a new one goes after the last entry. A file without an
    INFO chunk is left as it is (none is added).

    Raises :class:`MalformedInfo` (nothing written), or ``ValueError`` when the chunk does not read back as
    written.
    """
    info = _find(f, strict=True)
    if info is None:
        return
    span = info.span(_GENRE)
    if span is not None:
        start, end = span
    else:
        start = end = info.entries[-1][2] if info.entries else 4
    entry = b"" if payload is None else _GENRE + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)
    body = info.body.ljust(start, b"\0")[:start] + entry + info.body[end:]  # ljust: the pad a last entry lacked
    if body == info.body:
        return
    _replace_list(f, info, body)
    again = _find(f, strict=True)
    if again is None or again.offset != info.offset or again.body != body:
        raise ValueError("its RIFF INFO chunk did not read back as written")


def _find(f: IO[bytes], strict: bool) -> _Info | None:
    """The first INFO list of the RIFF WAVE file ``f``, None without one (or when ``f`` is no RIFF WAVE file).

    The chunks are walked by their sizes (the audio is never read); a chunk said to run past the end of
    the file ends the walk. ``strict``: an INFO list that runs past the end of the file, or whose
    entries do not fill it, raises :class:`MalformedInfo`; else it reads as far as it is sound.
    """
    total = f.seek(0, os.SEEK_END)
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    for _ in range(_MAX_CHUNKS):
        if pos + 8 > total:
            break
        f.seek(pos)
        chunk_id, size = struct.unpack("<4sI", f.read(8))
        if chunk_id == b"LIST" and size >= 4 and f.read(4) == b"INFO":
            if strict and pos + 8 + size > total:
                raise MalformedInfo("its RIFF INFO chunk is malformed: it runs past the end of the file")
            if size > _MAX_LIST:
                if strict:
                    raise MalformedInfo("its RIFF INFO chunk is malformed: it says it is over 1 MiB")
                return None
            f.seek(pos + 8)
            body = f.read(size)
            return _Info(pos, body, _entries(body, strict))
        pos += 8 + size + (size & 1)
    return None


def _entries(body: bytes, strict: bool) -> list[tuple[bytes, int, int]]:
    """Each entry of an INFO list's data: its id, start and end past its pad byte (one past the data where an
    entry of odd size ends the list unpadded). Zero bytes after the last entry are allowed."""
    entries, pos = [], 4
    while pos < len(body):
        if len(body) - pos < 8 and not body[pos:].strip(b"\0"):
            break  # zero padding after the last entry
        problem = None
        if len(body) - pos < 8:
            problem = "it ends inside an entry's header"
        else:
            key, size = body[pos:pos + 4], struct.unpack("<I", body[pos + 4:pos + 8])[0]
            if not all(32 <= c < 127 for c in key):
                problem = f"an entry has no valid id ({key!r})"
            elif pos + 8 + size > len(body):
                problem = f"its {key.decode('ascii')} entry runs past the chunk's end"
        if problem is not None:
            if strict:
                raise MalformedInfo(f"its RIFF INFO chunk is malformed: {problem}")
            break
        entries.append((key, pos, pos + 8 + size + (size & 1)))
        pos = entries[-1][2]
    return entries


def _replace_list(f: IO[bytes], info: _Info, body: bytes) -> None:
    """Put a ``LIST`` chunk holding ``body`` where ``info``'s is, and correct the ``RIFF`` size field."""
    total = f.seek(0, os.SEEK_END)
    old_end = min(info.offset + 8 + len(info.body) + (len(info.body) & 1), total)  # a last list may lack its pad
    chunk = b"LIST" + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)
    f.seek(4)
    riff_size = struct.unpack("<I", f.read(4))[0]
    if riff_size != _UNKNOWN_SIZE:
        riff_size += len(chunk) - (old_end - info.offset)
        if not 0 <= riff_size < _UNKNOWN_SIZE:
            raise MalformedInfo("its RIFF size field is wrong")
    _splice(f, info.offset, old_end, chunk)
    f.seek(4)
    f.write(struct.pack("<I", riff_size))


def _splice(f: IO[bytes], start: int, end: int, data: bytes) -> None:
    """Replace the bytes ``start:end`` of the open file ``f`` by ``data``, moving what follows in blocks."""
    total = f.seek(0, os.SEEK_END)
    shift = len(data) - (end - start)
    if shift > 0:  # moved back from the end, so that no block lands on one not yet moved
        pos = total
        while pos > end:
            n = min(_BLOCK, pos - end)
            pos -= n
            f.seek(pos)
            block = f.read(n)
            f.seek(pos + shift)
            f.write(block)
    elif shift < 0:
        pos = end
        while pos < total:
            f.seek(pos)
            block = f.read(min(_BLOCK, total - pos))
            if not block:
                break
            f.seek(pos + shift)
            f.write(block)
            pos += len(block)
        f.truncate(total + shift)
    f.seek(start)
    f.write(data)
