"""``musictag scan``: keep the library in step with the folders, analyse what changed, tag genres.

One scan: find the audio files under the given folders; compare each with its library row (same size and mtime,
analysed by this model: skipped without decoding; same size and mtime, analysed by another head on the same
backbone: *re-scored* from the stored patch embeddings, without decoding; another size or mtime, the same audio
hash: tags edited, tagged again from the stored scores; the same quick hash as a row whose file is gone: a move,
the row follows; a row whose file was not found: pruned); analyse the rest in a process pool
(:mod:`musictag.scan.pool`); store each result and write its genre tag from the main process, the library's only
writer; rebuild the Annoy index when embeddings changed. Interrupted (Ctrl-C, SIGTERM), it commits what finished
and stops; killed, it loses at most the files in flight and the last uncommitted batch, and the next scan resumes.

Tags: by default only an empty genre field is filled; ``overwrite`` replaces one that does not name the genres
already. The ``top_k`` best genres whose score reaches ``min_confidence`` are written (none, or a track too
short: *uncertain*, left untagged), in the library's own spelling. The field's old value is stored in
``tag_backups`` and committed before every write, so :func:`restore` can always put it back.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from musictag.cores import usable_cpus
from musictag.errors import TagError, UsageError
from musictag.hashing import quick_hash
from musictag.library.connection import default_db_path
from musictag.library.database import Library
from musictag.library.history import original_genres, original_snapshot, still_musictags
from musictag.library.rows import UNSURE_WHY, FileFacts, TagBackup, TrackRow
from musictag.paths import display_path, key_to_path, path_fields
from musictag.scan.discover import Found, find_audio, remove_leftover_copies, stat_failure
from musictag.scan.plan import PlanRules, Task, plan
from musictag.scan.report import DEFAULT_MIN_CONFIDENCE, Progress, ScanOptions, ScanReport, TagChange
from musictag.scan.spelling import Spelling, library_spelling
from musictag.scan.tag_decision import decide_overwrite, genre_choice
from musictag.tags import fields as tag_fields
from musictag.tags import tagfile as tags

if TYPE_CHECKING:
    from musictag.scan.outcome import Outcome

_BATCH_ROWS = 64
_BATCH_SECONDS = 2.0

#: ``meta`` key: the model folder the library was last scanned with by an explicit ``--model``.
MODEL_KEY = "model_dir"


def remembered_model(db_path: Path) -> Path | None:
    """The model folder that the library at ``db_path`` was last scanned with (``--model``), or None.

    Raises :class:`UsageError` when that folder is no longer a usable model.
    """
    if not db_path.is_file():
        return None
    with Library(db_path, readonly=True) as library:
        folder = library.meta_get(MODEL_KEY)
    if folder is None:
        return None
    if not (Path(folder) / "model.json").is_file():
        raise UsageError(f"this library was last scanned with the model at {display_path(folder)}, which is gone; "
                         "give --model DIR (or --model default for the shipped model)")
    return Path(folder)


def scan(roots: Sequence[str | os.PathLike], db: str | os.PathLike | None = None,
         options: ScanOptions | None = None, progress: Progress | None = None,
         should_stop: Callable[[], bool] = lambda: False) -> ScanReport:
    """Scan ``roots`` into the library at ``db`` (default: :func:`musictag.library.connection.default_db_path`).

    Raises :class:`~musictag.errors.UsageError` for a bad model or root, and
    :class:`~musictag.library.connection.LibraryBusy` when another scan holds the library.
    """
    options = options or ScanOptions()
    if options.min_confidence is not None and not 0.0 <= options.min_confidence <= 1.0:
        raise UsageError(f"--min-confidence must be between 0 and 1, not {options.min_confidence}")
    if options.top_k < 1:
        raise UsageError(f"--top-k must be at least 1, not {options.top_k}")
    for root in roots:
        if not os.path.lexists(root):
            raise UsageError(f"no such file or folder: {display_path(root)}")
    if options.cluster is not None:
        from musictag.scan.cluster import local_workers, require_dask

        local_workers(options.cluster)
        require_dask()
    return _Scan(roots, db, options, progress or (lambda *a: None), should_stop).run()


class _Scan:
    """The state of one scan run (see :func:`scan`)."""

    def __init__(self, roots: Sequence[str | os.PathLike], db: str | os.PathLike | None, options: ScanOptions,
                 progress: Progress, should_stop: Callable[[], bool]) -> None:
        from musictag.analysis.models import ModelInfo

        self.roots, self.options, self.progress, self.should_stop = roots, options, progress, should_stop
        self.started = time.perf_counter()
        db_path = Path(db) if db is not None else None
        remembered = None if options.model_dir is not None else remembered_model(db_path or default_db_path())
        try:
            model = ModelInfo.read(remembered or options.model_dir)
        except UsageError as e:
            if remembered is None:
                raise
            raise UsageError(f"this library was last scanned with the model at {display_path(remembered)}, which "
                             f"cannot be used now ({e}); give --model DIR (or --model default for the shipped "
                             "model)") from None
        # the workers get the folder itself: they may come from a fork server started with another environment
        self.model_dir, self.model_id, self.genres = os.fspath(model.dir), model.model_id, list(model.genres)
        self.model, self.familiarity = model, model.familiarity
        self.backbone_id = model.backbone.backbone_id if model.backbone else None
        self.min_confidence = options.min_confidence
        if self.min_confidence is None:
            self.min_confidence = model.meta.get("recommended_min_confidence") or DEFAULT_MIN_CONFIDENCE
        self.report = ScanReport(dry_run=options.dry_run, model_id=self.model_id, min_confidence=self.min_confidence,
                                 model_name=model.dir.name, model_remembered=remembered is not None)
        self.spelling = Spelling.for_model(model, options.genre_map)  # the library's own spellings: once planned
        self.library: Library | None = None
        if options.dry_run:
            if (db_path or default_db_path()).is_file():
                self.library = Library(db_path, readonly=True)
        else:
            self.library = Library(db_path, lock=True)
        self.report.db = str(self.library.path) if self.library else None
        self.report.db_created = bool(self.library and self.library.created)
        self.pending: list[Callable[[], None]] = []
        self.last_flush = time.monotonic()
        self.real_roots: list[str] | None = None  # the scanned folders, links resolved (see _inside_roots)

    # --- the steps ---------------------------------------------------------------------------

    def run(self) -> ScanReport:
        """Plan, apply moves and prunes, analyse, re-tag, finish."""
        try:
            self.progress("finding", 0, 0)
            found = find_audio(self.roots)
            if not self.options.dry_run:
                self.report.cleaned = remove_leftover_copies(found.leftovers)
            analyse, rescore, retag = self._plan(found)
            for step, todo in ((self._rescore, rescore), (self._analyse, analyse), (self._retag, retag)):
                if not self.should_stop():
                    step(todo)
            self._flush()
            self.report.interrupted = self.should_stop()
            if self.library and not self.options.dry_run and self.options.model_dir is not None:
                self._remember_model()
            if self.library and not self.options.dry_run and not self.report.interrupted:
                from musictag.library import index

                if not index.status(self.library).fresh:  # embeddings changed, or an earlier scan was stopped
                    index.rebuild(self.library)
        finally:
            with contextlib.suppress(Exception):
                self._flush()
            if self.library:
                self.library.close()
        self.report.seconds = round(time.perf_counter() - self.started, 3)
        return self.report

    def _remember_model(self) -> None:
        """Keep the model given with --model as this library's, for the next plain scan (the shipped one: forget)."""
        from musictag.analysis.models import default_model_dir

        chosen = Path(self.model_dir).resolve()
        with self.library.transaction():
            self.library.meta_set(MODEL_KEY, None if chosen == default_model_dir().resolve() else str(chosen))

    def _plan(self, found: Found) -> tuple[list[Task], list[TrackRow], list[TrackRow]]:
        """Apply :func:`~musictag.scan.plan.plan`: count, record the files that cannot be read, move and prune
        rows. Returns the files to analyse, the rows to re-score and the unchanged rows to tag again."""
        report, rows = self.report, (self.library.scan_state() if self.library else {})
        report.found = len(found.files)
        for folder, reason in found.unreadable:
            report.fail(folder, reason)
        decided = plan(found, rows, PlanRules.for_scan(self.model_id, self.backbone_id, self.min_confidence,
                                                       self.options))
        for key, path in decided.unstatable:
            self._record_failure(key, path, stat_failure(path))
        for key, path, st in decided.broken_links:  # recorded with the link's identity: known while unchanged
            self._record_failure(key, path, stat_failure(path), FileFacts(st.st_size, st.st_mtime_ns))
        report.skipped += decided.skipped
        report.known_failures += decided.known_failures
        report.tags_edited += len(decided.retouched)
        for row in decided.retouched:  # the same audio, its tags edited: the row follows the file's new stat
            self._queue(lambda r=row: self.library.update_track(r.id, size=r.size, mtime_ns=r.mtime_ns,
                                                                quick_hash=r.quick_hash))
        for move in decided.moves:
            self._move(move.row, move.key, move.path, move.st)
        self._prune(decided.prune)
        self._flush()
        if self.options.write_tags:  # the library's own spelling of each genre, read before the first write
            self.spelling = library_spelling(self.spelling, rows, decided, self.library, self.progress)
            report.spellings = self.spelling.renamed(self.genres)
        return decided.analyse, decided.rescore, decided.retag

    def _move(self, row: TrackRow, key: str, path: str, st: os.stat_result) -> None:
        """Count a track found under a new name, and queue its row's move there."""
        self.report.moved += 1
        self.report.moves.append({"from": display_path(key_to_path(row.path)), "to": display_path(path)})
        self._queue(lambda: self.library.move_track(row.id, key, size=st.st_size, mtime_ns=st.st_mtime_ns))

    def _prune(self, rows: list[TrackRow]) -> None:
        """Count and queue the removal of the rows whose files are gone."""
        self.report.pruned += len(rows)
        self.report.pruned_paths.extend(display_path(key_to_path(r.path)) for r in rows)
        if rows:
            ids = [r.id for r in rows]
            self._queue(lambda: self.library.delete_tracks(ids))

    # --- analysis ----------------------------------------------------------------------------

    def _rescore(self, rows: list[TrackRow]) -> None:
        """Give unchanged tracks this model's genres from their stored backbone summaries (no decoding)."""
        if not rows or self.library is None:
            return
        from musictag.analysis.heads import load_head

        head = load_head(self.model.meta["head"], self.model.dir / "head.npz")
        for done, row in enumerate(rows, 1):
            if self.should_stop():
                return
            summary = self.library.summary(row.id)
            if summary is None:  # gone since the plan (another process): analyse it next time
                continue
            scores = dict(zip(self.genres, (float(p) for p in head.track_probabilities(summary.sequence)),
                              strict=True))
            best = max(scores, key=scores.__getitem__)
            self.report.rescored += 1
            values = {"model_id": self.model_id, "genre": best, "confidence": scores[best],
                      "size": row.size, "mtime_ns": row.mtime_ns, "tag_state": None, "error": None}
            self._queue(lambda row=row, scores=scores, values=values:
                        self.library.save_scores(row.id, scores, **values))
            self._tag(row.path, key_to_path(row.path), row.format, scores, summary.embedding(), row.duration)
            self.progress("re-scoring", done, len(rows))
            self._maybe_flush()

    def _analyse(self, tasks: list[tuple[str, str, os.stat_result]]) -> None:
        if not tasks:
            return
        from musictag.scan.pool import Pool, PoolDied

        stats = {key: (path, st) for key, path, st in tasks}
        self.progress("starting", 0, len(tasks))
        if self.options.cluster is not None:
            from musictag.scan.cluster import Cluster

            probe = next((path for _, path, _ in tasks if os.path.isfile(path)), None)  # each worker must see it
            engine: Any = Cluster(self.options.cluster, self.model_dir, model_id=self.model_id, probe_path=probe)
        else:
            engine = Pool(self.model_dir, max(1, min(self.options.jobs or usable_cpus(), len(tasks))),
                          model_id=self.model_id, librosa_progress=None if self.model.kind == "head" else self.progress)
        with engine as pool:
            pool.start()
            if pool.runtime:
                self.report.runtime = f"{pool.runtime['runtime']} {pool.runtime['precision']}"
                self.report.runtime_note = pool.runtime.get("note")
            self.progress("analysing", 0, len(tasks))
            results = pool.imap([(k, p) for k, p, _ in tasks], self.should_stop)
            try:
                for done, (key, outcome) in enumerate(results, 1):
                    path, st = stats[key]
                    self.report.worker_peak_rss = max(self.report.worker_peak_rss, outcome.peak_rss)
                    self._store(key, path, st, outcome)
                    self.progress("analysing", done, len(tasks))
                    self._maybe_flush()
            except PoolDied as e:  # what finished is kept; the rest waits for the next scan
                self.report.pool_died = str(e)
                self.report.not_analysed = e.not_started

    def _store(self, key: str, path: str, st: os.stat_result, outcome: Outcome) -> None:
        """Record one analysed file; tag it when it is confidently classified."""
        report = self.report
        file = FileFacts(st.st_size, st.st_mtime_ns, outcome.quick_hash, outcome.duration, outcome.format,
                         outcome.audio_hash)
        if outcome.error:  # transient: no model's verdict on this file, so the next scan tries it again
            self._record_failure(key, path, outcome.error, file, judged=not outcome.transient)
            return
        report.analysed += 1
        scores = summary = embedding = None  # digital silence: nothing to classify, store or tag
        if outcome.silent:
            report.silent += 1
            report.silent_tracks.append(display_path(path))
        else:
            scores = dict(zip(self.genres, outcome.scores, strict=True))
            summary = dict(outcome.summary, backbone=self.backbone_id) if outcome.summary else None
            embedding = outcome.embedding
        self._queue(lambda: self.library.save_analysis(
            key, file, model_id=self.model_id, status="silent" if outcome.silent else "ok", scores=scores,
            embedding=embedding, summary=summary))
        if scores is not None:
            import numpy as np

            self._tag(key, path, outcome.format, scores, np.frombuffer(embedding, np.float32) if embedding else None,
                      outcome.duration)

    def _record_failure(self, key: str, path: str, reason: str, file: FileFacts | None = None,
                        judged: bool = True) -> None:
        self.report.fail(path, reason)
        self._queue(lambda m=judged and self.model_id or None: self.library.save_failure(key, reason, file, model_id=m))

    def _queue(self, write: Callable[[], Any]) -> None:
        """Queue a library write for the next batch commit (none in a dry run)."""
        if self.library is not None and not self.options.dry_run:
            self.pending.append(write)

    # --- tags --------------------------------------------------------------------------------

    def _retag(self, rows: list[TrackRow]) -> None:
        for done, row in enumerate(rows, 1):
            if self.should_stop():
                return
            scores = self.library.predictions(row.id) if self.library else {}
            if scores:
                self._tag(row.path, key_to_path(row.path), row.format, scores, self.library.embedding(row.id),
                          row.duration)
            self.progress("tagging", done, len(rows))
            self._maybe_flush()

    def _tag(self, key: str, path: str, fmt: str | None, scores: dict[str, float], embedding: Any = None,
             duration: float | None = None) -> None:
        """Decide and write the genre tag of an analysed track (``key`` its path key, ``path`` its path as
        found, ``fmt`` the format its sniff found; ``embedding`` its unit embedding, which tells whether it is
        like anything the model learned from; ``duration`` its length: a short track is never tagged). What becomes
        of the file's genre is :func:`~musictag.scan.tag_decision.decide_overwrite`'s rule, the names
        :mod:`musictag.scan.spelling`'s.
        """
        report, options = self.report, self.options
        if fmt not in tag_fields.GENRE_FIELDS:
            report.untaggable += 1
            return self._set_tag_state(key, "unsupported")
        try:  # parsed once for the labels, the backup and the write
            tag_file = tags.TagFile(path, fmt)
            fields = tag_file.label_fields()  # before any write of ours: what a library-learned model learns from
        except TagError as e:
            report.fail(path, e.reason)
            return self._set_tag_state(key, "failed", e.reason)
        current, file_tags = fields["genres"], json.dumps(fields)
        if not options.write_tags:
            report.not_written += 1
            return self._set_tag_state(key, None, file_tags=file_tags)
        if not self._inside_roots(path):
            report.outside += 1
            return self._set_tag_state(key, "outside", file_tags=file_tags)
        familiar = self.familiarity is None or embedding is None or self.familiarity.familiar(embedding)
        chosen, unsure = genre_choice(scores, self.min_confidence, options.top_k, familiar, duration)
        history = self.library.backups_at(key) if current and self.library is not None else []
        ours = still_musictags(history, current)
        wanted = self.spelling.names(chosen, [] if ours else current)
        decision = decide_overwrite(current, wanted, ours, options.overwrite, self.spelling.holds)
        try:
            if decision.action == "withdraw":
                return self._withdraw(key, tag_file, history, fields, unsure)
            if decision.action == "uncertain":
                return self._uncertain(key, path, scores, unsure, file_tags)
            if decision.action == "keep":  # musictag's own write still in place (e.g. a scan killed after it) is tagged
                report.tagged += decision.state == "written"
                report.kept += decision.state == "kept"
                return self._set_tag_state(key, decision.state, file_tags=file_tags)
            if not options.dry_run and self.library is not None:
                snapshot = tag_file.snapshot()
                self._flush()  # the track row first: the backup names it
                backup = self.library.add_backup(self.library.track_id(key), key, snapshot, wanted)  # committed now
                try:
                    tag_file.write(wanted, id3v23=options.id3v23)
                except TagError:
                    self.library.delete_backups([backup])
                    raise
        except TagError as e:
            reason = e.reason if "genre tag" in e.reason else f"genre tag not written: {e.reason}"
            report.fail(path, reason)
            return self._set_tag_state(key, "failed", reason, file_tags=file_tags)
        report.tagged += 1
        report.updated += bool(ours and current)
        report.changes.append(TagChange(**path_fields(path), old=current, new=wanted))
        if options.on_change:
            options.on_change(report.changes[-1])
        return self._set_tag_state(key, "written", stat_after_write=path, file_tags=file_tags)

    def _uncertain(self, key: str, path: str, scores: dict[str, float], state: str, file_tags: str) -> None:
        """Leave a track untagged, recorded as ``state`` (:data:`~musictag.library.rows.UNSURE_WHY`)."""
        best = max(scores, key=scores.__getitem__)
        self.report.uncertain += 1
        self.report.uncertain_tracks.append({**path_fields(path), "genre": best, "confidence": round(scores[best], 4),
                                             "unfamiliar": state == "unfamiliar", "why": UNSURE_WHY[state]})
        self._set_tag_state(key, state, file_tags=file_tags)

    def _withdraw(self, key: str, tag_file: tags.TagFile, history: list[TagBackup], fields: dict[str, Any],
                  state: str = "uncertain") -> None:
        """Put back the genre field as it was before musictag's writes (``history``, its backups), where this model
        is unsure of (or the track is too short for) the genre an earlier one wrote; the track is then ``state``."""
        snapshot = original_snapshot(history)
        before = original_genres(snapshot)
        if not self.options.dry_run and self.library is not None:
            tag_file.restore(snapshot)
            with self.library.transaction():
                self.library.delete_backups(entry.id for entry in history)
        self.report.withdrawn += 1
        self.report.uncertain += 1
        self.report.changes.append(TagChange(**path_fields(tag_file.path), old=fields["genres"], new=before))
        if self.options.on_change:
            self.options.on_change(self.report.changes[-1])
        self._set_tag_state(key, state, stat_after_write=tag_file.path,
                            file_tags=json.dumps({**fields, "genres": before}))

    def _inside_roots(self, path: str) -> bool:
        """Whether the file that ``path`` leads to (links followed) lies in a scanned folder: only those are written."""
        if self.real_roots is None:
            self.real_roots = [os.path.realpath(root) for root in self.roots]
        real = os.path.realpath(path)
        return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in self.real_roots)

    def _set_tag_state(self, key: str, state: str | None, error: str | None = None,
                       stat_after_write: str | None = None, file_tags: str | None = None) -> None:
        self.report.too_short += state == "short"
        if self.library is None or self.options.dry_run:
            return
        values: dict[str, Any] = {"tag_state": state, "error": error}
        if file_tags is not None:
            values["file_tags"] = file_tags
        if stat_after_write is not None:  # the next scan must see the tagged file as unchanged
            try:
                st = os.stat(stat_after_write)
                values.update(size=st.st_size, mtime_ns=st.st_mtime_ns, quick_hash=quick_hash(stat_after_write))
            except OSError:
                pass
        self._queue(lambda: self.library.update_track_at(key, **values))

    # --- committing --------------------------------------------------------------------------

    def _maybe_flush(self) -> None:
        if len(self.pending) >= _BATCH_ROWS or time.monotonic() - self.last_flush >= _BATCH_SECONDS:
            self._flush()

    def _flush(self) -> None:
        """Commit the queued writes in one transaction."""
        self.last_flush = time.monotonic()
        if not self.pending or self.library is None:
            return
        pending, self.pending = self.pending, []
        with self.library.transaction():
            for write in pending:
                write()


