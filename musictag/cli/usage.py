"""One style for every usage error: click's own (a bad option value, a missing argument, an unknown
option) are printed as musictag's are, ``musictag: error: <what>`` on one line, never click's
``Usage: ... Error: ...`` block."""

from __future__ import annotations

import click


class RequiredOption(click.Option):
    """A required option whose absence is told as ``give --OPT METAVAR: <what>`` (``what`` says what the
    value is for), not click's ``Missing option``."""

    def __init__(self, *args, what: str, **kwargs) -> None:
        super().__init__(*args, required=True, **kwargs)
        self.what = what


def usage_line(error: click.ClickException) -> str:
    """The one line that tells what ``error`` (raised by click while reading the command line, or by a
    command) says: click's message on one line, its first word in lower case as musictag's own are."""
    if isinstance(error, click.MissingParameter) and isinstance(error.param, RequiredOption):
        option = error.param
        return f"give {option.opts[0]} {option.metavar or option.type.name.upper()}: {option.what}"
    message = " ".join(error.format_message().split()).rstrip(".")
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    return message
