"""The scan's walk: hidden and ignored folders, links, and leftover working copies of tag writes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from musictag.scan.discover import find_audio, remove_leftover_copies
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


def test_leftover_copies_of_killed_tag_writes_are_found_and_removed_at_once(tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    audiogen.write_audio(music / "a.flac", audiogen.sweep(6.0, sr=22050), 22050, "flac")
    copies = [music / ".a.flac.x1y2.musictag-tmp", music / ".z3w4.musictag-tmp"]
    for copy in copies:
        shutil.copy(music / "a.flac", copy)
    other_hidden = music / ".notes"
    other_hidden.write_text("mine")
    found = find_audio([music])
    assert sorted(found.leftovers) == sorted(map(str, copies))
    assert [path for _, path, _ in found.files] == [str(music / "a.flac")]  # copies are never analysed
    assert remove_leftover_copies(found.leftovers) == 2  # just made, but nobody holds them
    assert not any(copy.exists() for copy in copies) and other_hidden.read_text() == "mine"


def test_a_copy_in_use_is_kept_until_its_writer_is_gone_or_it_is_an_hour_old(tmp_path: Path) -> None:
    import fcntl

    held, dead = tmp_path / ".1a2b3c4d.musictag-tmp", tmp_path / ".5e6f7a8b.musictag-tmp"
    for copy in (held, dead):
        copy.write_bytes(b"partial copy" * 1000)
    with open(held, "rb") as writer:  # a tag write in progress holds its copy's lock
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)
        assert remove_leftover_copies([str(held), str(dead)]) == 1
        assert held.exists() and not dead.exists()
        assert remove_leftover_copies([str(held)], older_than_s=-1) == 1  # untouched too long
    held.write_bytes(b"partial copy")
    assert remove_leftover_copies([str(held)]) == 1  # its writer is gone now


def test_a_link_in_place_of_a_copy_is_removed_at_once_and_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "precious.flac"
    target.write_bytes(b"user's file")
    link = tmp_path / ".9a9b9c9d.musictag-tmp"
    link.symlink_to(target)
    assert remove_leftover_copies([str(link)]) == 1  # planted: musictag's copies are never links
    assert not os.path.lexists(link) and target.read_bytes() == b"user's file"


def test_a_tag_write_whose_copy_is_swept_before_it_is_locked_starts_another(
        tmp_path: Path, monkeypatch) -> None:
    from musictag.tags import tagfile as tags
    from musictag.tags import working_copy

    song = tmp_path / "a.flac"
    audiogen.write_audio(song, audiogen.sweep(3.0, sr=22050), 22050, "flac")
    real_flock, swept = working_copy.fcntl.flock, []

    def sweep_first(fd: int, op: int) -> None:  # a scan's sweep runs between create and lock
        if not swept:
            swept.extend(str(p) for p in tmp_path.glob(".*.musictag-tmp"))
            assert remove_leftover_copies(swept) == 1
        real_flock(fd, op)

    monkeypatch.setattr(working_copy.fcntl, "flock", sweep_first)
    tags.write_genres(song, ["Jazz"])
    monkeypatch.undo()
    assert len(swept) == 1 and tags.read_genres(song) == ["Jazz"]
    assert [p.name for p in tmp_path.iterdir()] == ["a.flac"]
