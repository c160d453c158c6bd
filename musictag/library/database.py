"""The music library: one SQLite file (WAL mode) that ``musictag scan`` keeps in step with the folders.

Tables (created with sqlite-utils; during a scan its main process is their only writer):

- ``tracks``: ``id``, ``path`` (unique, a *path key*, see below), ``size``, ``mtime_ns``,
  ``quick_hash`` (indexed, :func:`quick_hash`), ``duration``, ``format``, ``status`` (``'ok'``,
  ``'silent'`` or ``'failed'``), ``error`` (why it failed; for an ``'ok'`` track, why its tag could
  not be written), ``model_id``, ``genre`` (the model's top genre key, e.g. ``"hiphop"``),
  ``confidence`` (its score), ``analysed_at`` (ISO 8601, UTC) and ``tag_state`` (what the scan did
  to the genre tag: ``'written'``, ``'kept'``, ``'uncertain'`` (``'unfamiliar'``, ``'short'``: uncertain for those
  reasons, :data:`musictag.library.rows.UNSURE_WHY`), ``'unsupported'``, ``'failed'``,
  ``'restored'``, ``'outside'`` (reached through a link out of the scanned folders: not written),
  or NULL when nothing was decided yet), and (schema 3) ``file_tags``: JSON of what the file's own
  tags said when the scan last read them, before any write of its own (``genres``, ``album``,
  ``artist``; see :func:`musictag.tags.tagfile.read_label_fields`), NULL when never read: what
  ``musictag train --from-library`` learns the user's genres from, and (schema 4) ``audio_hash``: the file's
  audio alone, its tags left out (:func:`musictag.audio.payload.audio_hash`; NULL for a format without one,
  and in the rows of an older library until analysed again): a file whose size or mtime changed but whose
  audio hash did not had its tags edited, and is not analysed again.
- ``predictions``: ``track_id``, ``genre``, ``score``; primary key ``(track_id, genre)``.
- ``embeddings``: ``track_id`` (primary key), ``dim``, ``vector`` (float32 bytes, L2-normalised).
- ``track_summaries`` (schema 2): ``track_id`` (primary key), ``backbone`` (the backbone id the
  analysis ran on), ``n_patches``, ``dim``, ``patches`` (float16 bytes, ``n_patches x dim``), ``mean``
  and ``spread`` (float32 bytes), ``tags`` (float32 bytes, the backbone's mean tag probabilities):
  what a new head of the same backbone needs to re-score the track without decoding it
  (:class:`musictag.analysis.track_summary.TrackSummary`).
- ``tag_backups``: ``id``, ``track_id`` (NULL once the track is pruned: a backup outlives the analysis, and a
  file that comes back to its path finds it again), ``path``, ``field``, ``original`` (JSON of
  :meth:`musictag.tags.tagfile.TagFile.snapshot` taken just before a write), ``written`` (JSON list of the genres
  written), ``written_at``.
- ``meta``: ``key``, ``value``; ``schema_version``, and ``index_generation``, an integer bumped in
  the same transaction as every change to ``embeddings``.

Path keys (the ``path`` columns) and quick hashes: :mod:`musictag.paths`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musictag.errors import UsageError
from musictag.library.connection import (
    acquire_lock,
    connect_readonly,
    database_problem,
    default_db_path,
    identify,
    library_file,
    writable,
)
from musictag.library.rows import TRACK_COLUMNS, FileFacts, LearningRow, TagBackup, TrackRow
from musictag.library.schema import GENERATION_KEY, check_version, create_schema
from musictag.paths import covers, now_iso, path_to_key, printable

if TYPE_CHECKING:
    import numpy as np
    from sqlite_utils import Database

    from musictag.analysis.track_summary import TrackSummary

class Library:
    """An open library database.

    ``Library(path)`` opens (and creates, with its folder) the DB at ``path`` or
    :func:`default_db_path`, through the one real file behind that name (links resolved; a file with
    two hard links is refused). A file that exists must be a musictag library, found so before
    anything is changed or created beside it. With ``readonly`` it must exist and is opened read-only.
    With ``lock`` it also takes the library's writer lock (``<db>.lock`` beside the real file, released
    when closed or when the process dies), raising :class:`LibraryBusy` when another scan or restore holds it.
    """

    #: The library this process opened last: named when a database error reaches the command line.
    last_opened: Path | None = None

    def __init__(self, path: str | os.PathLike | None = None, *, readonly: bool = False,
                 lock: bool = False) -> None:
        from sqlite_utils import Database

        self.path = Path(path) if path is not None else default_db_path()
        Library.last_opened = self.path
        self._lock_file = None
        self.readonly = readonly
        self.real = real = library_file(self.path)  # the one file behind every name of the library
        if readonly and not real.is_file():
            raise UsageError(f"no library at {self.path}: run musictag scan first")
        if not readonly:
            try:
                real.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise UsageError(f"cannot create the library folder {real.parent}: {e.strerror}") from None
        if lock and not real.exists():  # nothing there yet that could be another program's: lock, then create
            self._lock_file = acquire_lock(real, self.path)
        try:
            if real.exists():  # read-only, before a lock file or WAL: another program's file is left as it was
                identify(real, self.path)
            if lock and self._lock_file is None:
                self._lock_file = acquire_lock(real, self.path)
            #: Whether this open made the database file (a new library).
            self.created = not readonly and not real.exists()
            conn = connect_readonly(real) if readonly else sqlite3.connect(real)
            conn.execute("PRAGMA busy_timeout = 30000")
            self.db: Database = Database(conn)
            if not readonly:
                self.db.enable_wal()
                self.db.execute("PRAGMA synchronous = NORMAL")
                create_schema(self.db, self.path)
            check_version(self.db, self.path)
            if lock:  # a writer checks the pages it is about to change
                self.check_integrity()
        except sqlite3.DatabaseError as e:
            self.close()
            raise UsageError(database_problem(self.path, e)) from None
        except BaseException:
            self.close()
            raise

    def check_integrity(self) -> None:
        """Raise :class:`UsageError` when SQLite's ``quick_check`` finds damaged pages (a linear read of the file)."""
        try:
            found = self.db.execute("PRAGMA quick_check(1)").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise UsageError(database_problem(self.path, e)) from None
        if found != "ok":
            raise UsageError(database_problem(self.path, sqlite3.DatabaseError(f"database disk image is malformed: "
                                                                               f"{printable(found)}")))

    def close(self) -> None:
        """Close the connection and release the writer lock."""
        with contextlib.suppress(AttributeError, sqlite3.Error):
            self.db.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def open_existing(cls, path: str | os.PathLike | None = None, need_tracks: bool = True) -> Library:
        """Open an existing library (never create one): read-only where it cannot be written (a read-only
        share stays searchable). With ``need_tracks`` it must hold analysed tracks; else :class:`UsageError`."""
        db_path = Path(path) if path else Path(default_db_path())
        real = library_file(db_path)
        library = cls(db_path, readonly=not real.is_file() or not writable(real))
        if need_tracks and library.embedding_count() == 0:
            library.close()
            raise UsageError(f"the library at {db_path} holds no analysed tracks: run musictag scan first")
        return library

    def index_path(self) -> Path:
        """Where the Annoy index of this library lives: the real DB file's path with the suffix ``.annoy`` (one
        index whatever name the library was opened by)."""
        return self.real.with_suffix(".annoy")

    # --- reading ---------------------------------------------------------------------------

    def meta_get(self, key: str, default: str | None = None) -> str | None:
        """The ``meta`` value of ``key`` (text), or ``default``."""
        rows = list(self.db.query("SELECT value FROM meta WHERE key = ?", [key]))
        return rows[0]["value"] if rows and rows[0]["value"] is not None else default

    def meta_set(self, key: str, value: Any) -> None:
        """Set the ``meta`` value of ``key`` (stored as text; ``None`` stores NULL)."""
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                        "value = excluded.value", [key, None if value is None else str(value)])

    def _track_rows(self, where: str = "", params: Iterable[Any] = (), order: str = "t.id") -> Iterator[TrackRow]:
        """:class:`TrackRow` of the ``tracks`` rows (``t``) that ``where`` picks, with their summaries' backbone."""
        backbone = ("(SELECT backbone FROM track_summaries WHERE track_id = t.id)"
                    if self.db["track_summaries"].exists() else "NULL")  # a schema-1 library, read-only
        for row in self.db.query(f"SELECT t.*, {backbone} AS summary_backbone FROM tracks t "
                                 f"{'WHERE ' + where if where else ''} ORDER BY {order}", list(params)):
            yield TrackRow.from_sql(row)

    def track_by_path(self, path: str | bytes | os.PathLike) -> TrackRow | None:
        """The track of the file at ``path``, or None."""
        return next(self._track_rows("t.path = ?", [path_to_key(path)]), None)

    def track_id(self, path_key: str) -> int | None:
        """The id of the track row whose path key is ``path_key``, or None."""
        row = self.db.execute("SELECT id FROM tracks WHERE path = ?", [path_key]).fetchone()
        return int(row[0]) if row else None

    def track_by_hash(self, quick_hash: str) -> TrackRow | None:
        """A track (the oldest) whose file has this quick hash, or None."""
        return next(self._track_rows("t.quick_hash = ?", [quick_hash]), None)

    def tracks(self, by_path: bool = False) -> Iterator[TrackRow]:
        """Every track, by id (or by path)."""
        return self._track_rows(order="t.path" if by_path else "t.id")

    def scan_state(self) -> dict[str, TrackRow]:
        """What a scan compares the folders with: every track, by path key."""
        return {row.path: row for row in self._track_rows()}

    def ids_with_hash(self, quick_hash: str) -> set[int]:
        """The ids of every track whose file has this quick hash (copies of the same content)."""
        return {int(r["id"]) for r in self.db.query("SELECT id FROM tracks WHERE quick_hash = ?", [quick_hash])}

    def genres(self) -> list[str]:
        """The predicted genre keys that tracks of the library have, sorted."""
        return [r["genre"] for r in self.db.query(
            "SELECT DISTINCT genre FROM tracks WHERE genre IS NOT NULL ORDER BY genre")]

    def model_ids(self) -> set[str]:
        """The ids of the models the library's tracks were analysed with."""
        return {r["model_id"] for r in self.db.query(
            "SELECT DISTINCT model_id FROM tracks WHERE model_id IS NOT NULL")}

    def analysed_tracks(self, track_ids: list[int]) -> dict[int, TrackRow]:
        """Those of ``track_ids`` that are analysed (``ok``), by id."""
        out: dict[int, TrackRow] = {}
        for start in range(0, len(track_ids), 500):
            chunk = track_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            out.update((row.id, row) for row in self._track_rows(f"t.status = 'ok' AND t.id IN ({marks})", chunk))
        return out

    def learning_rows(self) -> list[LearningRow]:
        """Every analysed (``ok``) track, by path, with what learning from the library reads: its own tags
        and its stored summary (None when it has none)."""
        from musictag.analysis.track_summary import TrackSummary

        rows = self.db.query(
            "SELECT t.id, t.path, t.file_tags, s.backbone, s.n_patches, s.dim, s.patches, s.tags "
            "FROM tracks t LEFT JOIN track_summaries s ON s.track_id = t.id WHERE t.status = 'ok' ORDER BY t.path")
        return [LearningRow(int(r["id"]), r["path"], json.loads(r["file_tags"]) if r["file_tags"] else None,
                            r["backbone"], TrackSummary.from_row(r) if r["backbone"] else None) for r in rows]

    def embedding_count(self) -> int:
        """How many tracks have a stored embedding."""
        return self.db["embeddings"].count

    def predictions(self, track_id: int) -> dict[str, float]:
        """The stored genre scores of a track (empty when it has none)."""
        return {r["genre"]: r["score"] for r in
                self.db.query("SELECT genre, score FROM predictions WHERE track_id = ?", [track_id])}

    def embedding(self, track_id: int) -> np.ndarray | None:
        """The stored embedding of a track (float32, L2-normalised), or None."""
        import numpy as np

        rows = list(self.db.query("SELECT vector FROM embeddings WHERE track_id = ?", [track_id]))
        return np.frombuffer(rows[0]["vector"], np.float32).copy() if rows else None

    def all_embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        """Track ids (int64) and their embeddings as one float32 matrix, ordered by track id.

        Only embeddings of the most common size are returned: a library part-way through moving to a
        model with another embedding size (an interrupted rescan) still has one searchable space.
        """
        import numpy as np

        ids, vectors = [], []
        for track_id, blob in self.db.execute(
                "SELECT track_id, vector FROM embeddings WHERE dim = (SELECT dim FROM embeddings GROUP BY dim "
                "ORDER BY COUNT(*) DESC, dim DESC LIMIT 1) ORDER BY track_id"):
            ids.append(track_id)
            vectors.append(np.frombuffer(blob, np.float32))
        if not vectors:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        return np.asarray(ids, np.int64), np.stack(vectors).astype(np.float32, copy=False)

    def summary(self, track_id: int) -> TrackSummary | None:
        """The stored backbone summary of a track, or None."""
        from musictag.analysis.track_summary import TrackSummary

        rows = list(self.db.query("SELECT * FROM track_summaries WHERE track_id = ?", [track_id]))
        return TrackSummary.from_row(rows[0]) if rows else None

    def style_tags(self, track_id: int) -> tuple[str, np.ndarray] | None:
        """The backbone id and mean style-tag scores stored for a track (None: no summary kept)."""
        import numpy as np

        if not self.db["track_summaries"].exists():
            return None
        rows = list(self.db.query("SELECT backbone, tags FROM track_summaries WHERE track_id = ?", [track_id]))
        if not rows or rows[0]["tags"] is None:
            return None
        return rows[0]["backbone"], np.frombuffer(rows[0]["tags"], "<f4").astype(np.float32)

    def problems(self) -> list[TrackRow]:
        """Tracks whose analysis failed or whose tag could not be written, by path."""
        return list(self._track_rows("t.error IS NOT NULL", order="t.path"))

    def backups(self, keys: Iterable[str] | None = None) -> dict[str, list[TagBackup]]:
        """Tag backups by path key, oldest first; only those under ``keys`` (files or folders) if given."""
        wanted = None if keys is None else list(keys)
        out: dict[str, list[TagBackup]] = {}
        for row in self.db.query("SELECT * FROM tag_backups ORDER BY id"):
            if wanted is None or any(covers(k, row["path"]) for k in wanted):
                out.setdefault(row["path"], []).append(TagBackup.from_sql(row))
        return out

    def backups_at(self, path_key: str) -> list[TagBackup]:
        """The tag backups of the file at ``path_key``, oldest first."""
        return [TagBackup.from_sql(row) for row in
                self.db.query("SELECT * FROM tag_backups WHERE path = ? ORDER BY id", [path_key])]

    # --- writing ---------------------------------------------------------------------------

    def transaction(self) -> contextlib.AbstractContextManager:
        """A transaction: everything inside commits together or not at all."""
        return self.db.atomic()

    def _save_track(self, row: dict[str, Any], scores: dict[str, float] | None = None,
                    embedding: bytes | None = None, summary: dict[str, Any] | None = None) -> int:
        """Insert or update (by path) a track row with its predictions, embedding and summary; return its id.
        Predictions, embedding and summary are replaced by the ones given (none: deleted)."""
        existing = list(self.db.query("SELECT id FROM tracks WHERE path = ?", [row["path"]]))
        with self.transaction():
            if existing:
                track_id = existing[0]["id"]
                self.db["tracks"].update(track_id, row)
            else:
                track_id = self.db["tracks"].insert(row).last_pk
                # a file that comes back (pruned, ignored) finds the backups of musictag's writes to it
                self.db.execute("UPDATE tag_backups SET track_id = ? WHERE path = ? AND track_id IS NULL",
                                [track_id, row["path"]])
            self.db.execute("DELETE FROM predictions WHERE track_id = ?", [track_id])
            if scores:
                self.db["predictions"].insert_all(
                    {"track_id": track_id, "genre": g, "score": float(s)} for g, s in scores.items())
            had = self.db.execute("DELETE FROM embeddings WHERE track_id = ?", [track_id]).rowcount
            if embedding is not None:
                self.db["embeddings"].insert({"track_id": track_id, "dim": len(embedding) // 4,
                                              "vector": embedding})
            if had or embedding is not None:
                self._bump_generation()
            self.db.execute("DELETE FROM track_summaries WHERE track_id = ?", [track_id])
            if summary is not None:
                self.db["track_summaries"].insert({"track_id": track_id, **summary})
        return int(track_id)

    def save_analysis(self, path_key: str, file: FileFacts, *, model_id: str | None, status: str,
                      scores: dict[str, float] | None = None, embedding: bytes | None = None,
                      summary: dict[str, Any] | None = None) -> int:
        """Store one analysed file (``status`` ``ok`` or ``silent``) and return its track id.

        The best of ``scores`` becomes the track's ``genre`` and ``confidence``; the tag decision and any
        old error are cleared. Scores, ``embedding`` (float32 bytes) and ``summary`` (the backbone
        summary: ``TrackSummary.to_row()`` plus ``backbone``) replace the stored ones (none: deleted).
        """
        best = max(scores, key=scores.__getitem__) if scores else None
        row = {**self._file_columns(path_key, file), "model_id": model_id, "status": status, "error": None,
               "genre": best, "confidence": scores[best] if best else None, "tag_state": None}
        return self._save_track(row, scores, embedding, summary)

    def save_failure(self, path_key: str, reason: str, file: FileFacts | None = None, *,
                     model_id: str | None) -> int:
        """Store a file that could not be analysed (status ``failed``, ``error`` ``reason``); its scores,
        embedding and summary go. ``file`` as for :meth:`save_analysis`, what is known; ``model_id``
        None means no model judged it (the next scan tries again)."""
        row = {**self._file_columns(path_key, file or FileFacts()), "model_id": model_id, "status": "failed",
               "error": reason, "genre": None, "confidence": None, "tag_state": None}
        return self._save_track(row)

    @staticmethod
    def _file_columns(path_key: str, file: FileFacts) -> dict[str, Any]:
        return {"path": path_key, "size": file.size, "mtime_ns": file.mtime_ns, "quick_hash": file.quick_hash,
                "duration": file.duration, "format": file.format, "audio_hash": file.audio_hash,
                "analysed_at": now_iso()}

    def save_scores(self, track_id: int, scores: dict[str, float], **values: Any) -> None:
        """Replace a track's predictions (a re-score: embedding and summary stay) and set some columns."""
        with self.transaction():
            self.db.execute("DELETE FROM predictions WHERE track_id = ?", [track_id])
            self.db["predictions"].insert_all(
                {"track_id": track_id, "genre": g, "score": float(s)} for g, s in scores.items())
            self.update_track(track_id, **values)

    def update_track(self, track_id: int, **values: Any) -> None:
        """Change some columns of a track row (a row that is gone is left gone)."""
        self._update("id", track_id, values)

    def update_track_at(self, path_key: str, **values: Any) -> None:
        """:meth:`update_track` of the row whose path key is ``path_key`` (a row that is gone is left gone)."""
        self._update("path", path_key, values)

    def _update(self, key_column: str, key: Any, values: dict[str, Any]) -> None:
        unknown = set(values) - TRACK_COLUMNS
        if unknown:
            raise ValueError(f"not columns of tracks: {sorted(unknown)}")
        if values:
            columns = ", ".join(f"[{name}] = ?" for name in values)
            self.db.execute(f"UPDATE tracks SET {columns} WHERE {key_column} = ?", [*values.values(), key])

    def move_track(self, track_id: int, new_path_key: str, **values: Any) -> None:
        """Give a track (and its tag backups) a new path; the embedding stays, keyed by id."""
        with self.transaction():
            self.db["tracks"].update(track_id, {"path": new_path_key, **values})
            self.db.execute("UPDATE tag_backups SET path = ? WHERE track_id = ?", [new_path_key, track_id])

    def delete_tracks(self, track_ids: Iterable[int]) -> int:
        """Delete tracks with their predictions, embeddings and summaries; return how many. Their tag backups
        stay (under their path, no longer naming a track): what was in the file before musictag wrote it
        outlives the analysis, for ``restore`` and for the file's return."""
        ids = list(track_ids)
        if not ids:
            return 0
        with self.transaction():
            gone = 0
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for table in ("predictions", "track_summaries"):
                    self.db.execute(f"DELETE FROM {table} WHERE track_id IN ({marks})", chunk)
                self.db.execute(f"UPDATE tag_backups SET track_id = NULL WHERE track_id IN ({marks})", chunk)
                gone += self.db.execute(f"DELETE FROM embeddings WHERE track_id IN ({marks})", chunk).rowcount
                self.db.execute(f"DELETE FROM tracks WHERE id IN ({marks})", chunk)
            if gone:
                self._bump_generation()
        return len(ids)

    def add_backup(self, track_id: int, path_key: str, snapshot: dict[str, Any], written: list[str]) -> int:
        """Store a file's genre field as it was, before a write of ``written``; return the backup id."""
        return int(self.db["tag_backups"].insert({
            "track_id": track_id, "path": path_key, "field": snapshot["field"],
            "original": json.dumps(snapshot), "written": json.dumps(written), "written_at": now_iso(),
        }).last_pk)

    def delete_backups(self, backup_ids: Iterable[int]) -> None:
        """Forget tag backups (after a restore, or a write that did not happen)."""
        for backup_id in backup_ids:
            self.db.execute("DELETE FROM tag_backups WHERE id = ?", [backup_id])

    def _bump_generation(self) -> None:
        self.db.execute("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = ?",
                        [GENERATION_KEY])

