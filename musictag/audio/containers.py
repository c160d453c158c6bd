"""Where the parts of an audio container lie in its file: one parser per container, read by position.

The content sniff (:mod:`musictag.audio.sniff`), the truncation check (:mod:`musictag.audio.truncation`) and
the audio payload (:mod:`musictag.audio.payload`) all read a container's structure through these, so each
container is parsed one way. Every walk stops at the end of the file, at a part that does not fit, or
after :data:`MAX_PARTS` parts (a real file has a handful of chunks or atoms; a hostile one is not walked
for ever).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from musictag.audio.opened_file import OpenedFile

#: Chunks, atoms, metadata blocks or Ogg pages walked at most in one file.
MAX_PARTS = 1 << 14
ASF_DATA = bytes.fromhex("3626b2758e66cf11a6d900aa0062ce6c")


def id3v2_size(head: bytes) -> int:
    """The length of the ID3v2 tag that ``head`` (a file's first bytes) starts with, header and footer
    included; 0 when it starts with none."""
    if head[:3] != b"ID3" or len(head) < 10:
        return 0
    size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
    return 10 + size + (10 if head[5] & 0x10 else 0)


def trailing_tags_size(opened: OpenedFile) -> int:
    """How many bytes at the end of the file an ID3v1 tag and an APEv2 tag (before it) take; 0 without either."""
    end = opened.size
    if end >= 128 and opened.read_at(end - 128, 3) == b"TAG":
        end -= 128
    if end >= 32:
        footer = opened.read_at(end - 32, 32)
        if footer[:8] == b"APETAGEX" and len(footer) == 32:
            size, _, flags = struct.unpack("<III", footer[12:24])  # size: the items and the footer
            end = max(0, end - size - (32 if flags & 0x80000000 else 0))  # bit 31: a header as well
    return opened.size - end


def iff_chunks(opened: OpenedFile, order: str) -> Iterator[tuple[bytes, int, int]]:
    """The top-level chunks of a RIFF (``order`` ``"<"``) or AIFF (``">"``) file after its 12-byte header:
    ``(id, offset of its data, declared length)`` in file order (a length may run past the end of the file)."""
    pos = 12
    for _ in range(MAX_PARTS):
        header = opened.read_at(pos, 8)
        if len(header) < 8:
            return
        length = struct.unpack(order + "I", header[4:])[0]
        yield header[:4], pos + 8, length
        pos += 8 + length + (length & 1)


def asf_data_object(opened: OpenedFile) -> tuple[int, int] | None:
    """``(offset, declared size)`` of a WMA (ASF) file's Data Object, which follows its Header Object (the
    size counts the object's 50-byte header, 0 or tiny where unknown: a broadcast stream); None when it is not there."""
    header_size = struct.unpack("<Q", opened.read_at(16, 8).ljust(8, b"\0"))[0]
    found = opened.read_at(header_size, 50)
    if len(found) < 50 or found[:16] != ASF_DATA:
        return None
    return header_size, struct.unpack("<Q", found[16:24])[0]


#: The ASF File Properties Object, which states the play duration.
ASF_FILE_PROPERTIES = bytes.fromhex("a1dcab8c47a9cf118ee400c00c205365")


def asf_play_seconds(opened: OpenedFile, header_size: int | None = None) -> float | None:
    """A WMA (ASF) file's length as its File Properties Object states it (play duration less the preroll),
    or None where it is not stated. FFmpeg estimates the length from the file's size instead, which a
    large cover picture in the header makes too long."""
    if header_size is None:
        found = asf_data_object(opened)
        if found is None:
            return None
        header_size = found[0]
    head = opened.read_at(0, min(header_size, 1 << 20))
    props = head.find(ASF_FILE_PROPERTIES, 30)
    if props < 0 or props + 88 > len(head):
        return None
    play, _, preroll = struct.unpack("<QQQ", head[props + 64:props + 88])  # 100 ns units, send duration, ms
    seconds = play / 1e7 - preroll / 1e3
    return seconds if seconds > 0 else None


def mp4_atoms(opened: OpenedFile) -> Iterator[tuple[bytes, int, int]]:
    """The top-level atoms (boxes) of an MP4 file: ``(type, offset of its content, its content's length)``, a
    length that runs past the end of the file cut to it."""
    pos = 0
    for _ in range(MAX_PARTS):
        header = opened.read_at(pos, 16)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header[:8])
        start = pos + 8
        if size == 1:  # a 64-bit size follows the type
            if len(header) < 16:
                return
            size, start = struct.unpack(">Q", header[8:16])[0], pos + 16
        elif size == 0:  # to the end of the file
            size = opened.size - pos
        if size < start - pos:
            return
        yield kind, start, min(pos + size, opened.size) - start
        pos += size


def flac_frames_start(opened: OpenedFile, at: int) -> int | None:
    """Where the audio frames of the FLAC stream at ``at`` (its ``fLaC``) begin: after its last metadata
    block; None when that is not a FLAC stream or its blocks run past the end of the file."""
    if opened.read_at(at, 4) != b"fLaC":
        return None
    pos = at + 4
    for _ in range(MAX_PARTS):
        header = opened.read_at(pos, 4)
        if len(header) < 4:
            return None
        pos += 4 + int.from_bytes(header[1:4], "big")
        if header[0] & 0x80:  # the last metadata block
            return pos if pos <= opened.size else None
    return None


def ogg_page(opened: OpenedFile, pos: int) -> tuple[int, bytes] | None:
    """The Ogg page at ``pos``: its whole length (header, segment table, packets) and its segment table; None
    where no whole page header starts there."""
    header = opened.read_at(pos, 27)
    if len(header) < 27 or header[:4] != b"OggS":
        return None
    table = opened.read_at(pos + 27, header[26])
    if len(table) < header[26]:
        return None
    return 27 + len(table) + sum(table), table


def ogg_after_packets(opened: OpenedFile, count: int) -> int | None:
    """Where the first page after the one that ends the Ogg stream's first ``count`` packets begins (its
    header packets: the audio starts on a page of its own); None when the pages stop first."""
    pos, done = 0, 0
    for _ in range(MAX_PARTS):
        page = ogg_page(opened, pos)
        if page is None:
            return None
        length, table = page
        done += sum(1 for lacing in table if lacing < 255)  # a lacing value under 255 ends a packet
        pos += length
        if done >= count:
            return pos if pos < opened.size else None
    return None
