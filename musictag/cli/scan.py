"""``musictag scan`` and ``restore``: thin commands over :mod:`musictag.scan` and :mod:`musictag.library.restore`.

Results go to stdout, progress and failures to stderr. Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from musictag.cli.common import (
    LazyHelpOption,
    Pacer,
    cell,
    console,
    db_option,
    dry_run_option,
    json_option,
    model_option,
    shipped_calibration,
)

if TYPE_CHECKING:
    from musictag.library.restore import RestoreReport
    from musictag.scan.report import ScanReport, TagChange

_LISTED = 20  # uncertain tracks and changes listed in the human summary


@contextlib.contextmanager
def interruptible() -> Iterator[Callable[[], bool]]:
    """Turn the first Ctrl-C (or SIGTERM) into a request to stop, yielding its test; a second Ctrl-C
    interrupts at once."""
    requested = []

    def handler(signum: int, frame: Any) -> None:
        if requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        requested.append(signum)

    saved = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: bool(requested)
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


@click.command(short_help="Analyse folders, tag empty genres, store the analysis.")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(exists=True))
@db_option
@model_option("Model folder, or 'default' for the default model (the shipped one, or $MUSICTAG_MODEL's). The "
              "library remembers it: later scans without --model use it too [default: the library's last --model, "
              "else the default model].")
@click.option("-j", "--jobs", type=click.IntRange(1), default=None,
              help="Worker processes (default: one per CPU core).")
@click.option("--cluster", metavar="ADDRESS", default=None,
              help="Analyse on a Dask cluster: a scheduler's address (tcp://host:8786; its workers must see the "
                   "files under the same paths and have musictag installed) or local:N for N local worker "
                   "processes (at most one per CPU core; local: one per core). Needs pip install "
                   "'musictag[cluster]'.")
@dry_run_option("Write neither tags nor the library; show what would change.")
@click.option("--no-write", is_flag=True, help="Analyse and store in the library, write no tags (a later scan "
                                               "without it writes them).")
@click.option("--retry-failed", is_flag=True, help="Try again the files that failed before and have not changed "
                                                 "since (default: they are skipped, and counted).")
@click.option("--overwrite", is_flag=True, help="Replace genres already in the files (default: fill empty ones).")
@click.option("--retag", is_flag=True, help="Decide again the genres `musictag restore` put back (default: a "
                                          "restored track stays as it is); with --overwrite, over yours too.")
@click.option("--min-confidence", type=click.FloatRange(0.0, 1.0), default=None, cls=LazyHelpOption,
              help="Leave a track untagged (uncertain) when its best genre scores below this.",
              help_text=lambda: "Leave a track untagged (uncertain) when its best genre scores below this "
                                f"[default: the model's recommendation, {shipped_calibration()}]. A track unlike "
                                "every track the model learned from is left uncertain whatever its score.")
@click.option("--top-k", type=click.IntRange(1), default=1, show_default=True,
              help="Write up to this many genres as a multi-value tag, each only when it reaches --min-confidence on "
                   "its own. The scores sum to 1: a second genre is possible only at --min-confidence 0.5 or "
                   "below, never at the default (a rule relative to the first genre was measured and its second "
                   "genres were mostly wrong).")
@click.option("--map", "map_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A JSON or TOML table of \"model's genre\" = \"name to write\" (as train --map reads it): the "
                   "genre names written (default: the spelling your files use most for that genre, else the "
                   "model's).")
@click.option("--id3v23", is_flag=True, help="Write new ID3 tags as v2.3 (default v2.4; existing tags keep "
                                             "their version).")
@json_option("a machine-readable summary")
@click.option("-v", "--verbose", is_flag=True, help="List each genre field changed as it is, each file found moved and "
                                                    "each track pruned (its file gone); with --dry-run, what would "
                                                    "be.")
@click.pass_context

def scan(ctx: click.Context, dirs: tuple[str, ...], db: Path | None, model_dir: Path | None, jobs: int | None,
         cluster: str | None, dry_run: bool, no_write: bool, retry_failed: bool, overwrite: bool, retag: bool,
         min_confidence: float | None, top_k: int, map_file: Path | None, id3v23: bool, as_json: bool,
         verbose: bool) -> None:
    """Analyse audio files, store them, tag their genres.

    Finds the audio files under DIRS and stores each one's genre scores and embedding in the
    library. Unchanged files are skipped without decoding, files whose tags alone were edited (the same
    audio) have their tags read again without decoding, moved files keep their analysis, vanished ones
    are pruned and failed ones retried. By default only empty genre fields are filled; the old
    value of every changed field is kept, for `musictag restore`.

    \b
    Examples:
      musictag scan ~/Music                       # tag empty genres, store the analysis
      musictag scan ~/Music --dry-run --overwrite # show what replacing every genre would do
      musictag scan ~/Music --no-write -v         # analyse only, write nothing
      musictag scan ~/Music --map genres.toml     # write the genres under your own names
      musictag scan ~/Music --cluster tcp://sched:8786 # analyse on a Dask cluster
    """
    from musictag.cores import capped_workers
    from musictag.library.labels import read_map
    from musictag.scan.cluster import local_workers
    from musictag.scan.orchestration import scan as run_scan
    from musictag.scan.report import ScanOptions
    from musictag.scan.tag_decision import top_k_note

    if cluster is not None and jobs is not None:
        from musictag.errors import UsageError

        raise UsageError("--jobs is for the local worker processes; with --cluster the cluster's workers analyse "
                         "(local:N starts N)")
    note = None
    if jobs is not None:
        jobs, note = capped_workers(jobs, f"--jobs {jobs}")
    local = local_workers(cluster) if cluster is not None else None
    if local is not None:
        count, note = capped_workers(local, f"--cluster {cluster}")
        cluster = f"local:{count}"
    if note:
        click.echo(f"musictag: {note}", err=True)

    options = ScanOptions(model_dir=model_dir, jobs=jobs, cluster=cluster, dry_run=dry_run, write_tags=not no_write,
                          overwrite=overwrite, min_confidence=min_confidence, top_k=top_k, id3v23=id3v23,
                          retry_failed=retry_failed, retag=retag, genre_map=read_map(map_file) if map_file else None,
                          on_change=_change_printer(dry_run) if verbose and not as_json else None)
    with _progress_bar() as progress, interruptible() as should_stop:
        report = run_scan(dirs, db, options, progress, should_stop)
    top_k_warning = top_k_note(top_k, report.min_confidence) if report.min_confidence is not None else None
    if top_k_warning:
        click.echo(f"musictag: {top_k_warning}", err=True)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        _print_scan(report, listed_already=verbose)
    _print_errors(report.errors)
    if report.runtime_note:
        click.echo(f"musictag: {report.runtime_note}", err=True)
    if report.db_created:
        from musictag.paths import display_path

        click.echo(f"musictag: created a new library at {display_path(report.db)} (--db or $MUSICTAG_DB puts it "
                   "elsewhere)", err=True)
    if report.pool_died:
        click.echo(f"musictag: {report.pool_died}; {report.not_analysed} files were not analysed: what finished "
                   "is saved, run the same scan again to analyse the rest", err=True)
    if report.interrupted:
        click.echo("musictag: interrupted; finished work is saved, run the same scan again to resume", err=True)
    ctx.exit(report.exit_code)


class _progress_bar:
    """A rich progress bar on stderr (count, rate, ETA), fed by the scan's progress callback."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        err_console = console(stderr=True)
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                            TimeRemainingColumn(), console=err_console, transient=True,
                            disable=not err_console.is_terminal)
        self.task = None
        self.phase = None
        self.phase_start = 0.0
        self.pacer = Pacer(0, time.monotonic)  # a redirected stage's lines between its start and end

    def __enter__(self) -> _progress_bar:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase and self.bar.disable and phase != "finding":  # not a terminal: a line per stage
            click.echo(f"musictag: {phase}" + (f" {total} tracks" if total else ""), err=True)
            self.pacer = Pacer(total, time.monotonic)
        elif self.bar.disable and total and (line := self.pacer.line(phase, done)):  # and a few as it goes
            click.echo(line, err=True)
        if phase != self.phase:
            if self.task is not None:
                self.bar.remove_task(self.task)
            self.phase, self.phase_start = phase, time.monotonic()
            self.task = self.bar.add_task(phase, total=total or None, rate="")
        elapsed = time.monotonic() - self.phase_start
        rate = f"{done / elapsed * 60:,.0f}/min" if done and elapsed > 0 else ""
        self.bar.update(self.task, completed=done, total=total or None, rate=rate)


def _change_printer(dry_run: bool):
    """``scan -v``: one line per changed genre field, printed as the change is made."""
    from musictag.paths import printable

    verb = "would tag" if dry_run else "tagged"

    def show(change: TagChange) -> None:
        click.echo(f"{verb:<12} {change.path}: {printable(', '.join(change.old)) or '(no genre)'} -> "
                   f"{printable(', '.join(change.new))}")

    return show


def _print_scan(report: ScanReport, listed_already: bool = False) -> None:
    from rich.table import Table

    from musictag.analysis.duration_floor import short_reason
    from musictag.paths import printable
    from musictag.tags.fields import display_name

    out = console()
    verb = "would be " if report.dry_run else ""
    table = Table(title="musictag scan" + (" (dry run: nothing written)" if report.dry_run else ""),
                  show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    # (label, count, shown even when 0)
    rows = [("found", report.found, True), ("analysed", report.analysed, True),
            ("re-scored from the library (new head, same backbone)", report.rescored, False),
            ("skipped, unchanged", report.skipped, True),
            ("tags edited, audio unchanged: not analysed again", report.tags_edited, False),
            ("moved", report.moved, True),
            ("pruned", report.pruned, False), (f"{verb}tagged", report.tagged, True),
            ("of them: musictag's earlier genre updated (the model now says otherwise)", report.updated, False),
            ("kept their genre", report.kept, False), ("left uncertain", report.uncertain, True),
            ("of them: musictag's earlier genre put back as it was (the model is now unsure)", report.withdrawn,
             False),
            (f"of them: {short_reason()}", report.too_short, False),
            ("silent", report.silent, False), ("format without genre tag", report.untaggable, False),
            ("not tagged: a link leading out of the scanned folders", report.outside, False),
            ("leftover copies of killed tag writes removed", report.cleaned, False),
            ("tags not written (--no-write)", report.not_written, False),
            ("failed", report.failed, True),
            ("known failures, not retried (see musictag errors)", report.known_failures,
             False)]
    for label, value, always in rows:
        if value or always:
            table.add_row(label, f"{value:,}")
    if report.model_name:
        table.add_row("model", cell(report.model_name + (" (this library's; --model changes it)"
                                                         if report.model_remembered else "")))
    if report.min_confidence is not None:
        table.add_row("confidence needed to tag", f"{report.min_confidence:.3g}")
    if report.spellings:  # --map's names, or the library's own spellings
        table.add_row("genres written as", cell(", ".join(f"{model} → {name}"
                                                          for model, name in sorted(report.spellings.items()))))
    if report.runtime:
        table.add_row("model run by", report.runtime)
    table.add_row("time", f"{report.seconds:.1f} s")
    out.print(table)
    lines = []
    if report.dry_run or listed_already:  # a dry run, or -v: each move and prune (paths printable already)
        moved, pruned = ("would move", "would prune") if report.dry_run else ("moved", "pruned")
        lines += [f"{moved:<12} {move['from']} -> {move['to']}" for move in report.moves]
        lines += [f"{pruned:<12} {path} (gone: not in its folder, nor found moved)" for path in report.pruned_paths]
    if report.dry_run:
        if not listed_already:
            lines += [f"would tag    {c.path}: {printable(', '.join(c.old)) or '(no genre)'} -> "
                      f"{printable(', '.join(c.new))}" for c in report.changes]
    lines += [f"silent       {path}: digital silence, no genre" for path in report.silent_tracks[:_LISTED]]
    lines += [f"uncertain    {t['path']} (best: {display_name(t['genre'])}, {t['confidence']:.2f}; {t['why']})"
              for t in report.uncertain_tracks[:_LISTED]]
    if len(report.uncertain_tracks) > _LISTED:
        lines.append(f"... and {len(report.uncertain_tracks) - _LISTED} more uncertain tracks (see --json)")
    for line in lines:
        click.echo(line)


def _print_errors(errors: list[dict[str, str]]) -> None:
    from musictag.paths import printable

    for error in errors:  # the path is printable already; a reason can quote what a file holds
        click.echo(f"failed: {error['path']}: {printable(error['reason'])}", err=True)


@click.command(short_help="Put back genre tags exactly as they were.")
@click.argument("paths", nargs=-1, type=click.Path())
@db_option
@dry_run_option("Show what would be put back; change nothing.")
@click.option("--force", is_flag=True, help="Also restore genres that were edited since musictag wrote them.")
@json_option("the restored files")
@click.pass_context
def restore(ctx: click.Context, paths: tuple[str, ...], db: Path | None, dry_run: bool, force: bool,
            as_json: bool) -> None:
    """Put back the genre tags that scans changed.

    Each file gets its genre field exactly as it was before musictag first changed it. With
    PATHS, only those files and the files under those folders; without, every file. A genre
    edited by hand since musictag wrote it is kept (and listed) unless --force.

    \b
    Examples:
      musictag restore ~/Music --dry-run   # what would be put back
      musictag restore                     # put back every file's genre
    """
    from musictag.library.restore import restore as run_restore
    from musictag.paths import printable

    report: RestoreReport = run_restore(list(paths) or None, db, dry_run=dry_run, force=force)
    if as_json:
        click.echo(json.dumps({"restored": report.restored, "changed_since": report.changed, "errors": report.errors,
                               "unmatched": report.unmatched, "dry_run": dry_run}, indent=2))
    else:
        verb = "would restore" if dry_run else "restored"
        for item in report.restored:
            values = printable(", ".join(item["values"])) or "(no genre)"
            click.echo(f"{verb}: {item['path']}: {values}")
        click.echo(f"{len(report.restored)} file(s) {verb}")
    for item in report.changed:
        values = printable(", ".join(item["values"])) or "(no genre)"
        click.echo(f"kept: {item['path']}: {values} (edited since musictag wrote it; --force restores it)",
                   err=True)
    for path in report.unmatched:
        click.echo(f"musictag: no tag backups for {path}", err=True)
    _print_errors(report.errors)
    ctx.exit(report.exit_code)
