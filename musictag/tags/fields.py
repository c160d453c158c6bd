"""Where each tag field lives, and reading the ones musictag reads without changing anything.

:data:`FIELDS` is the one table of where each kind of tag block keeps each field musictag reads (genre,
artist, title, album, album artist), and :data:`TAG_TYPES` says which kind each format has; formats are
named as :func:`musictag.audio.sniff.sniff` names them. A WAV file's RIFF INFO chunk
(:mod:`musictag.tags.riff_info`) answers where its ID3 tag is silent. Genre keys as models name them
become the names people write with :func:`display_name`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import mutagen

from musictag.audio.formats import FORMATS
from musictag.tags.riff_info import RIFF_INFO, info_fields

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
    """The genre name as people write it, printable (:func:`musictag.paths.printable`: a model trained on
    a user's tags names its genres as they were spelled there): ``hiphop`` -> ``Hip-Hop``, ``rock`` -> ``Rock``."""
    from musictag.paths import printable

    key = genre_key.strip()
    if key.lower() in DISPLAY_NAMES:
        return DISPLAY_NAMES[key.lower()]
    return printable(" ".join(word[:1].upper() + word[1:] for word in key.replace("_", " ").split()))


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
        info = info_fields(path)
        artist, title = artist or info.get(RIFF_INFO["artist"]), title or info.get(RIFF_INFO["title"])
    return artist, title or Path(os.fsdecode(path)).stem
