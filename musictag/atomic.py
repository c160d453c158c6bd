"""Files musictag writes for itself (the similarity index, cached arrays), put in place atomically.

The content goes to a temporary name beside the target, which is then renamed over it
(``os.replace``): a reader sees the old file or the new one, never half of one, and a kill leaves
at most a temporary file, which :func:`sweep` removes once it is old. (A user's audio file gets
the more careful treatment of :mod:`musictag.tags.working_copy`: a working copy no one else can swap.)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: A temporary file older than this is a killed writer's leftover, not a write in progress.
LEFTOVER_AGE_S = 3600.0


def replace_atomically(target: str | os.PathLike, write: Callable[[Path], T], suffix: str = "") -> T:
    """Call ``write(tmp)`` to fill a temporary file beside ``target``, then rename it over ``target``;
    return what ``write`` returned.

    ``suffix`` ends the temporary name (for writers that insist on one, like ``numpy.save``). The
    temporary file is removed when ``write`` fails.
    """
    target = Path(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp{suffix}")
    try:
        result = write(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


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
