"""Every audio format musictag knows, in one table: how the walk, the content sniff, the decoder choice, the
truncation check, the audio payload and the tag writer each see it.

A format is named as :func:`musictag.audio.sniff.sniff` names it. To add one, add a row here (and its
mutagen class in :mod:`musictag.tags.tagfile` when its genre is written, a check in
:mod:`musictag.audio.truncation` when its container states its length, a finder in
:mod:`musictag.audio.payload` for where its audio lies apart from its tags).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


@dataclass(frozen=True)
class Format:
    """One audio format."""

    name: str
    #: Name endings the walk takes for audio (lower case).
    extensions: tuple[str, ...]
    #: Signatures by content, any one of which names the format: each a tuple of ``(offset, bytes)`` that must
    #: all match. Empty: found otherwise (MPEG and ADTS frame headers; Opus inside an Ogg stream).
    magic: tuple[tuple[tuple[int, bytes], ...], ...]
    #: ``sndfile``: libsndfile decodes it (FFmpeg where libsndfile refuses the file); ``ffmpeg``: FFmpeg.
    decoder: Literal["sndfile", "ffmpeg"]
    #: The kind of tag block musictag writes its genre in (``id3``, ``vorbis``, ``mp4``, ``asf``); None: none.
    tag_kind: str | None = None
    #: How the container states the audio's length, checked against the file's size
    #: (:func:`musictag.audio.truncation.cut_short`): ``riff``, ``aiff``, ``ogg``, ``asf``; None: not checked.
    truncation: str | None = None
    #: Where its audio lies apart from its tags (:func:`musictag.audio.payload.audio_payload`): ``mpeg`` (between
    #: an ID3v2 tag and ID3v1 / APEv2 tags), ``flac``, ``riff``, ``aiff``, ``mp4``, ``ogg``, ``asf``; None:
    #: unknown (a file of the format counts any change of size or mtime as a change of its audio).
    payload: str | None = None


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("wav", (".wav", ".wave"), (((0, b"RIFF"), (8, b"WAVE")), ((0, b"RF64"), (8, b"WAVE")),
                                      ((0, b"BW64"), (8, b"WAVE"))), "sndfile", "id3", "riff", "riff"),
    Format("aiff", (".aif", ".aiff", ".aifc"), (((0, b"FORM"), (8, b"AIFF")), ((0, b"FORM"), (8, b"AIFC"))),
           "sndfile", "id3", "aiff", "aiff"),
    Format("flac", (".flac",), (((0, b"fLaC"),),), "sndfile", "vorbis", payload="flac"),
    Format("ogg", (".ogg", ".oga"), (((0, b"OggS"),),), "sndfile", "vorbis", "ogg", "ogg"),
    Format("opus", (".opus",), (), "sndfile", "vorbis", "ogg", "ogg"),  # an Ogg stream whose first page is OpusHead
    Format("m4a", (".m4a", ".mp4", ".alac"), (((4, b"ftyp"),),), "ffmpeg", "mp4", payload="mp4"),
    Format("wma", (".wma", ".asf"), (((0, _ASF_GUID),),), "ffmpeg", "asf", "asf", "asf"),
    Format("au", (".au", ".snd"), (((0, b".snd"),),), "sndfile"),
    Format("wv", (".wv",), (((0, b"wvpk"),),), "ffmpeg"),
    Format("ape", (".ape",), (((0, b"MAC "),),), "ffmpeg"),
    Format("caf", (), (((0, b"caff"),),), "sndfile"),  # known by content only
    Format("mp3", (".mp3",), (), "ffmpeg", "id3", payload="mpeg"),  # two consecutive MPEG audio frame headers
    Format("aac", (".aac",), (), "ffmpeg", payload="mpeg"),  # an ADTS frame header
)}

#: Every name ending the library walk treats as audio.
AUDIO_EXTENSIONS = frozenset(ext for f in FORMATS.values() for ext in f.extensions)


def by_magic(head: bytes) -> str | None:
    """The format whose signature ``head`` (a file's first bytes) starts with, or None."""
    for f in FORMATS.values():
        if any(all(head[at:at + len(b)] == b for at, b in signature) for signature in f.magic):
            return f.name
    return None
