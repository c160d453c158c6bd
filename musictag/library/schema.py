"""The library's tables: their columns, their creation, and the schema versions this musictag reads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from musictag.errors import UsageError

if TYPE_CHECKING:
    from sqlite_utils import Database

SCHEMA_VERSION = 4
#: ``meta`` key: bumped in the same transaction as every change to ``embeddings`` (the index compares it).
GENERATION_KEY = "index_generation"
#: The ``tracks`` table, every column with its type: the one place its shape is stated.
TRACK_COLUMNS: dict[str, type] = {
    "id": int, "path": str, "size": int, "mtime_ns": int, "quick_hash": str, "duration": float, "format": str,
    "status": str, "error": str, "model_id": str, "genre": str, "confidence": float, "analysed_at": str,
    "tag_state": str, "file_tags": str, "audio_hash": str,
}
#: Columns later schemas added (name -> SQL type), put into older libraries when they are opened to write.
_ADDED_COLUMNS = {"file_tags": "TEXT", "audio_hash": "TEXT"}


def create_schema(db: Database, path: Path) -> None:
    """Create what is missing of the tables, indexes and meta rows, and bring an older schema up to date."""
    if db.table_names() and not db["meta"].exists():
        raise UsageError(f"{path}: an SQLite database, but not a musictag library")
    with db.atomic():
        db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
        db["tracks"].create({name: kind for name, kind in TRACK_COLUMNS.items() if name not in _ADDED_COLUMNS},
                            pk="id", not_null={"path", "status"}, if_not_exists=True)
        db["tracks"].create_index(["path"], unique=True, if_not_exists=True)
        db["tracks"].create_index(["quick_hash"], if_not_exists=True)
        db["predictions"].create({"track_id": int, "genre": str, "score": float},
                                 pk=("track_id", "genre"), if_not_exists=True)
        db["embeddings"].create({"track_id": int, "dim": int, "vector": bytes}, pk="track_id",
                                if_not_exists=True)
        db["tag_backups"].create({
            "id": int, "track_id": int, "path": str, "field": str, "original": str, "written": str,
            "written_at": str,
        }, pk="id", if_not_exists=True)
        db["tag_backups"].create_index(["track_id"], if_not_exists=True)
        db["tag_backups"].create_index(["path"], if_not_exists=True)
        db["track_summaries"].create({
            "track_id": int, "backbone": str, "n_patches": int, "dim": int, "patches": bytes, "mean": bytes,
            "spread": bytes, "tags": bytes,
        }, pk="track_id", if_not_exists=True)
        for name, sql_type in _ADDED_COLUMNS.items():  # what later schemas added, also to older libraries
            if name not in db["tracks"].columns_dict:
                db.execute(f"ALTER TABLE tracks ADD COLUMN {name} {sql_type}")
        db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                   [str(SCHEMA_VERSION)])
        # schema 1 -> 2 added track_summaries, 2 -> 3 tracks.file_tags, 3 -> 4 tracks.audio_hash (NULL in the rows
        # already there: such a track is known by its size and mtime until analysed again), all made above
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version' AND value IN ('1', '2', '3')",
                   [str(SCHEMA_VERSION)])
        db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, '0')", [GENERATION_KEY])


def check_version(db: Database, path: Path) -> None:
    """Raise :class:`UsageError` unless ``db`` is a musictag library of a schema this version understands."""
    found = _meta(db, "schema_version") if db["meta"].exists() else None
    if found is not None and not found.isdigit():
        raise UsageError(f"{path}: not a musictag library (schema version {found!r}); give another --db")
    columns = set(db["tracks"].columns_dict) if db["tracks"].exists() else set()
    missing = sorted(set(TRACK_COLUMNS) - set(_ADDED_COLUMNS) - columns)
    if columns and missing:
        raise UsageError(f"{path}: its 'tracks' table is not musictag's (no column {', '.join(missing)}); "
                         "give another --db")
    if found is None:
        raise UsageError(f"{path}: an SQLite database, but not a musictag library (no schema version); "
                         "give another --db")
    if int(found) > SCHEMA_VERSION:
        raise UsageError(f"{path}: library schema version {found} is newer than this musictag "
                         f"understands ({SCHEMA_VERSION}); upgrade musictag")


def _meta(db: Database, key: str) -> str | None:
    rows = list(db.query("SELECT value FROM meta WHERE key = ?", [key]))
    return rows[0]["value"] if rows else None
