"""Where a file's audio lies apart from its tags, and a fingerprint of that audio alone: :func:`audio_hash`.

A tag editor (Picard, beets, musictag itself) rewrites a file's tags and often moves its audio: the
file's size, modification time and :func:`~musictag.hashing.quick_hash` change, its audio does not.
The audio payload, per kind (:attr:`Format.payload <musictag.audio.formats.Format.payload>` in the one table
of formats), is:

- ``mpeg`` (MP3, AAC in ADTS): what lies after an ID3v2 tag and before an APEv2 and an ID3v1 tag at the end;
- ``flac``: the frames after the metadata blocks (and before such tags at the end);
- ``riff``, ``aiff``: the content of the ``data`` / ``SSND`` chunk;
- ``mp4``: the content of the ``mdat`` atoms (mutagen moves them when ``moov`` grows: their content is
  hashed, never their offsets);
- ``ogg`` (Vorbis, Opus, FLAC in Ogg): the pages from the first audio page on, each page's sequence number
  and CRC read as zeros (mutagen renumbers every page after the comment packet it rewrote);
- ``asf`` (WMA): the packets of the ASF Data Object.

A format without a kind, or a container whose structure is not found, has no payload (None): its files are
known by their size and modification time only, as before. Everything reads through an
:class:`~musictag.audio.opened_file.OpenedFile` (a few ``pread`` calls, no decoding).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from musictag.audio.containers import (
    asf_data_object,
    flac_frames_start,
    id3v2_size,
    iff_chunks,
    mp4_atoms,
    ogg_after_packets,
    ogg_page,
    trailing_tags_size,
)
from musictag.audio.formats import FORMATS
from musictag.audio.opened_file import OpenedFile, open_file
from musictag.hashing import content_hash

_OGG_LEAD = 26  # bytes before a read that may hold the start of a page header whose fields reach into it


@dataclass(frozen=True)
class Payload:
    """A file's audio payload: its spans in the file, in order, read as one run of bytes."""

    spans: tuple[tuple[int, int], ...]  # (offset, length)
    ogg: bool = False  # one span of Ogg pages, read with each page's sequence number and CRC as zeros

    @property
    def length(self) -> int:
        """The payload's length in bytes."""
        return sum(length for _, length in self.spans)

    def reader(self, opened: OpenedFile) -> Callable[[int, int], bytes]:
        """``read_at(offset, n)`` over the payload of ``opened`` (``offset`` counted from its start)."""
        if self.ogg:
            start = self.spans[0][0]
            return lambda offset, n: _ogg_masked(opened, start, offset, n)
        return lambda offset, n: _read_spans(opened, self.spans, offset, n)


def audio_payload(opened: OpenedFile, fmt: str) -> Payload | None:
    """The audio payload of ``opened``, a file of the format :func:`~musictag.audio.sniff.sniff` found, or None
    when the format has none musictag knows or its container does not show where it is."""
    kind = FORMATS[fmt].payload if fmt in FORMATS else None
    spans = _FINDERS[kind](opened) if kind else None
    if not spans:
        return None
    payload = Payload(tuple(spans), ogg=kind == "ogg")
    return payload if payload.length > 0 else None


def audio_hash(opened: OpenedFile, fmt: str) -> str | None:
    """:func:`~musictag.hashing.content_hash` (the length and three 64 KiB samples) of the audio payload of
    ``opened`` alone: what a tag edit leaves as it was; None where there is no payload (see the module)."""
    payload = audio_payload(opened, fmt)
    return None if payload is None else content_hash(payload.length, payload.reader(opened))


def file_hashes(path: str | os.PathLike) -> tuple[str, str | None]:
    """The quick hash and the audio hash of the file at ``path``, from one opening, without decoding.

    Raises :class:`~musictag.errors.DecodeError` (not a readable regular file, not audio) or ``OSError``.
    """
    from musictag.audio.sniff import sniff

    with open_file(path) as opened:
        return opened.quick_hash(), audio_hash(opened, sniff(opened))


def _read_spans(opened: OpenedFile, spans: tuple[tuple[int, int], ...], offset: int, n: int) -> bytes:
    parts = []
    for start, length in spans:
        if offset >= length:
            offset -= length
            continue
        take = min(n, length - offset)
        parts.append(opened.read_at(start + offset, take))
        n, offset = n - take, 0
        if n <= 0:
            break
    return b"".join(parts)


def _ogg_masked(opened: OpenedFile, start: int, offset: int, n: int) -> bytes:
    """``n`` bytes of the Ogg pages from ``start`` on, from ``offset``, with every page header's sequence number
    and CRC (bytes 18 to 25) zeroed; a few bytes before are read too, for a header that starts before the read."""
    lead = min(offset, _OGG_LEAD)
    data = bytearray(opened.read_at(start + offset - lead, n + lead))
    at = data.find(b"OggS")
    while at >= 0:
        field = data[at + 18:at + 26]
        data[at + 18:at + 26] = bytes(len(field))
        at = data.find(b"OggS", at + 1)
    return bytes(data[lead:])


def _mpeg_spans(opened: OpenedFile) -> list[tuple[int, int]]:
    start = id3v2_size(opened.read_at(0, 10))
    return [(start, opened.size - trailing_tags_size(opened) - start)]


def _flac_spans(opened: OpenedFile) -> list[tuple[int, int]] | None:
    start = flac_frames_start(opened, id3v2_size(opened.read_at(0, 10)))
    return None if start is None else [(start, opened.size - trailing_tags_size(opened) - start)]


def _chunk_spans(order: str, audio_id: bytes) -> Callable[[OpenedFile], list[tuple[int, int]] | None]:
    def spans(opened: OpenedFile) -> list[tuple[int, int]] | None:
        for chunk, at, length in iff_chunks(opened, order):
            if chunk == audio_id:  # 0 / -1: its length unknown (streamed, RF64): no payload
                return None if length in (0, 0xFFFFFFFF) else [(at, min(length, opened.size - at))]
        return None
    return spans


def _mp4_spans(opened: OpenedFile) -> list[tuple[int, int]]:
    return [(at, length) for kind, at, length in mp4_atoms(opened) if kind == b"mdat"]


def _ogg_spans(opened: OpenedFile) -> list[tuple[int, int]] | None:
    page = ogg_page(opened, 0)
    if page is None:
        return None
    first = opened.read_at(27 + len(page[1]), 9)  # the stream's first packet: which codec's headers follow
    if first[:7] == b"\x01vorbis":
        count = 3  # identification, comment, setup
    elif first[:8] == b"OpusHead":
        count = 2  # OpusHead, OpusTags
    elif first[:5] == b"\x7fFLAC" and len(first) == 9 and int.from_bytes(first[7:9], "big"):
        count = 1 + int.from_bytes(first[7:9], "big")  # the mapping header, then the metadata blocks
    else:
        return None
    start = ogg_after_packets(opened, count)
    return None if start is None else [(start, opened.size - start)]


def _asf_spans(opened: OpenedFile) -> list[tuple[int, int]] | None:
    found = asf_data_object(opened)
    if found is None or found[1] < 50:  # 0 or tiny: its size unknown (a broadcast stream)
        return None
    at, size = found
    return [(at + 50, min(size, opened.size - at) - 50)]  # after the object's own header: the packets


#: Each :attr:`Format.payload <musictag.audio.formats.Format.payload>` kind: its spans in a file, or None.
_FINDERS: dict[str, Callable[[OpenedFile], list[tuple[int, int]] | None]] = {
    "mpeg": _mpeg_spans, "flac": _flac_spans, "riff": _chunk_spans("<", b"data"), "aiff": _chunk_spans(">", b"SSND"),
    "mp4": _mp4_spans, "ogg": _ogg_spans, "asf": _asf_spans,
}
