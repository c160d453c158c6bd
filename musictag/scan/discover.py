"""Finding the audio files under the folders a scan is given: the walk, ignored folders, and the
working copies that an interrupted tag write left behind.

The walk reads names and stats only (no file is opened). Hidden entries are skipped; a folder
holding a ``.musictag-ignore`` file is skipped with everything under it; links are followed, each
folder once; a folder that cannot be read is reported, never fatal.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat as stat_mod
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from musictag.audio.formats import AUDIO_EXTENSIONS
from musictag.paths import path_to_key
from musictag.tags.working_copy import is_leftover_copy

#: A folder holding a file of this name is skipped with everything under it.
IGNORE_FILE = ".musictag-ignore"


@dataclass
class Found:
    """What a walk found: the audio files, the folders it could not read, the roots, leftover copies."""

    files: list[tuple[str, str, os.stat_result | None]] = field(default_factory=list)  # key, path, stat
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # folder path, reason
    roots: list[str] = field(default_factory=list)  # keys of the folders and files scanned
    leftovers: list[str] = field(default_factory=list)  # working copies of interrupted tag writes


def is_audio_name(name: str) -> bool:
    """Whether a file name has one of the audio extensions the scan looks at."""
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def find_audio(roots: Sequence[str | os.PathLike]) -> Found:
    """Walk ``roots`` for audio files (by extension), skipping hidden entries and ignored folders.

    A root that is a file is taken whatever its name. Symbolic links are followed (each folder
    once); a broken link is kept, with no stat, to be reported.
    """
    found = Found()
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        path = os.path.abspath(os.fsdecode(root))
        found.roots.append(path_to_key(path))
        if os.path.isdir(path):
            _walk(path, found, seen_dirs)
        else:
            found.files.append((path_to_key(path), path, _stat(path)))
    return found


def _stat(path: str) -> os.stat_result | None:
    """The file's stat; for a link that leads nowhere, the link's own (its size is its target text's length),
    so the plan can tell an unchanged broken link; None when neither can be read."""
    try:
        return os.stat(path)
    except OSError:
        try:
            st = os.lstat(path)
        except OSError:
            return None
        return st if stat_mod.S_ISLNK(st.st_mode) else None


def _walk(top: str, found: Found, seen: set[tuple[int, int]]) -> None:
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            found.unreadable.append((folder, f"cannot read the folder: {e.strerror or e}"))
            continue
        if any(e.name == IGNORE_FILE for e in entries):
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                if is_leftover_copy(entry.name):
                    found.leftovers.append(entry.path)
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                subfolders.append(entry.path)
            elif is_audio_name(entry.name):
                found.files.append((path_to_key(entry.path), entry.path, _stat(entry.path)))
        stack.extend(reversed(subfolders))


def remove_leftover_copies(paths: Sequence[str], older_than_s: float = 3600.0) -> int:
    """Delete tag-write working copies left by a killed process; returns how many went.

    A tag write holds an exclusive ``flock`` on its copy for as long as it works on it, and after
    taking the lock checks that the copy's name is still its own (see :mod:`musictag.tags.working_copy`). So a
    copy whose lock this sweep can take is a dead writer's, or one not yet locked whose writer
    will notice and start another: it goes at once, unlinked while the lock is held. A copy
    untouched for ``older_than_s`` goes in any case (by ctime: the copy keeps the original's
    mtime), and a symbolic link under such a name (planted: musictag's copies are never links) goes
    at once, the link alone. A tag write running right now in another process is never disturbed, and
    the original file was never replaced by an unfinished copy, so nothing of the user's is lost.
    """
    removed = 0
    now = time.time()
    for path in paths:
        with contextlib.suppress(OSError):
            st = os.lstat(path)
            if stat_mod.S_ISLNK(st.st_mode) or now - st.st_ctime > older_than_s:  # a link is never a copy in use
                os.unlink(path)  # the name goes; what a link points to is never touched
                removed += 1
            elif _unlink_if_unheld(path):
                removed += 1
    return removed


def _unlink_if_unheld(path: str) -> bool:
    """Unlink the working copy ``path`` if no tag write holds its flock; links are left alone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False  # a link, or unreadable: leave it to the age rule
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held, named = os.fstat(fd), os.lstat(path)
        if not os.path.samestat(held, named):
            return False  # the name changed hands since it was opened
        os.unlink(path)  # under the lock: a writer waiting for it finds its name gone and starts anew
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def stat_failure(path: str) -> str:
    """Why ``os.stat`` fails on a path the walk found, in words."""
    if os.path.islink(path) and not os.path.exists(path):
        return "broken symbolic link"
    try:
        os.stat(path)
    except OSError as e:
        return f"cannot read the file: {e.strerror or e}"
    return "file vanished during the scan"
