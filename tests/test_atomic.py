"""Files musictag writes for itself: replaced atomically, leftovers of killed writers swept once old."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from musictag import atomic


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "lib.annoy"
    target.write_text("old")

    def half_write(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic.replace_atomically(target, half_write)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["lib.annoy"]
    atomic.replace_atomically(target, lambda tmp: tmp.write_text("new"), suffix=".npy")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["lib.annoy"]


def test_sweep_removes_old_leftovers_only(tmp_path: Path) -> None:
    target = tmp_path / "lib.annoy"
    old, fresh, other = (tmp_path / ".lib.annoy.11.tmp", tmp_path / ".lib.annoy.12.tmp.npy", tmp_path / ".x.1.tmp")
    for path in (old, fresh, other):
        path.write_text("x")
    hour_ago = time.time() - 2 * atomic.LEFTOVER_AGE_S
    os.utime(old, (hour_ago, hour_ago))
    os.utime(other, (hour_ago, hour_ago))
    assert atomic.sweep(target) == 1
    assert not old.exists() and fresh.exists() and other.exists()
