"""A file's tag backups read as a history (oldest first): what musictag last wrote, and what the field
held before musictag's writes. Plain data: the scan, ``restore`` and the labels of ``train --from-library``
all read it, and none of them needs another.
"""

from __future__ import annotations

from typing import Any

from musictag.library.rows import TagBackup
from musictag.tags.riff_info import entry_text, recorded_genre


def original_snapshot(backups: list[TagBackup]) -> dict[str, Any]:
    """The genre field as it was before musictag's writes, from one file's backups (oldest first).

    Walking back from the newest backup, an older one is followed while the newer one's saved
    value is exactly what the older write put there (musictag's own earlier write); a value that
    someone else set in between is where it stops.
    """
    chosen = backups[-1]
    for earlier in reversed(backups[:-1]):
        values = chosen.original.get("values") or []
        if not chosen.original.get("present") or earlier.written is None or \
                "; ".join(values) != "; ".join(earlier.written):
            break
        chosen = earlier
    return chosen.original


def original_genres(snapshot: dict[str, Any]) -> list[str]:
    """The genres a backup's snapshot says the file held, read as :meth:`TagFile.label_fields
    <musictag.tags.tagfile.TagFile.label_fields>` reads a file: the genre field's values, then a WAV
    file's INFO genre where it is another (the only one, where the field was absent)."""
    values = list(snapshot.get("values") or []) if snapshot.get("present") else []
    try:
        payload = recorded_genre(snapshot["riff_info"]) if snapshot.get("riff_info") is not None else None
    except ValueError:
        payload = None
    info = entry_text(payload) if payload is not None else ""
    if info and info != "; ".join(v.strip() for v in values):
        values.append(info)
    return values


def _written_last(entries: list[TagBackup]) -> list[str]:
    """The genres musictag's newest write put into the file (oldest-first backups of one file)."""
    return list(entries[-1].written or [])


def still_musictags(entries: list[TagBackup], values: list[str]) -> bool:
    """Whether a genre field holding ``values`` still holds exactly what musictag's newest write put there
    (oldest-first backups of one file): nobody edited it since, so musictag may change or take it back."""
    return bool(entries) and "; ".join(values) == "; ".join(_written_last(entries))
