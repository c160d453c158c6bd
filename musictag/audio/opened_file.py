"""A user's file opened once, and read by position from then on.

The checks that it is a readable, non-empty regular file are made on the opened descriptor, not on
the name before opening (a FIFO does not block the open, a file swapped after the check is not the
one read). Everything that reads the file afterwards — the content sniff, the truncation check, the
quick hash, libsndfile and FFmpeg through :meth:`OpenedFile.reader` — reads the same descriptor with
its own position (``pread``), so none of them reopens the file by name or disturbs another.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from musictag.errors import DecodeError
from musictag.hashing import content_hash


class OpenedFile:
    """A readable regular file's descriptor, its ``size`` at opening, and reads at any offset."""

    def __init__(self, path: Path, fd: int, size: int) -> None:
        self.path, self.fd, self.size = path, fd, size

    def read_at(self, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes from ``offset`` (fewer at the end of the file)."""
        return os.pread(self.fd, n, offset)

    def quick_hash(self) -> str:
        """:func:`musictag.hashing.quick_hash` of the opened file."""
        return content_hash(self.size, self.read_at)

    def reader(self) -> PositionalReader:
        """A binary file object over this descriptor with a position of its own (for a decoder)."""
        return PositionalReader(self)

    def close(self) -> None:
        """Close the descriptor (again is harmless)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> OpenedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PositionalReader(io.RawIOBase):
    """A read-only, seekable file object on an :class:`OpenedFile`, reading with ``pread``."""

    def __init__(self, opened: OpenedFile) -> None:
        super().__init__()
        self._opened, self._pos = opened, 0

    def readable(self) -> bool:
        """Always: it exists to be read."""
        return True

    def seekable(self) -> bool:
        """Always: reads are by position."""
        return True

    def readinto(self, buffer) -> int:
        """Fill ``buffer`` from the current position; the number of bytes read (0 at the end)."""
        view = memoryview(buffer).cast("B")
        data = self._opened.read_at(self._pos, len(view))
        view[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position (from the start, the current position or the end); the new position."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._opened.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        """The current position."""
        return self._pos


def open_file(path: str | os.PathLike) -> OpenedFile:
    """Open ``path`` for reading, once; raises :class:`DecodeError` with the reason a user reads when it
    is missing (or a broken link), a directory, not a regular file, empty, or not readable."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DecodeError(p, "broken symbolic link" if os.path.islink(p) else "file not found") from None
    except PermissionError:
        if os.path.isdir(p):
            raise DecodeError(p, "is a directory, not an audio file") from None
        raise DecodeError(p, "permission denied (cannot read the file)") from None
    except OSError as e:
        raise DecodeError(p, e.strerror or str(e)) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise DecodeError(p, "is a directory, not an audio file")
        if not stat.S_ISREG(st.st_mode):
            raise DecodeError(p, "not a regular file")
        if st.st_size == 0:
            raise DecodeError(p, "empty file (0 bytes)")
    except BaseException:
        os.close(fd)
        raise
    return OpenedFile(p, fd, st.st_size)
