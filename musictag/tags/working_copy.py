"""The private working copy a tag write edits beside the file, then renames over it.

The copy cannot be hijacked (a folder of a shared NAS may be writable by others): it is created
with ``O_CREAT | O_EXCL | O_NOFOLLOW`` relative to a descriptor of its folder, under a short random
name, and every byte goes through that descriptor, never through a name; before the rename and
after it, the name must still be the inode that was written (:func:`require_same`), else the write
is reported failed. A link put in place of the copy is never written through, only removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import stat
from typing import IO

from musictag.errors import TagError

#: Suffix of the hidden copy a tag write works on before renaming it over the file.
TEMP_SUFFIX = ".musictag-tmp"


def is_leftover_copy(name: str) -> bool:
    """Whether a file name is that of a tag write's working copy (left behind if it was killed)."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def same_version(a: os.stat_result, b: os.stat_result | None) -> bool:
    """Whether two stats are of the same file, unchanged (inode, size, modification time)."""
    return b is not None and os.path.samestat(a, b) and (a.st_size, a.st_mtime_ns) == (b.st_size, b.st_mtime_ns)


def new_copy(dir_fd: int, base: str) -> tuple[str, IO[bytes], os.stat_result]:
    """A new hidden copy of ``base`` in the folder ``dir_fd``: its name, its open file, and the stat
    of the original it was copied from.

    The copy is created exclusively, without following links, under a short random name (so a
    file name near the system's limit can still be tagged), and filled through its descriptor;
    it gets the original's owner and mode.
    """
    source_fd = os.open(base, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
    with os.fdopen(source_fd, "rb") as source:
        st = os.fstat(source.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{base} is not a regular file")
        tmp, fd = _locked_copy_name(dir_fd)
        copy = os.fdopen(fd, "r+b")
        try:
            shutil.copyfileobj(source, copy, 1 << 20)
            if (st.st_uid, st.st_gid) != (os.fstat(fd).st_uid, os.fstat(fd).st_gid):
                os.fchown(fd, st.st_uid, st.st_gid)
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            copy.seek(0)
        except BaseException:
            copy.close()
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
    return tmp, copy, st


def _locked_copy_name(dir_fd: int) -> tuple[str, int]:
    """Create an empty working copy under a new random name and take its exclusive ``flock``.

    The lock says "in use" to a scan sweeping leftovers (:func:`musictag.scan.discover.remove_leftover_copies`).
    A sweep can take the lock in the instant between creating and locking, and then unlinks the
    name; so once locked, the name must still be this file, or another name is tried.
    """
    for _ in range(100):
        tmp = f".{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
        except FileExistsError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            mine, named = os.fstat(fd), os.stat(tmp, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            os.close(fd)  # swept before it was locked
            continue
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        if os.path.samestat(mine, named):
            return tmp, fd
        os.close(fd)  # the name is someone else's now: leave it
    raise OSError("no free name for the working copy")


def require_same(name: str, dir_fd: int, entry: str, written: os.stat_result) -> None:
    """Raise unless ``entry`` in the folder is (not a link to) the inode that was written."""
    try:
        st = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        st = None
    if st is None or not os.path.samestat(st, written):
        raise TagError(name, "cannot write the genre tag: its working copy was replaced by someone else "
                             "during the write")
