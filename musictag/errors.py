"""The errors that carry a message meant for the user, not a traceback, and their one shape for a file.

Every failure of one file (it cannot be read, decoded or tagged) is a :class:`FileError` with the
file's ``path`` and a one-line ``reason``: a scan reports ``reason`` against the file and goes on.
"""

from __future__ import annotations

import os


class MusictagError(Exception):
    """A failure the user can act on; the CLI prints ``str(error)`` on one line and exits."""

    exit_code = 1


class UsageError(MusictagError):
    """The command was called wrongly (bad option value, missing library, ...): exit code 2."""

    exit_code = 2


class FileError(MusictagError):
    """One file could not be read, decoded or tagged; ``reason`` says why in one line a user understands."""

    def __init__(self, path: str | bytes | os.PathLike, reason: str) -> None:
        from musictag.paths import display_path

        super().__init__(f"{display_path(path)}: {reason}")
        self.path = os.fsdecode(path)
        self.reason = reason


class DecodeError(FileError):
    """An audio file could not be decoded."""


class NotAudio(DecodeError):
    """The file's content is no audio format musictag knows; ``reason`` says what it looks like."""


class TagError(FileError):
    """The genre tag of a file could not be read or written."""


def short_reason(error: BaseException) -> str:
    """The first line of ``error``'s message, at most 160 characters, without a library's
    ``Error :`` prefix or final full stop; the error's type name when the message is empty."""
    lines = str(error).replace("Error :", "").strip().rstrip(".").splitlines()
    return (lines[0].strip()[:160] if lines else "") or type(error).__name__
