"""The audio hash: real files in every format, edited with mutagen as tag editors do; it follows the audio alone."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

from musictag.audio.decode import open_audio
from musictag.audio.opened_file import open_file
from musictag.audio.payload import Payload, audio_hash, audio_payload, file_hashes
from musictag.hashing import quick_hash
from musictag.tags.tagfile import read_genres, write_genres
from tests import audiogen

#: A cover as big as a real one: mutagen grows the tag block past its padding and moves the audio.
COVER = b"\xff\xd8\xff\xe0" + os.urandom(300_000)


@pytest.fixture(scope="module")
def long_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One untagged 12-second file per format: long enough that every payload is over three 64 KiB samples."""
    folder = tmp_path_factory.mktemp("payload")
    return {fmt: audiogen.write_audio(folder / f"{fmt}{suffix}", audiogen.sweep(12.0), 44100, fmt)
            for fmt, (suffix, _) in audiogen.FORMATS.items()}


def _hash(path: Path) -> str | None:
    with open_audio(path) as opened:
        return opened.audio_hash()


@pytest.mark.parametrize("fmt", list(audiogen.FORMATS))
def test_tag_edits_leave_the_audio_hash_as_it_was(long_files: dict[str, Path], tmp_path: Path, fmt: str) -> None:
    path = tmp_path / long_files[fmt].name
    shutil.copy(long_files[fmt], path)
    before = _hash(path)
    assert before is not None
    for edit in ({"title": "A Title"}, {"genre": "Jazz"}, {"title": "Another, much longer title " * 20},
                 {"cover": COVER}):
        quick, size = quick_hash(path), path.stat().st_size
        audiogen.edit_tags(path, **edit)
        assert (quick_hash(path), path.stat().st_size) != (quick, size)  # the file did change
        assert _hash(path) == before, edit
    assert path.stat().st_size > long_files[fmt].stat().st_size + len(COVER)
    write_genres(path, ["Ambient", "Dub"])  # musictag's own write: the row keeps its audio hash
    assert read_genres(path) == ["Ambient", "Dub"] and _hash(path) == before
    assert file_hashes(path) == (quick_hash(path), before)


@pytest.mark.parametrize("fmt", list(audiogen.FORMATS))
def test_other_audio_of_the_same_length_has_another_audio_hash(long_files: dict[str, Path], tmp_path: Path,
                                                               fmt: str) -> None:
    other = audiogen.write_audio(tmp_path / long_files[fmt].name, audiogen.sweep(12.0, seed=1), 44100, fmt)
    assert _hash(other) != _hash(long_files[fmt])


def test_altered_samples_change_the_audio_hash(long_files: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "altered.wav"
    data = bytearray(long_files["wav"].read_bytes())
    with open_file(long_files["wav"]) as opened:
        (start, length), = audio_payload(opened, "wav").spans
    data[start + length // 2] ^= 0x01  # one bit of one sample, in the middle of the audio
    path.write_bytes(bytes(data))
    assert _hash(path) != _hash(long_files["wav"])


def test_a_moov_before_mdat_grown_by_a_cover_moves_the_audio_and_keeps_its_hash(tmp_path: Path) -> None:
    import av

    source = audiogen.write_audio(tmp_path / "source.m4a", audiogen.sweep(12.0), 44100, "aac")
    path = tmp_path / "faststart.m4a"
    with av.open(str(source)) as src, av.open(str(path), "w", format="mp4",
                                              options={"movflags": "faststart"}) as out:
        stream = out.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    with open_file(path) as opened:
        before = audio_payload(opened, "m4a")
    head = path.read_bytes()
    assert head.index(b"moov") < head.index(b"mdat")
    hashed = _hash(path)
    audiogen.edit_tags(path, title="T", genre="Jazz", cover=COVER)
    with open_file(path) as opened:
        after = audio_payload(opened, "m4a")
    assert after.spans[0][0] > before.spans[0][0] + len(COVER)  # mutagen moved the audio
    assert _hash(path) == hashed


def test_id3v1_and_apev2_tags_at_the_end_are_left_out(long_files: dict[str, Path], tmp_path: Path) -> None:
    from mutagen.apev2 import APEv2
    from mutagen.id3 import ID3, TIT2

    path = tmp_path / "tags.mp3"
    shutil.copy(long_files["mp3"], path)
    before = _hash(path)
    ape = APEv2()
    ape["Title"] = "A Title"
    ape.save(path)
    assert _hash(path) == before
    tags = ID3()
    tags.add(TIT2(encoding=3, text="A Title"))
    tags.save(path, v1=2)  # an ID3v1 tag as well, after the APEv2 one
    assert path.read_bytes()[-128:-125] == b"TAG" and _hash(path) == before


def test_an_adts_stream_behind_an_id3_tag(tmp_path: Path) -> None:
    from mutagen.id3 import ID3, TIT2

    path = tmp_path / "stream.aac"
    audiogen.write_audio(path.with_suffix(".m4a"), audiogen.sweep(12.0), 44100, "aac")
    import av

    with av.open(str(path.with_suffix(".m4a"))) as src, av.open(str(path), "w", format="adts") as out:
        stream = out.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    before = _hash(path)
    tags = ID3()
    tags.add(TIT2(encoding=3, text="A Title"))
    tags.save(path, v1=2)
    assert path.read_bytes()[:3] == b"ID3" and before is not None and _hash(path) == before


def test_every_format_whose_genre_musictag_writes_has_an_audio_payload() -> None:
    from musictag.audio.formats import FORMATS

    assert {f.name for f in FORMATS.values() if f.tag_kind} <= {f.name for f in FORMATS.values() if f.payload}


def test_formats_and_containers_without_a_known_payload_have_no_audio_hash(long_files: dict[str, Path],
                                                                         tmp_path: Path) -> None:
    au = audiogen.write_audio(tmp_path / "x.au", audiogen.sweep(1.0), 22050, "wav")
    au.write_bytes(b".snd" + struct.pack(">IIIII", 24, 0xFFFFFFFF, 3, 22050, 1) + b"\0" * 4000)
    assert _hash(au) is None
    streamed = bytearray(long_files["wav"].read_bytes())
    at = streamed.index(b"data")
    streamed[at + 4:at + 8] = b"\0\0\0\0"  # a data chunk of unknown length, as a live recorder leaves it
    (tmp_path / "streamed.wav").write_bytes(bytes(streamed))
    with open_file(tmp_path / "streamed.wav") as opened:
        assert audio_hash(opened, "wav") is None


def test_a_payload_reads_the_same_bytes_from_any_offset(long_files: dict[str, Path]) -> None:
    data = long_files["opus"].read_bytes()
    with open_file(long_files["opus"]) as opened:
        pages = audio_payload(opened, "opus")
        read = pages.reader(opened)
        whole = read(0, pages.length)
        headers = [at for at in range(len(whole)) if whole.startswith(b"OggS", at)]
        assert len(headers) > 5 and len(whole) == pages.length > 3 * 65536
        for offset in (at + shift for at in headers[1:] for shift in range(-30, 30)):  # a read from inside a
            assert read(offset, 64) == whole[offset:offset + 64]  # page header masks it all the same
        two = Payload(((100, 50), (1000, 50)))
        assert two.reader(opened)(40, 20) == data[140:150] + data[1000:1010] and two.length == 100
