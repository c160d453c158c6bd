"""A cheap content check: which audio container a file's first bytes announce, if any.

Decoders are lenient (mpg123 finds "MP3 frames" in random bytes), so the scan first checks that a
file starts the way its format says, and reports a clear reason when it does not.
"""

from __future__ import annotations

from musictag.audio.containers import id3v2_size
from musictag.audio.formats import by_magic
from musictag.audio.opened_file import OpenedFile
from musictag.errors import NotAudio

_MPEG_SEARCH = 1 << 12  # bytes searched for the first MPEG frame (after any ID3v2 tag)
_HEAD = _MPEG_SEARCH + (1 << 12)  # room for the frame after it (the longest is 2,881 bytes)

# MPEG audio: bitrates (kbit/s) by [version is MPEG-1][layer], sample rates by version bits.
_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def sniff(opened: OpenedFile) -> str:
    """The container the content announces: ``wav``, ``aiff``, ``flac``, ``ogg``, ``opus``, ``mp3``,
    ``aac``, ``m4a``, ``wma``, ``au``, ``wv``, ``ape`` or ``caf``.

    Raises :class:`NotAudio` when it is none of them, ``OSError`` when the file cannot be read.
    """
    head = opened.read_at(0, _HEAD)
    tag = id3v2_size(head)
    if tag:  # ID3v2 tag first (mp3, sometimes flac or aac)
        head = opened.read_at(tag, _HEAD)
        found = _container(head) or _mpeg(head)
        if found:
            return found
        raise NotAudio(opened.path, "not an audio file: an ID3 tag followed by no audio frames")
    found = _container(head) or _mpeg(head)
    if found:
        return found
    raise NotAudio(opened.path, _describe(head))


def _container(h: bytes) -> str | None:
    """The format whose signature in :data:`~musictag.audio.formats.FORMATS` ``h`` starts with (an Ogg stream
    whose first page is Opus's: ``opus``), else ``aac`` for an ADTS frame header, else None."""
    found = by_magic(h)
    if found == "ogg" and b"OpusHead" in h[:512]:
        return "opus"
    if found:
        return found
    if len(h) >= 2 and h[0] == 0xFF and h[1] & 0xF6 == 0xF0:  # ADTS: sync, layer 00
        return "aac"
    return None


def _frame_length(h: bytes, i: int) -> int | None:
    """Length of the MPEG audio frame whose header starts at ``h[i]``, None if it is no header."""
    if i + 4 > len(h) or h[i] != 0xFF or h[i + 1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (h[i + 1] >> 3) & 3, (h[i + 1] >> 1) & 3
    bitrate_index, rate_index, padding = h[i + 2] >> 4, (h[i + 2] >> 2) & 3, (h[i + 2] >> 1) & 1
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    layer = 4 - layer_bits
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    rate = _RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    return (144 if mpeg1 or layer == 2 else 72) * bitrate // rate + padding


def _mpeg(h: bytes) -> str | None:
    """``mp3`` when two consecutive MPEG audio frames start within the first bytes of ``h``."""
    for i in range(min(len(h) - 4, _MPEG_SEARCH)):
        length = _frame_length(h, i)
        if length and _frame_length(h, i + length):
            return "mp3"
    return None


def _describe(head: bytes) -> str:
    if not head:
        return "empty file (0 bytes)"
    if not head.strip(b"\0"):
        return "not an audio file: only zero bytes"
    text = head.decode("utf-8", "replace")
    if sum(c != "\ufffd" and (c.isprintable() or c in "\r\n\t") for c in text) >= 0.95 * len(text):
        return "not an audio file: it holds text"
    return "not an audio file: its content matches no audio format"
