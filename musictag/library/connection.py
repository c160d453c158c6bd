"""Reaching a library file: where it lives by default, the writer lock, read-only connections that also work on
a read-only share, and what an SQLite error means to the user."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from musictag.errors import MusictagError, UsageError


def default_db_path() -> Path:
    """``$MUSICTAG_DB``, else ``library.db`` in the platform's user data folder for musictag."""
    env = os.environ.get("MUSICTAG_DB")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("musictag")) / "library.db"


class LibraryBusy(MusictagError):
    """Another musictag process is writing to the same library."""


def database_problem(path: Path | None, error: sqlite3.Error) -> str:
    """One line that says what is wrong with the library database and what to do about it."""
    text = str(error)
    where = f"{path}: " if path is not None else "the library: "
    if "full" in text:
        return (f"{where}the disk that holds the library is full ({text}); free some space and run the same command "
                "again: what was saved is kept, and no tag was written before its backup was saved")
    if "not a database" in text or "encrypted" in text:
        return (f"{where}not a usable musictag library: not an SQLite database, or damaged beyond reading ({text}); "
                "give another --db, or move it aside and scan again to build a new one")
    if "malformed" in text:
        return (f"{where}the library database is damaged ({text}); move it aside (keep it: it holds the backups "
                "`musictag restore` needs) and scan again to build a new one")
    if "readonly" in text or "read-only" in text:
        return f"{where}the library cannot be written here ({text}); give a --db in a folder you can write to"
    if "no such column" in text or "no such table" in text:
        return f"{where}not a musictag library, or one of another version ({text}); give another --db"
    if "locked" in text or "busy" in text:
        return f"{where}the library is busy in another program ({text}); try again when it is done"
    return f"{where}library database error ({text})"


def writable(db_path: Path) -> bool:
    """Whether this process may write the library at ``db_path`` (its file, and its folder for the journal)."""
    folder = db_path.parent
    return os.access(folder, os.W_OK | os.X_OK) and (not db_path.exists() or os.access(db_path, os.W_OK))


def connect_readonly(db_path: Path) -> sqlite3.Connection:
    """Open a library read-only, also where nothing can be written (a read-only share or folder).

    SQLite's WAL mode needs a writable ``-shm`` file even to read; where the folder is read-only
    the file is opened as immutable, which reads the main database file as it is.
    """
    uri = db_path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True)
    if writable(db_path):
        return conn
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)


def acquire_lock(db_path: Path):
    """Take the exclusive writer lock of a library (a locked ``<db>.lock`` file holding our pid)."""
    lock_path = db_path.with_name(db_path.name + ".lock")
    try:
        f = open(lock_path, "a+")  # held open for the life of the Library
    except OSError as e:
        raise UsageError(f"{db_path}: the library is in a place musictag cannot write ({e.strerror}); this command "
                         "changes it: give a --db in a folder you can write to") from None
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read().strip()
        f.close()
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise LibraryBusy(f"the library {db_path} is in use by another musictag scan or restore{who}; "
                          "wait for it to finish, or use --db for another library") from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f
