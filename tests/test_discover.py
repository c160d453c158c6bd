"""The scan's walk: hidden and ignored folders, links, and leftover working copies of tag writes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from musictag.discover import find_audio, remove_leftover_copies
from tests import audiogen


def test_find_audio_skips_hidden_and_ignored_folders_and_follows_links_once(tmp_path: Path) -> None:
    for rel in ("a.mp3", "B.FLAC", "notes.txt", ".hidden/c.mp3", ".d.mp3", "skip/e.mp3", "x.flac/f.ogg",
                "deep/er/g.wav"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "skip" / ".musictag-ignore").write_bytes(b"")
    (tmp_path / "deep" / "loop").symlink_to(tmp_path)
    found = find_audio([tmp_path])
    names = sorted(os.path.relpath(p, tmp_path) for _, p, _ in found.files)
    assert names == ["B.FLAC", "a.mp3", "deep/er/g.wav", "x.flac/f.ogg"]


def test_leftover_copies_of_killed_tag_writes_are_removed_once_stale(tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    audiogen.write_audio(music / "a.flac", audiogen.sweep(6.0, sr=22050), 22050, "flac")
    stale = music / ".a.flac.x1y2.musictag-tmp"
    fresh = music / ".a.flac.z3w4.musictag-tmp"
    for copy in (stale, fresh):
        shutil.copy(music / "a.flac", copy)
    other_hidden = music / ".notes"
    other_hidden.write_text("mine")
    found = find_audio([music])
    assert sorted(found.leftovers) == sorted([str(fresh), str(stale)])
    assert [path for _, path, _ in found.files] == [str(music / "a.flac")]  # copies are never analysed
    assert remove_leftover_copies(found.leftovers, older_than_s=3600) == 0  # just made: could be in use
    assert remove_leftover_copies([str(stale)], older_than_s=-1) == 1
    assert not stale.exists() and fresh.exists() and other_hidden.read_text() == "mine"


def test_a_copy_whose_writer_is_gone_is_removed_at_once_one_in_use_is_kept(tmp_path: Path) -> None:
    import fcntl

    held, dead = tmp_path / ".1a2b3c4d.musictag-tmp", tmp_path / ".5e6f7a8b.musictag-tmp"
    for copy in (held, dead):
        copy.write_bytes(b"partial copy" * 1000)
    with open(held, "rb") as writer:  # a tag write in progress holds its copy's lock
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)
        assert remove_leftover_copies([str(held), str(dead)], grace_s=-1) == 1
        assert held.exists() and not dead.exists()
    assert remove_leftover_copies([str(held)], grace_s=-1) == 1  # its writer is gone now
