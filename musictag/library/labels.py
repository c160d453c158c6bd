"""The user's own genres, from the tags already in their library: which genre a track is labelled
with, which spellings are one genre, and which spelling is written.

A track's label is the genre it carried that musictag did not write: the file's genre when
musictag never changed it (or the user edited it since), else the value backed up before
musictag's first write. Spellings are grouped by :func:`group_key` (case, spaces and punctuation
ignored, ``&`` read as ``and``; ID3v1 numbers read as their names); a multi-value genre is split on
``;``, ``/``, ``,`` and NUL and its first value is the label. The name written is the spelling
most tracks of the group use. :func:`genre_key` is :func:`group_key` with a few common other names of
the shipped model's genres (:data:`EQUIVALENT`: "Classical Music", "Country & Western") read as that genre:
what a scan and ``stats`` compare by.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from musictag.errors import UsageError
from musictag.library.history import original_genres, original_snapshot
from musictag.library.rows import TagBackup
from musictag.paths import display_path
from musictag.small_files import SmallFileError, read_document

_SEPARATORS = re.compile(r"[;/,\x00]")
_ID3V1 = re.compile(r"^\s*\((\d{1,3})\)\s*(.*)$|^\s*(\d{1,3})\s*$")


def id3v1_name(value: str) -> str:
    """An ID3v1 genre reference read as its name: ``(17)`` and ``17`` -> ``Rock``; ``(17)Text`` -> ``Text``."""
    from mutagen.id3 import TCON

    match = _ID3V1.match(value)
    if not match:
        return value
    number, text = match.group(1) or match.group(3), match.group(2)
    if text:
        return text
    return TCON.GENRES[int(number)] if int(number) < len(TCON.GENRES) else value


def split_values(values: Iterable[str]) -> list[str]:
    """Every genre in a genre field's values: split on ``;``, ``/``, ``,`` and NUL, ID3v1 numbers named."""
    out = []
    for value in values:
        for part in _SEPARATORS.split(value):
            name = id3v1_name(part.strip()).strip()
            if name:
                out.append(name)
    return out


def group_key(name: str) -> str:
    """What spellings of one genre share: ``Hip Hop``, ``Hip-Hop``, ``hiphop`` -> ``hiphop``."""
    text = unicodedata.normalize("NFKC", name).casefold().replace("&", "and")
    return "".join(ch for ch in text if ch.isalnum())


#: Other names of the shipped model's genres that mean that genre and nothing more or less, by
#: :func:`group_key`: "<genre> Music" for each of them, and "Country & Western" (also "Country and Western",
#: "Country-Western"). Kept short on purpose: "Rap" (ID3v1 15) is not "Hip-Hop" (7), "Heavy Metal",
#: "Electronica" and "Rock & Roll" are genres of their own; a ``--map`` file merges more.
EQUIVALENT: dict[str, str] = {
    **{f"{genre}music": genre for genre in ("blues", "classical", "country", "disco", "electronic", "hiphop",
                                            "jazz", "metal", "pop", "reggae", "rock")},
    "countryandwestern": "country", "countrywestern": "country",
}


def genre_key(name: str) -> str:
    """:func:`group_key`, the names in :data:`EQUIVALENT` read as their genre: ``Classical Music`` -> ``classical``."""
    key = group_key(name)
    return EQUIVALENT.get(key, key)


def spelling_counts(fields: Iterable[Sequence[str]]) -> dict[str, Counter]:
    """How often each spelling of each genre appears in ``fields`` (one genre field's values per track), by
    :func:`genre_key`: ``{"hiphop": Counter({"Hip Hop": 3, "Hip-Hop": 1})}``."""
    counts: dict[str, Counter] = {}
    for values in fields:
        for name in split_values(values):
            counts.setdefault(genre_key(name), Counter())[name] += 1
    return counts


def most_used(counts: Counter) -> str:
    """The spelling most tracks use (ties: the first in order)."""
    return min(counts, key=lambda s: (-counts[s], s))


def label_values(file_genres: Sequence[str], backups: Sequence[TagBackup]) -> list[str]:
    """The genre values a track carried that musictag did not write.

    ``file_genres``: the file's genre field as last read; ``backups``: its tag backups, oldest first.
    """
    if backups and list(file_genres) == list(backups[-1].written or []):  # the field holds our own write
        return original_genres(original_snapshot(list(backups)))
    return list(file_genres)


def read_map(path: Path) -> dict[str, str]:
    """A ``--map`` file: a JSON or TOML table of ``"from genre" = "to genre"``, keyed by :func:`group_key`."""
    try:
        table = read_document(path)
    except SmallFileError as e:
        raise UsageError(f"--map {display_path(path)}: {e}") from None
    if not isinstance(table, dict) or not all(isinstance(v, str) and v.strip() for v in table.values()):
        raise UsageError(f"--map {display_path(path)}: expected a table of \"from genre\" = \"to genre\" "
                         "(text to text)")
    return {group_key(k): v.strip() for k, v in table.items() if group_key(k)}


@dataclass
class LabelSet:
    """The genres learned from: names as written, each track's genre index, what was left out."""

    genres: list[str]  # the user's spelling of each genre, most tracks first
    labels: dict[int, int]  # track id -> index into genres
    spellings: dict[str, list[str]]  # genre -> every spelling grouped into it
    rare: list[tuple[str, int]] = field(default_factory=list)  # genres under --min-tracks, with their counts
    unlabelled: list[int] = field(default_factory=list)  # track ids without a genre of the user's


def build_labels(values: dict[int, list[str]], mapping: dict[str, str] | None = None,
                 min_tracks: int = 10) -> LabelSet:
    """Group each track's primary genre (the first of its values) into genres of at least ``min_tracks``."""
    mapping = mapping or {}
    primary: dict[int, str] = {}
    spellings: dict[str, Counter] = {}
    unlabelled = []
    for track_id, raw in values.items():
        names = split_values(raw)
        if not names:
            unlabelled.append(track_id)
            continue
        name = mapping.get(group_key(names[0]), names[0])
        key = group_key(name)
        if not key:
            unlabelled.append(track_id)
            continue
        primary[track_id] = key
        spellings.setdefault(key, Counter())[name] += 1
    written = {key: _preferred(counts, mapping, key) for key, counts in spellings.items()}
    sizes = Counter(primary.values())
    kept = sorted((k for k, n in sizes.items() if n >= min_tracks), key=lambda k: (-sizes[k], written[k]))
    rare = sorted(((written[k], n) for k, n in sizes.items() if n < min_tracks), key=lambda item: (-item[1], item[0]))
    index = {key: i for i, key in enumerate(kept)}
    return LabelSet(genres=[written[k] for k in kept],
                    labels={t: index[k] for t, k in primary.items() if k in index},
                    spellings={written[k]: sorted(spellings[k]) for k in kept}, rare=rare, unlabelled=unlabelled)


def _preferred(counts: Counter, mapping: dict[str, str], key: str) -> str:
    """The spelling to write: a --map target as given, else the one most tracks use (ties: first in order)."""
    targets = [v for v in mapping.values() if group_key(v) == key]
    if targets:
        return targets[0]
    return most_used(counts)
