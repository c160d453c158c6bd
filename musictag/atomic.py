"""Files and folders musictag writes (the similarity index, cached arrays, playlists, maps, model
folders), put in place atomically.

The content goes to a temporary name beside the target, created new (never an existing name or
a planted link) and then renamed over the target (``os.replace``): a reader sees the old file or
the new one, never half of one; a target that is a symbolic link is replaced, not followed; and
a kill leaves at most a temporary file, which :func:`sweep` removes once it is old. (A user's
audio file gets the more careful treatment of :mod:`musictag.tags.working_copy`.)
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: A temporary file older than this is a killed writer's leftover, not a write in progress.
LEFTOVER_AGE_S = 3600.0


def replace_atomically(target: str | os.PathLike, write: Callable[[Path], T], suffix: str = "") -> T:
    """Call ``write(tmp)`` to fill a new temporary file beside ``target``, then rename it over ``target``;
    return what ``write`` returned.

    ``suffix`` ends the temporary name (for writers that insist on one, like ``numpy.save``). The
    file gets the mode the target had (a link's or a new file's: what the umask allows). The
    temporary file is removed when ``write`` fails.
    """
    target = Path(target)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        result = write(tmp)
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


def replace_folder_atomically(target: str | os.PathLike, write: Callable[[Path], T]) -> T:
    """Call ``write(new)`` to fill a new folder of ``target``'s name inside a temporary folder beside
    it, then put it in ``target``'s place (a folder there is moved aside and removed, a link there is
    replaced, not followed); return what ``write`` returned. Nothing of the new folder is left when
    ``write`` fails."""
    target = Path(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        new = staging / target.name
        new.mkdir(mode=0o777 & ~_umask())
        result = write(new)
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            os.replace(target, staging / ".old")  # a name inside our own folder: no one else holds it
        os.replace(new, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(target: Path) -> int:
    """The permission bits a replacement of ``target`` gets: its own if it is a regular file, else the default."""
    try:
        st = os.lstat(target)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return 0o666 & ~_umask()


def sweep(target: str | os.PathLike, older_than_s: float = LEFTOVER_AGE_S) -> int:
    """Remove the temporary files that killed writers of ``target`` left; return how many went."""
    target = Path(target)
    now, removed = time.time(), 0
    for tmp in target.parent.glob(f".{target.name}.*.tmp*"):
        try:
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
                removed += 1
        except OSError:
            pass
    return removed
