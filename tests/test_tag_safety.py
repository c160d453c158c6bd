"""A tag write cannot be turned against another file: its working copy is never written through a name."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from musictag.tags import tagfile as tags
from musictag.tags.tagfile import TagError, read_genres, write_genres
from musictag.tags.working_copy import TEMP_SUFFIX
from tests import audiogen


@pytest.fixture
def track(tmp_path: Path) -> Path:
    shared = tmp_path / "shared"  # a folder others can write to
    shared.mkdir()
    return audiogen.write_audio(shared / "song.mp3", audiogen.sweep(3.0), 44100, "mp3")


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    private = tmp_path / "private"
    private.mkdir()
    path = private / "secret"
    path.write_bytes(b"root-owned secret\n" * 100)
    path.chmod(0o600)
    return path


def _swap_for_link(folder: Path, victim: Path) -> int:
    """Replace every working copy in ``folder`` by a symbolic link to ``victim``; return how many."""
    swapped = 0
    for entry in os.scandir(folder):
        if entry.name.endswith(TEMP_SUFFIX) and not entry.is_symlink():
            try:
                os.unlink(entry.path)
                os.symlink(victim, entry.path)
                swapped += 1
            except OSError:
                pass
    return swapped


def test_a_copy_swapped_for_a_link_writes_nothing_through_it(track, victim, monkeypatch):
    """The attacker wins the race at the worst moment: after the copy is made, before the tag is saved."""
    before = victim.read_bytes()
    real_save = tags._save
    swaps = []

    def attacked_save(*args, **kwargs):
        swaps.append(_swap_for_link(track.parent, victim))
        return real_save(*args, **kwargs)

    monkeypatch.setattr(tags, "_save", attacked_save)
    audio = track.read_bytes()
    with pytest.raises(TagError, match="replaced by someone else"):
        write_genres(track, ["Rock"])
    assert swaps == [1]
    assert victim.read_bytes() == before and victim.stat().st_mode & 0o777 == 0o600
    assert track.read_bytes() == audio  # the file itself is as it was
    assert [p.name for p in track.parent.iterdir()] == [track.name]  # the planted link is gone too


def test_racing_swaps_never_touch_a_foreign_file(track, victim):
    before = victim.read_bytes()
    stop = threading.Event()
    swapped = [0]

    def attacker() -> None:
        while not stop.is_set():
            swapped[0] += _swap_for_link(track.parent, victim)

    thread = threading.Thread(target=attacker, daemon=True)
    thread.start()
    outcomes = []
    try:
        for i in range(20):
            try:
                write_genres(track, [f"Genre {i}"])
                outcomes.append(read_genres(track) == [f"Genre {i}"])
            except TagError as e:
                assert "replaced by someone else" in e.reason or "cannot write the genre tag" in e.reason
                outcomes.append(None)
    finally:
        stop.set()
        thread.join()
    assert victim.read_bytes() == before and victim.stat().st_mode & 0o777 == 0o600
    assert all(o is not False for o in outcomes)  # every write that succeeded wrote what it said
    assert not track.is_symlink() and read_genres(track) is not None


def test_a_name_near_the_limit_can_be_tagged(tmp_path):
    name = "a" * 240 + ".mp3"  # the old working copy's name added 23 bytes: over 255
    path = audiogen.write_audio(tmp_path / "x.mp3", audiogen.sweep(2.0), 44100, "mp3")
    long = tmp_path / name
    shutil.move(path, long)
    write_genres(long, ["Rock"])
    assert read_genres(long) == ["Rock"]
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_scan_writes_no_tag_through_a_link_out_of_the_scanned_folders(tmp_path):
    from musictag.scan.orchestration import scan
    from musictag.scan.report import ScanOptions

    music, elsewhere = tmp_path / "music", tmp_path / "elsewhere"
    music.mkdir()
    elsewhere.mkdir()
    inside = audiogen.write_audio(music / "inside.mp3", audiogen.sweep(3.0), 44100, "mp3")
    target = audiogen.write_audio(elsewhere / "target.mp3", audiogen.sweep(3.0, seed=1), 44100, "mp3")
    (music / "link.mp3").symlink_to(target)
    untouched = target.read_bytes()
    report = scan([music], tmp_path / "l.db", ScanOptions(min_confidence=0.0, jobs=1))
    assert (report.analysed, report.tagged, report.outside) == (2, 1, 1)
    assert read_genres(inside) and target.read_bytes() == untouched
    # scanned as a folder of its own, the same file is tagged through its own path
    report = scan([music, elsewhere], tmp_path / "l.db", ScanOptions(min_confidence=0.0, jobs=1))
    assert report.tagged == 1 and read_genres(target)
