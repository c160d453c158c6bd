"""Whether a file is cut short, from its container alone: WAV, AIFF, Ogg (Vorbis, Opus, FLAC) and WMA.

libsndfile reads such files up to where they stop and reports that length as the track's, and FFmpeg
estimates a cut WMA's length from its size, so a cut file would pass as a short track; the container
still says how long it should be.
"""

from __future__ import annotations

import struct

from musictag.audio.containers import asf_data_object, asf_play_seconds, iff_chunks
from musictag.audio.formats import FORMATS
from musictag.audio.opened_file import OpenedFile
from musictag.timefmt import format_time

_HEAD = 1 << 16


def cut_short(opened: OpenedFile, fmt: str) -> str | None:
    """Why the file (of the format :func:`musictag.audio.sniff.sniff` found) is truncated, or None: a WAV or AIFF
    whose audio chunk is shorter than its header says, an Ogg stream whose last page is not marked as the
    end, a WMA whose data object runs past the end of the file."""
    check = FORMATS[fmt].truncation if fmt in FORMATS else None
    if check == "ogg":
        return _ogg_cut(opened.read_at(max(0, opened.size - _HEAD), _HEAD))
    head = opened.read_at(0, _HEAD)
    if check == "riff" and head[:4] == b"RIFF":  # RF64 and BW64 state their sizes elsewhere: not checked
        return _chunk_cut(opened, "<", b"data", 0)
    if check == "aiff":
        return _chunk_cut(opened, ">", b"SSND", 8)
    if check == "asf":
        return _asf_cut(opened)
    return None


def _asf_cut(opened: OpenedFile) -> str | None:
    """A WMA (ASF) file whose data object ends past the end of the file: 'truncated: ...', else None.

    FFmpeg estimates a cut ASF file's length from its size, so the decoder never notices.
    """
    found = asf_data_object(opened)
    if found is None:
        return None
    header_size, data_size = found
    available = opened.size - header_size
    if data_size < 50 or available >= data_size:  # 0 or tiny: size unknown (a broadcast stream)
        return None
    seconds = asf_play_seconds(opened, header_size)
    if seconds is not None:
        return (f"truncated: the audio stops at {format_time(seconds * available / data_size)} of "
                f"{format_time(seconds)}")
    return f"truncated: the file holds {100 * available / data_size:.0f}% of the audio its header announces"


def _chunk_cut(opened: OpenedFile, order: str, audio_id: bytes, skip: int) -> str | None:
    """A RIFF/IFF file whose audio chunk ends past the end of the file: 'truncated: ...', else None."""
    rate = 0
    for chunk, at, length in iff_chunks(opened, order):
        if chunk == b"fmt ":
            body = opened.read_at(at, 12)
            if len(body) == 12:
                rate = struct.unpack("<I", body[8:12])[0]  # WAV byte rate
        if chunk == b"COMM":  # AIFF: channels, frames, bits, 80-bit float rate
            body = opened.read_at(at, 18)
            if len(body) == 18:
                channels, _, bits = struct.unpack(">hIh", body[:8])
                exponent, mantissa = struct.unpack(">HQ", body[8:18])
                rate = int(channels * ((bits + 7) // 8) * mantissa * 2.0 ** ((exponent & 0x7FFF) - 16383 - 63))
        if chunk == audio_id:
            declared, available = length - skip, opened.size - (at + skip)
            if length in (0, 0xFFFFFFFF) or available >= declared:  # 0 / -1: length unknown (streamed)
                return None
            if rate:
                return (f"truncated: the audio stops at {format_time(available / rate)} of "
                        f"{format_time(declared / rate)}")
            return f"truncated: the file holds {100 * available / declared:.0f}% of the audio its header announces"
    return None


def _ogg_cut(tail: bytes) -> str | None:
    """An Ogg file whose last page is not an end-of-stream page: 'truncated: ...', else None."""
    last = tail.rfind(b"OggS")
    if last < 0 or len(tail) < last + 6:
        return "truncated: the file stops in the middle of an Ogg page"
    if tail[last + 5] & 0x04:  # header_type flag: end of stream
        return None
    return "truncated: the Ogg stream stops before its end (the file was cut)"
