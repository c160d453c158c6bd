"""Genre tags in every format: written, read back with mutagen itself, restored, nothing else touched."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf
from mutagen.asf import ASF
from mutagen.id3 import ID3, TALB, TCON, TIT2, TPE1, TRCK, TYER, Encoding
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4

from musictag.audio import decode as audio
from musictag.tags.fields import GENRE_FIELDS, display_name
from musictag.tags.tagfile import TagError, TagFile, read_genres, write_genres
from tests import audiogen

FORMATS = list(audiogen.FORMATS)
ID3_FORMATS = ["mp3", "wav", "aiff"]
#: formats whose files start with a genre already (the others have none)
WITH_GENRE = {"mp3", "aiff", "flac", "opus", "aac", "wma"}
_GENRE_KEYS = {field.lower() for field in GENRE_FIELDS.values()}


def snapshot(path: Path) -> dict:
    """What a backup records of the file's genre field."""
    return TagFile(path).snapshot()


def restore_snapshot(path: Path, snap: dict) -> None:
    """Put the genre field back as ``snap`` recorded it."""
    TagFile(path).restore(snap)


def _copy(untagged_files: dict[str, Path], fmt: str, folder: Path, genres: list[str] | None = None,
          other_tags: bool = True) -> Path:
    path = folder / untagged_files[fmt].name
    shutil.copy(untagged_files[fmt], path)
    if other_tags:
        _prefill(path, genres)
    return path


def _prefill(path: Path, genres: list[str] | None, id3_version: int = 4) -> None:
    """Title, artist, album, track number and optionally a genre, written with mutagen directly."""
    f = mutagen.File(path)
    if f.tags is None:
        f.add_tags()
    tags = f.tags
    if isinstance(tags, ID3):
        for frame in (TIT2(encoding=3, text="A Title"), TPE1(encoding=3, text="An Artist"),
                      TALB(encoding=3, text="An Album"), TRCK(encoding=3, text="3/12")):
            tags.add(frame)
        if genres:
            tags.add(TCON(encoding=3, text=genres))
        if id3_version == 3:
            tags.add(TYER(encoding=3, text="2001"))
            f.save(v2_version=3)
            return
    elif isinstance(f, MP4):
        tags.update({"\xa9nam": ["A Title"], "\xa9ART": ["An Artist"], "\xa9alb": ["An Album"],
                     "trkn": [(3, 12)]})
        if genres:
            tags["\xa9gen"] = genres
    elif isinstance(f, ASF):
        for key, value in (("Title", "A Title"), ("Author", "An Artist"),
                           ("WM/AlbumTitle", "An Album"), ("WM/TrackNumber", "3")):
            tags[key] = [value]
        if genres:
            tags["WM/Genre"] = genres
    else:
        for key, value in (("TITLE", "A Title"), ("ARTIST", "An Artist"), ("ALBUM", "An Album"),
                           ("TRACKNUMBER", "3")):
            tags[key] = [value]
        if genres:
            tags["GENRE"] = genres
    f.save()


def _other_tags(path: Path, text_only: bool = False) -> list[tuple[str, str]]:
    """Every tag but the genre, exactly (``repr``, with ID3 text encodings) or as text only."""
    f = mutagen.File(path)
    if f.tags is None:
        return []
    show = str if text_only else repr
    return sorted((str(key).lower(), show(value)) for key, value in f.tags.items()
                  if str(key).lower() not in _GENRE_KEYS)


def _pcm(path: Path, fmt: str) -> list[np.ndarray]:
    """The decoded audio; for lossless formats libsndfile reads also the raw 16-bit samples."""
    decoded = [audio.load(path)]
    if fmt in ("wav", "aiff", "flac"):
        decoded.append(sf.read(path, dtype="int16")[0])
    return decoded


def _same_audio(before: list[np.ndarray], after: list[np.ndarray]) -> bool:
    return len(before) == len(after) and all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_sets_the_genre_and_touches_nothing_else(untagged_files, tmp_path, fmt):
    path = _copy(untagged_files, fmt, tmp_path, ["Blues"] if fmt in WITH_GENRE else None)
    others, pcm = _other_tags(path), _pcm(path, fmt)
    write_genres(path, ["Rock"])
    assert audiogen.raw_genres(path) == ["Rock"]
    assert read_genres(path) == ["Rock"]
    assert _other_tags(path) == others
    assert _same_audio(pcm, _pcm(path, fmt))
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left


@pytest.mark.parametrize("fmt", FORMATS)
def test_several_genres_are_native_multi_values(untagged_files, tmp_path, fmt):
    path = _copy(untagged_files, fmt, tmp_path, ["Blues"] if fmt in WITH_GENRE else None)
    write_genres(path, ["Rock", "Hip-Hop"])
    assert audiogen.raw_genres(path) == ["Rock", "Hip-Hop"]
    assert read_genres(path) == ["Rock", "Hip-Hop"]


@pytest.mark.parametrize("fmt", ID3_FORMATS)
def test_id3v23_writes_a_new_tag_as_v23_and_joins_several_genres(untagged_files, tmp_path, fmt):
    path = _copy(untagged_files, fmt, tmp_path, other_tags=False)
    assert mutagen.File(path).tags is None
    write_genres(path, ["Rock", "Hip-Hop"], id3v23=True)
    assert mutagen.File(path).tags.version == (2, 3, 0)
    assert audiogen.raw_genres(path) == ["Rock; Hip-Hop"]


@pytest.mark.parametrize("fmt", ID3_FORMATS)
def test_id3v23_leaves_an_existing_v24_tag_as_it_is(untagged_files, tmp_path, fmt):
    path = _copy(untagged_files, fmt, tmp_path, ["Blues"])
    frames = {f.FrameID: (f.encoding, f.text) for f in mutagen.File(path).tags.values() if f.FrameID != "TCON"}
    assert {e for e, _ in frames.values()} == {Encoding.UTF8}
    write_genres(path, ["Rock", "Hip-Hop"], id3v23=True)
    tags = mutagen.File(path).tags
    assert tags.version == (2, 4, 0)
    assert audiogen.raw_genres(path) == ["Rock", "Hip-Hop"]
    assert {f.FrameID: (f.encoding, f.text) for f in tags.values() if f.FrameID != "TCON"} == frames


def test_an_id3v23_tag_stays_v23_with_its_own_frames(untagged_files, tmp_path):
    path = _copy(untagged_files, "mp3", tmp_path, other_tags=False)
    _prefill(path, ["Blues"], id3_version=3)
    write_genres(path, ["Rock", "Jazz"])
    raw = ID3(path, translate=False)  # as stored: mutagen would otherwise show TYER as TDRC
    assert raw.version == (2, 3, 0)
    assert raw["TYER"].text == ["2001"] and "TDRC" not in raw
    assert raw["TCON"].text == ["Rock; Jazz"]


@pytest.mark.parametrize("had_genre", [True, False], ids=["genre", "no-genre"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_restore_brings_back_the_exact_original(untagged_files, tmp_path, fmt, had_genre):
    path = _copy(untagged_files, fmt, tmp_path, ["Blues", "Soul"] if had_genre else None)
    genres, others, pcm = audiogen.raw_genres(path), _other_tags(path), _pcm(path, fmt)
    snap = json.loads(json.dumps(snapshot(path)))
    assert snap["field"] == GENRE_FIELDS[snap["format"]]
    assert snap["present"] is had_genre and snap["tag_block"] is True
    write_genres(path, ["Rock", "Jazz"])
    restore_snapshot(path, snap)
    assert audiogen.raw_genres(path) == genres
    assert _other_tags(path) == others
    assert _same_audio(pcm, _pcm(path, fmt))


@pytest.mark.parametrize("encoding", [Encoding.LATIN1, Encoding.UTF16, Encoding.UTF8])
def test_restore_gives_the_genre_frame_back_in_its_own_encoding(untagged_files, tmp_path, encoding):
    path = _copy(untagged_files, "mp3", tmp_path, other_tags=False)
    tags = ID3()
    tags.add(TCON(encoding=encoding, text=["Blues"]))
    tags.save(path)
    snap = json.loads(json.dumps(snapshot(path)))
    write_genres(path, ["Rock"])
    restore_snapshot(path, snap)
    frame = ID3(path, translate=False).getall("TCON")[0]
    assert (frame.encoding, frame.text) == (encoding, ["Blues"])


@pytest.mark.parametrize("fmt", ["mp3", "wav", "aiff", "flac"])
def test_restore_removes_a_tag_block_the_file_did_not_have(untagged_files, tmp_path, fmt):
    path = _copy(untagged_files, fmt, tmp_path, other_tags=False)
    if fmt == "flac":  # libsndfile writes an empty Vorbis comment block: take it away
        mutagen.File(path).delete()
    assert mutagen.File(path).tags is None
    original, pcm = path.read_bytes(), _pcm(path, fmt)
    snap = snapshot(path)
    assert snap["tag_block"] is False and snap["present"] is False
    write_genres(path, ["Rock"])
    assert audiogen.raw_genres(path) == ["Rock"]
    restore_snapshot(path, snap)
    assert mutagen.File(path).tags is None
    assert _same_audio(pcm, _pcm(path, fmt))
    if fmt != "flac":  # FLAC keeps a padding block where the comments were
        assert path.read_bytes() == original


def test_snapshot_records_raw_values_and_the_id3_version(untagged_files, tmp_path):
    path = _copy(untagged_files, "mp3", tmp_path, other_tags=False)
    _prefill(path, ["(17)"], id3_version=3)  # an ID3v1 genre number, as old taggers wrote it
    snap = snapshot(path)
    assert snap == {"format": "mp3", "field": "TCON", "tag_block": True, "present": True,
                    "values": ["(17)"], "id3_version": 3, "id3_encoding": Encoding.UTF16}  # v2.3 has no UTF-8
    assert read_genres(path) == ["Rock"]
    write_genres(path, ["Jazz", "Blues"])
    restore_snapshot(path, snap)
    raw = ID3(path, translate=False)
    assert raw.version == (2, 3, 0) and raw["TCON"].text == ["(17)"]


def test_restore_after_a_version_change_puts_version_and_raw_values_back(untagged_files, tmp_path):
    path = _copy(untagged_files, "mp3", tmp_path, ["(17)"])
    snap = snapshot(path)
    write_genres(path, ["Jazz", "Blues"], id3v23=True)
    restore_snapshot(path, snap)
    raw = ID3(path, translate=False)
    assert raw.version == (2, 4, 0) and raw["TCON"].text == ["(17)"]


def test_restore_refuses_a_backup_of_another_format_or_a_damaged_one(untagged_files, tmp_path):
    mp3 = _copy(untagged_files, "mp3", tmp_path, ["Blues"])
    flac = _copy(untagged_files, "flac", tmp_path, ["Blues"])
    with pytest.raises(TagError, match="backup is of a mp3 file, this is a flac file"):
        restore_snapshot(flac, snapshot(mp3))
    for damaged in ({"format": "flac"}, snapshot(flac) | {"values": "Blues"}):
        with pytest.raises(TagError, match="backup is damaged"):
            restore_snapshot(flac, damaged)
    assert audiogen.raw_genres(flac) == ["Blues"]


@pytest.mark.parametrize(("fmt", "name"), [("flac", "misnamed.mp3"), ("ogg", "misnamed.flac"),
                                           ("mp3", "misnamed.flac"), ("wav", "misnamed.m4a")])
def test_format_is_found_by_content(untagged_files, tmp_path, fmt, name):
    path = tmp_path / name
    shutil.copy(untagged_files[fmt], path)
    write_genres(path, ["Rock"])
    assert snapshot(path)["format"] == fmt
    assert read_genres(path) == ["Rock"]


def test_a_failed_save_leaves_the_file_untouched(untagged_files, tmp_path, monkeypatch):
    path = _copy(untagged_files, "mp3", tmp_path, ["Blues"])
    original = path.read_bytes()

    def half_write(self, target, *args, **kwargs):
        target.truncate(100)  # what an interrupted in-place save leaves behind (in the working copy)
        raise mutagen.MutagenError("disk full")

    monkeypatch.setattr(MP3, "save", half_write)
    with pytest.raises(TagError, match="cannot write the genre tag: disk full"):
        write_genres(path, ["Rock"])
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_mode_and_symbolic_links_are_kept(untagged_files, tmp_path):
    path = _copy(untagged_files, "flac", tmp_path)
    path.chmod(0o640)
    link = tmp_path / "link.flac"
    link.symlink_to(path)
    write_genres(link, ["Rock"])
    assert link.is_symlink() and audiogen.raw_genres(path) == ["Rock"]
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write read-only files")
def test_read_only_file(untagged_files, tmp_path):
    path = _copy(untagged_files, "mp3", tmp_path, ["Blues"])
    path.chmod(0o444)
    with pytest.raises(TagError) as error:
        write_genres(path, ["Rock"])
    assert error.value.reason == "read-only file: cannot write the genre tag"
    assert audiogen.raw_genres(path) == ["Blues"]


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("notes.txt", b"just some words\n" * 20, "unsupported format for tags"),
    ("fake.mp3", b"just some words\n" * 20, "cannot read tags: "),
    ("fake.flac", b"just some words\n" * 20, "cannot read tags: "),
    ("empty.wav", b"", "empty file (0 bytes)"),
])
def test_a_file_that_is_not_audio(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    for call in (read_genres, snapshot, lambda p: write_genres(p, ["Rock"])):
        with pytest.raises(TagError) as error:
            call(path)
        assert error.value.reason.startswith(reason)
        assert error.value.path == str(path) and "\n" not in str(error.value)
    assert path.read_bytes() == content


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(TagError, match="file not found"):
        read_genres(tmp_path / "gone.mp3")
    with pytest.raises(TagError, match="not a regular file"):
        write_genres(tmp_path, ["Rock"])


def test_write_refuses_empty_genre_names(untagged_files, tmp_path):
    path = _copy(untagged_files, "ogg", tmp_path)
    with pytest.raises(ValueError):
        write_genres(path, ["Rock", " "])
    write_genres(path, [])  # no genres: the field goes
    assert audiogen.raw_genres(path) is None


@pytest.mark.parametrize(("key", "name"), [("hiphop", "Hip-Hop"), ("rock", "Rock"), ("rnb", "R&B"),
                                           ("classical", "Classical"), ("drum_and_bass", "Drum And Bass"),
                                           ("80s pop", "80s Pop")])
def test_display_name(key, name):
    assert display_name(key) == name


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_parse_reads_labels_snapshots_and_writes(untagged_files, tmp_path, fmt, monkeypatch):
    from musictag.tags import tagfile as tags

    path = _copy(untagged_files, fmt, tmp_path, ["Blues"] if fmt in WITH_GENRE else None)
    loads = []
    real_load = tags._load
    monkeypatch.setattr(tags, "_load", lambda *a: loads.append(a[2]) or real_load(*a))
    tag_file = tags.TagFile(path)
    tag_file.label_fields()
    snap = tag_file.snapshot()
    tag_file.write(["Rock"])
    assert len(loads) == 2 and isinstance(loads[0], str) and not isinstance(loads[1], str)  # the file, then the copy
    assert read_genres(path) == ["Rock"] and snap["values"] == (["Blues"] if fmt in WITH_GENRE else [])


@pytest.mark.parametrize("fmt", ["flac", "mp3", "aac", "wav"])
def test_a_file_replaced_after_parsing_is_written_from_its_new_content(untagged_files, tmp_path, fmt):
    """A parse is reused only while the file is unchanged: saving the old parse into other audio
    would put the old file's stream headers on the new one."""
    from musictag.tags import tagfile as tags

    path = _copy(untagged_files, fmt, tmp_path, None)
    tag_file = tags.TagFile(path)
    other = audiogen.write_audio(tmp_path / f"other{path.suffix}", audiogen.tone(330, 3.0, 44100), 44100, fmt)
    _prefill(other, ["Jazz"])
    pcm = _pcm(other, fmt)
    os.replace(other, path)
    tag_file.write(["Rock"])
    assert read_genres(path) == ["Rock"] and _same_audio(pcm, _pcm(path, fmt))


def test_given_the_sniffed_format_the_tag_file_reads_that_format_and_no_other(untagged_files, tmp_path):
    disguised = tmp_path / "song.flac"  # MP3 content under a FLAC name
    shutil.copy(untagged_files["mp3"], disguised)
    tag_file = TagFile(disguised, "mp3")
    assert tag_file.format == "mp3" and tag_file.field == "TCON"
    tag_file.write(["Rock"])
    assert read_genres(disguised) == ["Rock"]
    with pytest.raises(TagError, match="cannot read tags: "):
        TagFile(disguised, "flac")  # not guessed again: the sniffed format is trusted
    with pytest.raises(TagError, match="unsupported format for tags"):
        TagFile(disguised, "au")
