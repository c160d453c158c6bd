"""What the command modules share: the ``--db``, ``--model``, ``--json`` and ``--dry-run`` options, and consoles."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


def db_option(f):
    """The ``--db`` option: the library database, its default shown as the real path."""
    from musictag.library.connection import default_db_path

    return click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar="MUSICTAG_DB", default=None,
                        help=f"Library database [default: {default_db_path()}; $MUSICTAG_DB changes it].")(f)


def model_option(help_text: str = "Model folder, or 'default' for the default model (the shipped one, or "
                                  "$MUSICTAG_MODEL's) [default: the default model]."):
    """The ``--model`` option, one rule in every command: a model folder, or ``default`` for the default
    model (:func:`musictag.analysis.models.default_model_dir`); an absent folder is refused in one line."""

    def check(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
        if value is not None and str(value) != "default" and not value.is_dir():
            from musictag.paths import display_path

            raise click.BadParameter(f"no model folder at {display_path(value)}")
        return value

    return click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        callback=check, help=help_text)


def json_option(what: str):
    """The ``--json`` flag: ``what`` (e.g. "the counts") printed as JSON on stdout instead of the table."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON on stdout.")


def dry_run_option(help_text: str):
    """The ``--dry-run`` flag: show what would change, change nothing (``help_text`` says what)."""
    return click.option("--dry-run", is_flag=True, help=help_text)


def shipped_calibration() -> str:
    """What the shipped model's recommended --min-confidence buys, read from its model.json (for --help)."""
    import json

    from musictag.shipped import DEFAULT_MODEL_NAME, shipped_models_dir

    try:
        meta = json.loads((shipped_models_dir() / DEFAULT_MODEL_NAME / "model.json").read_text())
        cal = meta["metrics"]["calibration"]
        return (f"{meta['recommended_min_confidence']:.3g} for the shipped model: held out (cross-validated, "
                f"GTZAN clips and real recordings), {cal['precision']:.0%} of the tracks reaching it were right, "
                f"{cal['coverage']:.0%} of all tracks reached it")
    except (OSError, ValueError, KeyError, TypeError):
        return "see the shipped model's model.json"


class LazyHelpOption(click.Option):
    """An option whose help text (``help``, short) is completed only when help is shown (``help_text()``
    may read files)."""

    def __init__(self, *args, help_text, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._help_text = help_text

    def get_help_record(self, ctx: click.Context):
        """Fill in the help text, then as click does."""
        self.help = self._help_text()
        return super().get_help_record(ctx)


def require_file(path: Path) -> None:
    """A FILE argument that does not exist is a usage error (exit 2), as a missing folder is for scan."""
    import os

    from musictag.errors import UsageError
    from musictag.paths import display_path

    if not os.path.lexists(path):
        raise UsageError(f"no such file or folder: {display_path(path)}")


class Pacer:
    """When a stage whose progress goes to a redirected stderr says how far it is: each further tenth
    of ``total`` (no two lines closer than :attr:`MIN_GAP_S`) or :attr:`MAX_GAP_S` after the last
    line, never at the end (the stage's end line says it): a long stage shows it is moving without
    filling a log (about ten lines, none for a stage of a few seconds)."""

    MIN_GAP_S = 5.0
    MAX_GAP_S = 30.0

    def __init__(self, total: int, clock: Callable[[], float]) -> None:
        self.total, self.clock = total, clock
        self.started = self.last_line = clock()
        self.last_tenth = 0

    def line(self, label: str, done: int) -> str | None:
        """The line to print now that ``done`` items are, or None."""
        if self.total and done >= self.total:
            return None
        now = self.clock()
        tenth = done * 10 // self.total if self.total else 0
        since = now - self.last_line
        if since >= self.MAX_GAP_S or (tenth > self.last_tenth and since >= self.MIN_GAP_S):
            self.last_line, self.last_tenth = now, tenth
            return f"musictag: {label}: {done}/{self.total} tracks, {now - self.started:.0f} s"
        return None


class StageProgress:
    """Progress of one stage over ``total`` items: a bar when stderr is a terminal, else plain lines:
    one when the stage starts, one when it ends, and a few between (:class:`Pacer`)."""

    def __init__(self, total: int, label: str, clock: Callable[[], float] | None = None) -> None:
        import sys
        import time

        self.total, self.label, self.done = total, label, 0
        self.clock = clock or time.monotonic
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit="track", leave=False, dynamic_ncols=True)

    def __enter__(self) -> StageProgress:
        self.pacer = Pacer(self.total, self.clock)
        if self.bar is None:
            click.echo(f"musictag: {self.label}: {self.total} tracks", err=True)
        return self

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items done."""
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif line := self.pacer.line(self.label, self.done):
            click.echo(line, err=True)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
        else:
            click.echo(f"musictag: {self.label}: {self.done} done in {self.clock() - self.pacer.started:.0f} s",
                       err=True)


def cell(text: str) -> Text:
    """Text from the user's files or a model (a genre, a title, a path) as a rich table cell: printable
    (:func:`musictag.paths.printable`: control and bidirectional characters escaped) and drawn as
    written, never read as rich markup."""
    from rich.text import Text

    from musictag.paths import printable

    return Text(printable(text))


def console(stderr: bool = False) -> Console:
    """A rich console that prints text as given (no highlighting), on stdout or stderr."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)
