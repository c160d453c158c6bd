"""The one exception type that carries a message meant for the user, not a traceback."""

from __future__ import annotations


class MusictagError(Exception):
    """A failure the user can act on; the CLI prints ``str(error)`` on one line and exits."""

    exit_code = 1


class UsageError(MusictagError):
    """The command was called wrongly (bad option value, missing library, ...): exit code 2."""

    exit_code = 2
