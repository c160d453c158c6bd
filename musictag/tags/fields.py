"""Where each tag field lives, and reading the ones musictag reads without changing anything.

:data:`FIELDS` is the one table of where each kind of tag block keeps each field musictag reads (genre,
artist, title, album, album artist), and :data:`TAG_TYPES` says which kind each format has; formats are
named as :func:`musictag.audio.sniff.sniff` names them. A WAV file's RIFF INFO chunk (:func:`riff_info`)
answers where its ID3 tag is silent. Genre keys as models name them become the names people write with
:func:`display_name`.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import mutagen

from musictag.audio.formats import FORMATS

#: format -> the kind of tag block it carries (ID3v2 frames, Vorbis comments, MP4 atoms, ASF attributes),
#: from the one format table.
TAG_TYPES: dict[str, str] = {f.name: f.tag_kind for f in FORMATS.values() if f.tag_kind}
#: field -> kind of tag block -> its keys there, the usual one first.
FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "genre": {"id3": ("TCON",), "vorbis": ("GENRE",), "mp4": ("\xa9gen",), "asf": ("WM/Genre",)},
    "artist": {"id3": ("TPE1",), "vorbis": ("artist",), "mp4": ("\xa9ART",), "asf": ("Author",)},
    "title": {"id3": ("TIT2",), "vorbis": ("title",), "mp4": ("\xa9nam",), "asf": ("Title",)},
    "album": {"id3": ("TALB",), "vorbis": ("album",), "mp4": ("\xa9alb",), "asf": ("WM/AlbumTitle",)},
    "albumartist": {"id3": ("TPE2",), "vorbis": ("albumartist", "album artist"), "mp4": ("aART",),
                    "asf": ("WM/AlbumArtist",)},
}
#: format -> the one tag field that holds its genre (what a backup records as its ``field``).
GENRE_FIELDS: dict[str, str] = {fmt: FIELDS["genre"][kind][0] for fmt, kind in TAG_TYPES.items()}
#: A WAV file's RIFF INFO ids of the same fields (what Windows and many rippers write).
RIFF_INFO = {"genre": "IGNR", "artist": "IART", "title": "INAM", "album": "IPRD"}

#: genre keys (as models name them) -> the name people write; other keys are title-cased.
DISPLAY_NAMES: dict[str, str] = {
    "hiphop": "Hip-Hop",
    "rnb": "R&B",
    "edm": "EDM",
    "dnb": "Drum & Bass",
    "kpop": "K-Pop",
    "jpop": "J-Pop",
    "lofi": "Lo-Fi",
}


def display_name(genre_key: str) -> str:
    """The genre name as people write it: ``hiphop`` -> ``Hip-Hop``, ``rock`` -> ``Rock``."""
    key = genre_key.strip()
    if key.lower() in DISPLAY_NAMES:
        return DISPLAY_NAMES[key.lower()]
    return " ".join(word[:1].upper() + word[1:] for word in key.replace("_", " ").split())


def any_keys(field: str) -> tuple[str, ...]:
    """Every key that ``field`` has in any kind of tag block (for a block whose kind is not known)."""
    return tuple(key for keys in FIELDS[field].values() for key in keys)


def first_text(tags: Any, keys: tuple[str, ...]) -> str | None:
    """The text of the first of ``keys`` present in a mutagen tag block (values joined with ", "), or None."""
    for key in keys:
        try:
            value = tags[key]
        except (KeyError, ValueError, TypeError):
            continue
        texts = getattr(value, "text", value)  # ID3 frames carry a .text list
        if isinstance(texts, str | bytes):
            texts = [texts]
        joined = ", ".join(str(t).strip() for t in texts if str(t).strip())
        if joined:
            return joined
    return None


def artist_title(path: str | os.PathLike) -> tuple[str | None, str]:
    """``(artist, title)`` from the file's tags (any format mutagen reads, APE tags included); no
    artist and the file name stem when untagged. A WAV file's RIFF INFO answers where its ID3 tag is silent."""
    artist = title = None
    try:
        audio = mutagen.File(path)
    except (mutagen.MutagenError, OSError, ValueError):
        audio = None
    if audio is not None and audio.tags is not None:
        artist, title = first_text(audio.tags, any_keys("artist")), first_text(audio.tags, any_keys("title"))
    if not (artist and title):
        info = riff_info(path)
        artist, title = artist or info.get(RIFF_INFO["artist"]), title or info.get(RIFF_INFO["title"])
    return artist, title or Path(os.fsdecode(path)).stem


def riff_info(path: str | os.PathLike) -> dict[str, str]:
    """The text fields of a WAV file's ``LIST``/``INFO`` chunk (``IART``, ``INAM``, ``IGNR``, ...); {} if none."""
    out: dict[str, str] = {}
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return out
            for _ in range(1000):  # chunks, each skipped by its size (the audio is never read)
                chunk = f.read(8)
                if len(chunk) < 8:
                    break
                size = struct.unpack("<I", chunk[4:])[0]
                if chunk[:4] == b"LIST" and size <= 1 << 20:
                    body = f.read(size)
                    if body[:4] == b"INFO":
                        out.update(_info_fields(body[4:]))
                else:
                    f.seek(size, os.SEEK_CUR)
                if size & 1:
                    f.seek(1, os.SEEK_CUR)
    except (OSError, struct.error):
        return out
    return out


def _info_fields(body: bytes) -> dict[str, str]:
    """Sub-chunks of an INFO list: four-letter id -> text (UTF-8, else Latin-1; NULs dropped)."""
    fields, pos = {}, 0
    while pos + 8 <= len(body):
        key, size = body[pos:pos + 4], struct.unpack("<I", body[pos + 4:pos + 8])[0]
        raw = body[pos + 8:pos + 8 + size].split(b"\x00", 1)[0]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        if text.strip() and key.isalnum():
            fields[key.decode("ascii")] = text.strip()
        pos += 8 + size + (size & 1)
    return fields
