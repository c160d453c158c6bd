"""Reaching a library file: where it lives by default, the one real file behind a name, whether a file is a
musictag library (found without changing it), the writer lock, read-only connections that also work on a
read-only share, and what an SQLite error means to the user."""

from __future__ import annotations

import errno
import os
import shlex
import sqlite3
import stat
from pathlib import Path

from musictag.errors import MusictagError, UsageError
from musictag.paths import printable


def default_db_path() -> Path:
    """``$MUSICTAG_DB``, else ``library.db`` in the platform's user data folder for musictag."""
    env = os.environ.get("MUSICTAG_DB")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("musictag")) / "library.db"


class LibraryBusy(MusictagError):
    """Another musictag process is writing to the same library: the command is refused (exit code 2, as for
    any refusal; 1 means that files failed)."""

    exit_code = 2


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


def library_file(path: Path) -> Path:
    """The one real file behind the name ``path``, links resolved: SQLite opens it, and its ``-wal``, ``-shm`` and
    writer lock lie beside it, so every name of a library shares them.

    Raises :class:`UsageError` for something that is not a regular file, and for a file with more than one
    hard link: SQLite keeps the write-ahead log beside the name it was opened by, so two names would be two logs.
    """
    real = Path(os.path.realpath(path))
    try:
        st = real.stat()
    except FileNotFoundError:
        return real
    except OSError as e:
        raise UsageError(f"{path}: cannot be reached ({e.strerror}); give another --db") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: not a file; give a library file as --db")
    if st.st_nlink > 1:
        raise UsageError(f"{path}: the library file has {st.st_nlink} names (hard links), and SQLite keeps a journal "
                         "beside each name, so writing through two of them damages it: delete the other names "
                         f"(`find / -samefile {shlex.quote(str(path))}` lists them), or give a copy as --db")
    return real


def identify(real: Path, shown: Path) -> None:
    """Raise :class:`UsageError` unless the existing file ``real`` (named ``shown``) is a musictag library of a schema
    this version reads; :class:`LibraryBusy` instead when a musictag writer holds its lock (it is being created).

    Nothing is changed or created: the header is read as bytes, then the tables through a read-only connection
    that reads a WAL-mode file with no ``-wal`` beside it as immutable (where SQLite would create a ``-wal`` and
    a ``-shm``). Called before the writer lock is taken or WAL is enabled, so another program's file stays as it was.
    """
    try:
        _identify(real, shown)
    except UsageError:
        holder = lock_holder(real)
        if holder is not None:
            raise _busy(real, shown, holder) from None
        raise


def _identify(real: Path, shown: Path) -> None:
    from sqlite_utils import Database

    from musictag.library.schema import check_version

    with open(real, "rb") as f:
        header = f.read(100)
    if not header:
        raise UsageError(f"{shown}: an empty file, not a musictag library; give another --db (or delete the empty "
                         "file to build a new library there)")
    if not header.startswith(b"SQLite format 3\x00"):
        raise UsageError(database_problem(shown, sqlite3.DatabaseError("file is not a database")))
    wal_mode = len(header) > 18 and header[18] == 2
    if wal_mode and not real.with_name(real.name + "-wal").exists():
        conn = sqlite3.connect(f"{real.as_uri()}?mode=ro&immutable=1", uri=True)
    else:
        conn = connect_readonly(real)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        check_version(Database(conn), shown)
    except sqlite3.DatabaseError as e:
        raise UsageError(database_problem(shown, e)) from None
    finally:
        conn.close()


def _lock_path(real: Path) -> Path:
    return real.with_name(real.name + ".lock")


def _try_lock(f) -> bool:
    """Take the lock on the open file ``f`` without waiting; False when another process holds it."""
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def lock_holder(real: Path) -> str | None:
    """What the writer lock of the library file ``real`` says while a process holds it (its pid), else None.

    Looks without creating anything: a lock file that does not exist is not held.
    """
    try:
        f = os.fdopen(os.open(_lock_path(real), os.O_RDONLY | os.O_NOFOLLOW))
    except OSError:
        return None
    with f:  # closing it releases a lock taken here
        return None if _try_lock(f) else f.read().strip()


def _busy(real: Path, shown: Path, holder: str) -> LibraryBusy:
    also = "" if Path(os.path.abspath(shown)) == real else f" (the file {real})"
    who = f" (pid {holder})" if holder.isdigit() else ""
    return LibraryBusy(f"the library {shown}{also} is in use by another musictag scan or restore{who}; "
                       "wait for it to finish, or use --db for another library")


def acquire_lock(real: Path, shown: Path):
    """Take the exclusive writer lock of the library file ``real`` (named ``shown``): a locked ``<real>.lock`` file
    holding our pid, beside the real file, so every name of the library takes the same lock."""
    try:
        # held open for the life of the Library; a link planted at the lock's name is not followed
        f = os.fdopen(os.open(_lock_path(real), os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644), "a+")
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UsageError(f"{printable(str(_lock_path(real)))} is a symbolic link, not the library's lock file: "
                             "remove it (musictag never writes through a link it did not make)") from None
        raise UsageError(f"{shown}: the library is in a place musictag cannot write ({e.strerror}); this command "
                         "changes it: give a --db in a folder you can write to") from None
    if not _try_lock(f):
        f.seek(0)
        holder = f.read().strip()
        f.close()
        raise _busy(real, shown, holder)
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f
