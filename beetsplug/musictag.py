"""musictag as a beets plugin (``plugins: musictag``): track-level genres from the audio, offline, in beets.

``beet musictag [QUERY]`` analyses the matching items with musictag's scan engine (worker processes, a time
limit per file, one line per bad file), stores the analysis in musictag's library and sets beets' genre field
(``genres`` from beets 2.7, ``genre`` before) where it is empty. musictag writes no tag here: beets writes the
file (``item.try_write()``) when ``import.write`` is on, so it stays the one writer of its files. ``beet
musictag-similar QUERY`` prints the items that sound most like the one QUERY matches, in beets' format (``-f``;
``$musictag_similarity``: the cosine), and can write an M3U. ``auto: yes`` analyses each import's items.

The genre rule is musictag's (:func:`musictag.scan.tag_decision.decide_tag`): an item's own genre is kept
unless ``--overwrite``; a genre the plugin set, unedited since, follows the model (updated, or put back as
it was when the model is no longer sure). Flexible fields on the item keep what that rule needs:
``musictag_written`` (what the plugin set, JSON), ``musictag_original`` (the genres it replaced, JSON), and
``musictag_genre`` / ``musictag_confidence`` (the model's best genre and its score, set even when uncertain).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beets import config as beets_config
from beets import ui
from beets.dbcore import types
from beets.library import Item
from beets.plugins import BeetsPlugin
from confuse import ConfigError

from musictag.errors import MusictagError
from musictag.paths import display_path, path_to_key, printable

try:
    from beets.dbcore.query import PathQuery
except ImportError:  # beets before 2.1
    from beets.library import PathQuery

if TYPE_CHECKING:
    import optparse

    from beets.library import Library as BeetsLibrary

    from musictag.analysis.models import ModelInfo
    from musictag.library.database import Library
    from musictag.library.rows import TrackRow
    from musictag.scan.report import ScanReport
    from musictag.scan.tag_decision import TagDecision

#: The item field that holds its genres: a list from beets 2.7 (``genres``), one string before (``genre``).
GENRE_FIELD = "genres" if "genres" in Item._fields else "genre"
_JOINER = ", "  # genres in the one-string ``genre`` field of beets before 2.7 (lastgenre's separator)
WRITTEN, ORIGINAL = "musictag_written", "musictag_original"
BEST, CONFIDENCE, SIMILARITY = "musictag_genre", "musictag_confidence", "musictag_similarity"


@dataclass
class Settings:
    """One run's options: the command line's, else ``config['musictag']``'s."""

    db: str | None = None  # None: musictag's default library ($MUSICTAG_DB, else the platform's data folder)
    model: str | None = None  # a model folder or "default"; None: the library's last, else the shipped one
    min_confidence: float | None = None  # None: the model's recommendation
    top_k: int = 1
    overwrite: bool = False
    jobs: int | None = None
    retry_failed: bool = False


@dataclass(frozen=True)
class Verdict:
    """What the model says of one analysed track: the genres to set (empty: unsure), its best genre and score."""

    wanted: list[str]
    best: str
    confidence: float


@dataclass
class Tally:
    """What a run did to the beets items."""

    set: int = 0
    kept: int = 0
    uncertain: int = 0
    withdrawn: int = 0
    failed: int = 0  # files beets has and the disk does not (the scan's failures are in its report)


def item_genres(item: Item) -> list[str]:
    """The genres a beets item holds, as a list (beets before 2.7: its one string split at ``", "``)."""
    if GENRE_FIELD == "genres":
        return [g for g in item.get("genres") or [] if g]
    return [g.strip() for g in (item.get("genre") or "").split(_JOINER) if g.strip()]


def set_item_genres(item: Item, genres: list[str]) -> None:
    """Set a beets item's genre field to ``genres`` (not stored, not written)."""
    item[GENRE_FIELD] = list(genres) if GENRE_FIELD == "genres" else _JOINER.join(genres)


def _stored_list(value: Any) -> list[str] | None:
    """A flexible field holding a JSON list of text (None: absent or not that)."""
    try:
        out = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return out if isinstance(out, list) and all(isinstance(g, str) for g in out) else None


def apply_verdict(item: Item, verdict: Verdict, overwrite: bool) -> tuple[TagDecision, list[str] | None]:
    """Apply musictag's genre rule to one beets item (changed in memory, not stored): the decision taken
    and the genres set (None: the field is unchanged)."""
    from musictag.scan.tag_decision import decide_tag

    current = item_genres(item)
    ours = bool(current) and _stored_list(item.get(WRITTEN)) == current
    decision = decide_tag(current, verdict.wanted, ours, overwrite)
    item[BEST], item[CONFIDENCE] = verdict.best, round(verdict.confidence, 4)
    new = None
    if decision.action == "write":
        if not ours:  # what the field held before the plugin's first change: put back by a withdraw
            if current:
                item[ORIGINAL] = json.dumps(current)
            elif ORIGINAL in item:
                del item[ORIGINAL]
        new = verdict.wanted
        item[WRITTEN] = json.dumps(new)
    elif decision.action == "withdraw":
        new = _stored_list(item.get(ORIGINAL)) or []
        for name in (WRITTEN, ORIGINAL):
            if name in item:
                del item[name]
    if new is not None:
        set_item_genres(item, new)
    return decision, new


def _verdict(library: Library, row: TrackRow, model: ModelInfo, min_confidence: float,
             top_k: int) -> Verdict | None:
    """The genres the scan would write for an analysed track, from its stored scores and embedding (None: no
    scores stored)."""
    from musictag.scan.tag_decision import genre_choice
    from musictag.tags.fields import display_name

    scores = library.predictions(row.id)
    if not scores:
        return None
    embedding = library.embedding(row.id)
    familiar = model.familiarity is None or embedding is None or model.familiarity.familiar(embedding)
    text = str if model.meta.get("labels") == "library" else display_name  # a library-learned model: as spelt
    chosen, _ = genre_choice(scores, min_confidence, top_k, familiar, row.duration)  # none for a short track
    best = max(scores, key=scores.__getitem__)
    return Verdict([text(g) for g in chosen], text(best), scores[best])


def _missing(path: str) -> str | None:
    """Why beets' path for an item cannot be analysed before the scan starts (None: it can be tried)."""
    if not os.path.lexists(path):
        return "no such file (beets' library has it, the disk does not)"
    return "a folder, not an audio file" if os.path.isdir(path) else None


@contextlib.contextmanager
def _musictag_errors() -> Iterator[None]:
    """musictag's one-line errors (and a failing library database) as beets' ``UserError``."""
    try:
        yield
    except MusictagError as e:
        raise ui.UserError(f"musictag: {e}") from None
    except sqlite3.Error as e:
        from musictag.library.connection import database_problem
        from musictag.library.database import Library

        raise ui.UserError(f"musictag: {database_problem(Library.last_opened, e)}") from None


class MusictagPlugin(BeetsPlugin):
    """``beet musictag``, ``beet musictag-similar`` and, with ``auto``, analysis on import."""

    item_types = {CONFIDENCE: types.FLOAT}

    def __init__(self) -> None:
        super().__init__()
        self.config.add({"db": None, "model": None, "min_confidence": None, "top_k": 1, "overwrite": False,
                         "jobs": None, "auto": False})
        if self.config["auto"].get(bool):
            self.register_listener("import_task_files", self.imported)

    # --- configuration -----------------------------------------------------------------------

    def settings(self, opts: optparse.Values | None = None) -> Settings:
        """The options of a run: the command line's where given, else the config's; bad values are refused."""
        def pick(name: str) -> Any:
            given = getattr(opts, name, None)
            return given if given is not None else self.config[name].get()

        def path(name: str) -> str | None:
            given = getattr(opts, name, None)
            if given is not None:
                return os.path.expanduser(given)
            value = self.config[name].get()
            return value if value is None or value == "default" else self.config[name].as_filename()

        min_confidence, top_k, jobs = pick("min_confidence"), pick("top_k"), pick("jobs")
        number = isinstance(min_confidence, (int, float)) and not isinstance(min_confidence, bool)
        if min_confidence is not None and not (number and 0.0 <= min_confidence <= 1.0):
            raise ui.UserError(f"musictag: min_confidence must be a number from 0 to 1, not "
                               f"{printable(repr(min_confidence))}")
        for name, value, least in (("top_k", top_k, 1), ("jobs", jobs, 1)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
                raise ui.UserError(f"musictag: {name} must be a whole number of at least {least}, not "
                                   f"{printable(repr(value))}")
        model = path("model")
        if model is not None and model != "default" and not os.path.isdir(model):
            raise ui.UserError(f"musictag: no model folder at {display_path(model)}")
        if jobs is not None:
            from musictag.cores import capped_workers

            jobs, note = capped_workers(jobs, f"jobs {jobs}")
            if note:
                self._log.info("{}", note)
        return Settings(path("db"), model, min_confidence, top_k or 1, bool(pick("overwrite")), jobs,
                        bool(getattr(opts, "retry_failed", False)))

    # --- commands ----------------------------------------------------------------------------

    def commands(self) -> list[ui.Subcommand]:
        """``musictag`` and ``musictag-similar``."""
        analyse = ui.Subcommand("musictag", help="set empty genres from the audio with musictag")
        add = analyse.parser.add_option
        add("--overwrite", action="store_true", default=None, help="replace genres the items already have")
        add("--model", metavar="DIR", help="musictag model folder, or 'default' (default: the library's last)")
        add("--min-confidence", type="float", metavar="X", help="leave an item uncertain when its best genre "
                                                                 "scores below X (default: the model's)")
        add("--top-k", type="int", metavar="N", help="set up to N genres (those reaching the threshold)")
        add("-j", "--jobs", type="int", metavar="N", help="worker processes (default: one per CPU core)")
        add("--retry-failed", action="store_true", help="try again files that failed and have not changed")
        add("--db", metavar="FILE", help="musictag library (default: config, else musictag's default)")
        analyse.func = self._analyse_command

        similar = ui.Subcommand("musictag-similar", help="the items that sound most like the one QUERY matches")
        add = similar.parser.add_option
        add("-n", "--count", type="int", default=10, metavar="N", help="how many items to print (default 10)")
        add("--m3u", metavar="FILE", help="also write an extended M3U8 playlist here, the query item first")
        add("--db", metavar="FILE", help="musictag library (default: config, else musictag's default)")
        add("--model", metavar="DIR", help="model for an item the library has not analysed (default: its own)")
        similar.parser.add_format_option(target="item")
        similar.func = self._similar_command
        return [analyse, similar]

    def _analyse_command(self, lib: BeetsLibrary, opts: optparse.Values, args: list[str]) -> None:
        from musictag.cli.scan import interruptible  # the first Ctrl-C stops the scan, what finished is kept

        settings = self.settings(opts)
        main = threading.current_thread() is threading.main_thread()  # signal handlers: the main thread only
        with interruptible() if main else contextlib.nullcontext(lambda: False) as should_stop:
            self.analyse(list(lib.items(args)), settings, ui.should_write(), should_stop, summary=True)

    def imported(self, session: Any, task: Any) -> None:
        """``auto``: analyse the items of an import once beets has put their files in place."""
        try:
            self.analyse(list(task.imported_items()), self.settings(), ui.should_write())
        except (ui.UserError, ConfigError) as e:  # the import goes on; its genres wait for `beet musictag`
            self._log.error("{}", str(e).removeprefix("musictag: "))

    # --- analysing ---------------------------------------------------------------------------

    def analyse(self, items: Sequence[Item], settings: Settings, write: bool,
                should_stop: Callable[[], bool] = lambda: False, summary: bool = False) -> Tally:
        """Analyse ``items`` into musictag's library and set their genres (``write``: beets writes the files)."""
        tally = Tally()
        by_key: dict[str, tuple[str, list[Item]]] = {}
        for item in items:
            path = os.fsdecode(item.path)
            reason = _missing(path)
            if reason:
                tally.failed += 1
                self._log.error("failed: {}: {}", display_path(path), reason)
            else:
                by_key.setdefault(path_to_key(path), (path, []))[1].append(item)
        report = self._scan([path for path, _ in by_key.values()], settings, should_stop) if by_key else None
        if report is not None:
            with _musictag_errors():
                self._apply(report, by_key, settings, write, tally)
        if summary:
            self._summary(report, tally)
        return tally

    def _scan(self, paths: list[str], settings: Settings, should_stop: Callable[[], bool]) -> ScanReport:
        """musictag's scan of ``paths`` into its library, writing no tags; its failures logged, one line each."""
        from musictag.scan.orchestration import scan
        from musictag.scan.report import ScanOptions

        options = ScanOptions(model_dir=settings.model, write_tags=False, jobs=settings.jobs,
                              overwrite=settings.overwrite, min_confidence=settings.min_confidence,
                              top_k=settings.top_k, retry_failed=settings.retry_failed)
        phases: list[str] = []

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in phases and phase != "finding":
                phases.append(phase)
                self._log.info("{}{}", phase, f" {total} tracks" if total else "")

        with _musictag_errors():
            report = scan(paths, settings.db, options, progress, should_stop)
        for error in report.errors:  # the path is printable already; a reason can quote what a file holds
            self._log.error("failed: {}: {}", error["path"], printable(error["reason"]))
        for path in report.silent_tracks:
            self._log.info("silent: {}: digital silence, no genre", path)
        if report.db_created:
            self._log.info("created a new musictag library at {}", display_path(report.db))
        if report.runtime_note:
            self._log.info("{}", report.runtime_note)
        if report.pool_died:
            self._log.error("{}; {} files were not analysed: run the same command again for the rest",
                            report.pool_died, report.not_analysed)
        return report

    def _apply(self, report: ScanReport, by_key: dict[str, tuple[str, list[Item]]], settings: Settings,
               write: bool, tally: Tally) -> None:
        """Set the genres of the analysed items; beets writes and stores them, and musictag's library then
        records each written file's new size and time, so the next run finds it unchanged."""
        from musictag.analysis.models import ModelInfo
        from musictag.hashing import quick_hash
        from musictag.library.database import Library
        from musictag.scan.orchestration import remembered_model

        db = Path(report.db)
        model = ModelInfo.read(settings.model if settings.model is not None else remembered_model(db))
        written: list[tuple[str, str]] = []  # (path key, path) of the files beets wrote
        with Library(db, lock=True) as library:
            for key, (path, items) in by_key.items():
                row = library.track_by_path(path)
                if row is None or row.status != "ok" or row.model_id != report.model_id:
                    continue  # failed or silent (said so above), or not reached (interrupted)
                verdict = _verdict(library, row, model, report.min_confidence, settings.top_k)
                if verdict and any([self._set_genre(item, verdict, settings.overwrite, write, tally)
                                    for item in items]):
                    written.append((key, path))
            with library.transaction():
                for key, path in written:
                    with contextlib.suppress(OSError):
                        st = os.stat(path)
                        library.update_track_at(key, size=st.st_size, mtime_ns=st.st_mtime_ns,
                                                quick_hash=quick_hash(path))

    def _set_genre(self, item: Item, verdict: Verdict, overwrite: bool, write: bool, tally: Tally) -> bool:
        """Apply ``verdict`` to one item, store it, and have beets write its file; whether beets wrote it."""
        old = item_genres(item)
        decision, new = apply_verdict(item, verdict, overwrite)
        if decision.state == "uncertain":
            tally.uncertain += 1
            self._log.info("uncertain: {} (best: {}, {:.2f})", printable(format(item)), printable(verdict.best),
                           verdict.confidence)
        elif decision.state == "kept":  # the item's own genre (one the plugin set and still holds: not counted)
            tally.kept += 1
        wrote = False
        if new is not None:
            tally.set += decision.action == "write"
            tally.withdrawn += decision.action == "withdraw"
            self._log.info("{}: {} -> {}", printable(format(item)), printable(_JOINER.join(old)) or "(no genre)",
                           printable(_JOINER.join(new)) or "(no genre)")
            wrote = write and item.try_write()
        item.store()
        return wrote

    def _summary(self, report: ScanReport | None, tally: Tally) -> None:
        """One line of what a command did."""
        counts = [(report.analysed if report else 0, "analysed"), (report.skipped if report else 0, "unchanged"),
                  (tally.set, "genres set"), (tally.kept, "kept their genre"), (tally.uncertain, "uncertain")]
        if tally.withdrawn:
            counts.append((tally.withdrawn, "put back as they were (the model is now unsure)"))
        counts.append(((report.failed if report else 0) + tally.failed, "failed"))
        if report and report.known_failures:
            counts.append((report.known_failures, "failed before, not retried (--retry-failed)"))
        ui.print_("musictag: " + ", ".join(f"{n} {what}" for n, what in counts))
        if report and report.interrupted:
            ui.print_("musictag: interrupted; finished work is saved, run the same command again to resume")

    # --- similar -----------------------------------------------------------------------------

    def _similar_command(self, lib: BeetsLibrary, opts: optparse.Values, args: list[str]) -> None:
        if opts.count < 1:
            raise ui.UserError(f"musictag: -n must be at least 1, not {opts.count}")
        settings = self.settings(opts)
        items = list(lib.items(args))
        if not items:
            raise ui.UserError("musictag: no item matches the query")
        if len(items) > 1:
            self._log.info("{} items match; the first: {}", len(items), display_path(items[0].path))
        path = os.fsdecode(items[0].path)
        reason = _missing(path)
        if reason:
            raise ui.UserError(f"musictag: {display_path(path)}: {reason}")
        with _musictag_errors():
            found = self._similar(lib, path, settings, opts.count, opts.m3u)
        fmt = getattr(opts, "format", None) or f"${SIMILARITY}  {beets_config['format_item'].as_str()}"
        for item in found:
            ui.print_(printable(item.evaluate_template(fmt)))
        if not found:
            self._log.info("no similar item in beets' library")

    def _similar(self, lib: BeetsLibrary, path: str, settings: Settings, count: int,
                 m3u: str | None) -> list[Item]:
        """The ``count`` beets items nearest to the file at ``path`` (each with its similarity set), best first;
        tracks musictag's library holds and beets' does not are passed over."""
        from musictag.library import index as annoy_index
        from musictag.library.connection import default_db_path
        from musictag.library.database import Library
        from musictag.library.similar import Playlist, build_playlist, resolve_query, write_m3u

        db = Path(settings.db) if settings.db else default_db_path()
        if not db.is_file():
            raise ui.UserError(f"musictag: no musictag library at {display_path(db)} yet: run `beet musictag` first")
        library = Library.open_existing(db)
        try:
            index = annoy_index.load(library, on_stale=lambda why, _: self._log.info("the index is {}", why))
            query = resolve_query(library, path, settings.model)
            found, matches, asked = [], [], count
            while True:  # ask for more until enough are beets items, or the index has no more
                candidates = build_playlist(library, [query], asked, index=index).matches
                found, matches = [], []
                for match in candidates:
                    item = lib.items(PathQuery("path", os.fsencode(match.path))).get()
                    if item is not None:
                        item[SIMILARITY] = f"{match.similarity:.3f}"
                        found.append(item)
                        matches.append(match)
                if len(found) >= count or len(candidates) < asked:
                    break
                asked *= 4
        finally:
            library.close()
        if m3u:
            try:
                left_out = write_m3u(m3u, Playlist([query], matches[:count]))
            except MusictagError as e:  # the folder is not writable, the disk is full, ...
                raise ui.UserError(f"musictag: {e}") from None
            for name in left_out:
                self._log.warning("left out of the playlist: {}", name)
        return found[:count]

