"""``musictag restore``: put back the genre fields that scans changed, from the library's tag backups.

It needs only the library (its ``tag_backups``) and the tags module: no model, no audio.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musictag.errors import TagError, UsageError
from musictag.hashing import quick_hash
from musictag.library.connection import default_db_path
from musictag.library.database import Library
from musictag.library.history import original_genres, original_snapshot, still_musictags
from musictag.paths import covers, display_path, key_to_path, path_to_key
from musictag.tags import tagfile as tags


@dataclass
class RestoreReport:
    """What ``musictag restore`` put back."""

    restored: list[dict[str, Any]] = field(default_factory=list)  # path, values
    changed: list[dict[str, Any]] = field(default_factory=list)  # path, values: edited since musictag wrote; kept
    errors: list[dict[str, str]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # given paths with no backups under them

    @property
    def exit_code(self) -> int:
        """0 when every file was restored, 1 when some could not be."""
        return 1 if self.errors else 0


def restore(paths: Sequence[str | os.PathLike] | None = None, db: str | os.PathLike | None = None,
            dry_run: bool = False, force: bool = False) -> RestoreReport:
    """Put back the genre fields that scans changed, for every file or only those under ``paths``.

    A field that no longer holds what musictag wrote (someone edited it since) is kept as it is and
    listed in ``changed``, unless ``force``. Raises :class:`UsageError` when the library does not
    exist, or a given path neither exists nor has backups.
    """
    report = RestoreReport()
    db_path = Path(db) if db is not None else default_db_path()
    if not db_path.is_file():
        raise UsageError(f"no library at {display_path(db_path)}: nothing was ever tagged there, nothing to restore")
    keys = None if not paths else [path_to_key(p) for p in paths]
    with Library(db_path, readonly=dry_run, lock=not dry_run) as library:
        backups = library.backups(keys)
        for key in keys or []:
            if not any(covers(key, k) for k in backups):
                if not os.path.lexists(key_to_path(key)):
                    raise UsageError(f"no such file or folder: {display_path(key_to_path(key))}")
                report.unmatched.append(display_path(key_to_path(key)))
        for key, entries in sorted(backups.items()):
            path = key_to_path(key)
            snapshot = original_snapshot(entries)
            values = original_genres(snapshot)
            if not os.path.lexists(path):
                report.errors.append({"path": display_path(path), "reason": "file not found: moved or deleted since "
                                      "it was tagged; run `musictag scan` on its new folder first, then restore"})
                continue
            try:
                tag_file = tags.TagFile(path)
                current = tag_file.label_fields()["genres"]  # as the scan reads it: a WAV's INFO genre too
            except TagError as e:
                report.errors.append({"path": display_path(path), "reason": e.reason})
                continue
            if not force and not still_musictags(entries, current):
                report.changed.append({"path": display_path(path), "values": current})
                continue
            if not dry_run:
                try:
                    tag_file.restore(snapshot)
                except TagError as e:
                    report.errors.append({"path": display_path(path), "reason": e.reason})
                    continue
                with library.transaction():
                    library.delete_backups(entry.id for entry in entries)
                    values_after = {"tag_state": "restored", "error": None}
                    with contextlib.suppress(OSError):
                        st = os.stat(path)
                        values_after.update(size=st.st_size, mtime_ns=st.st_mtime_ns, quick_hash=quick_hash(path))
                    library.update_track_at(key, **values_after)
            report.restored.append({"path": display_path(path), "values": values})
    return report
