"""Every fingerprint musictag takes of a file, in one place.

- :func:`quick_hash`: a user's audio file, cheaply (size and three 64 KiB samples): how the library
  knows a file again after a move, and the same audio under two names.
- :func:`content_hash`: the same of bytes read by position, also of a file's audio alone, its tags left out
  (:func:`musictag.audio.payload.audio_hash`: how a scan tells a tag edit from an audio change).
- :func:`file_digest`: a whole file's bytes (SHA-256 of a backbone against its manifest; SHA-1 of a
  model's weights for its id, of the similarity index for its checksum, of a training track for the
  feature cache).

Standard library only: a scan worker imports it without SQLite or the library.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable

_CHUNK = 1 << 16
_BLOCK = 1 << 20


def quick_hash(path: str | bytes | os.PathLike) -> str:
    """A cheap content fingerprint: BLAKE2b of the size and the first, middle and last 64 KiB."""
    with open(path, "rb") as f:
        fd = f.fileno()
        return content_hash(os.fstat(fd).st_size, lambda offset, n: os.pread(fd, n, offset))


def content_hash(size: int, read_at: Callable[[int, int], bytes]) -> str:
    """:func:`quick_hash` of a file already open: its ``size`` and ``read_at(offset, n)``."""
    h = hashlib.blake2b(size.to_bytes(8, "little"), digest_size=16)
    if size <= 3 * _CHUNK:
        h.update(read_at(0, size))
    else:
        for offset in (0, size // 2 - _CHUNK // 2, size - _CHUNK):
            h.update(read_at(offset, _CHUNK))
    return h.hexdigest()


def file_digest(paths: Iterable[str | os.PathLike], algorithm: str = "sha256", salt: bytes = b"") -> str:
    """Hex digest (``hashlib`` ``algorithm``) of ``salt`` then each file's bytes in turn, read in 1 MiB blocks.

    Raises ``OSError`` when a file cannot be read.
    """
    h = hashlib.new(algorithm, salt)
    for path in paths:
        with open(path, "rb") as f:
            for block in iter(lambda f=f: f.read(_BLOCK), b""):
                h.update(block)
    return h.hexdigest()
