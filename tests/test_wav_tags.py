"""WAV tags: the genre musictag writes is seen by FFmpeg (through PyAV, and Debian's ffprobe 5.1, which reads
a RIFF INFO chunk and then not the ID3 chunk) and mutagen; a RIFF INFO chunk's artist, title and genre (what
FFmpeg, Windows and many rippers write) are read where ID3 says nothing. The INFO genre is written and
restored in place, RIFF's sizes and pad bytes kept right."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from musictag.errors import TagError
from musictag.library.history import original_genres
from musictag.library.labels import label_values
from musictag.library.rows import TagBackup
from musictag.tags import riff_info
from musictag.tags import tagfile as tags
from musictag.tags.fields import artist_title
from musictag.tags.riff_info import info_fields
from tests import audiogen


def _info_wav(path: Path, **fields: str) -> Path:
    with sf.SoundFile(path, "w", samplerate=22050, channels=1, format="WAV", subtype="PCM_16") as f:
        for key, value in fields.items():
            setattr(f, key, value)
        f.write(audiogen.sweep(2.0, 22050))
    return path


def test_a_written_wav_genre_is_seen_by_ffmpeg_and_mutagen(tmp_path):
    path = audiogen.write_audio(tmp_path / "a.wav", audiogen.sweep(2.0, 22050), 22050, "wav", 1)
    tags.write_genres(path, ["Jazz"])
    with av.open(str(path)) as container:
        assert container.metadata.get("genre") == "Jazz"
    assert audiogen.raw_genres(path) == ["Jazz"]


def test_riff_info_gives_artist_title_and_genre(tmp_path):
    path = _info_wav(tmp_path / "ripped.wav", artist="Édith Piaf", title="La Vie en rose", genre="Chanson",
                     album="Best of")
    assert b"LIST" in path.read_bytes() and info_fields(path)["IGNR"] == "Chanson"
    assert artist_title(path) == ("Édith Piaf", "La Vie en rose")
    fields = tags.read_label_fields(path)
    assert fields == {"genres": ["Chanson"], "album": "Best of", "artist": "Édith Piaf"}
    assert tags.read_genres(path) == ["Chanson"]  # so a scan keeps it rather than adding an ID3 genre


def test_a_wav_without_info_is_named_by_its_file(tmp_path):
    path = audiogen.write_audio(tmp_path / "plain.wav", audiogen.sweep(1.0, 22050), 22050, "wav", 1)
    assert info_fields(path) == {} and artist_title(path) == (None, "plain")


# --- the genre in the RIFF INFO chunk too -------------------------------------------------------------------

FFPROBE = shutil.which("ffprobe")
needs_ffprobe = pytest.mark.skipif(FFPROBE is None or shutil.which("ffmpeg") is None,
                                   reason="Debian's ffmpeg (ffprobe) is not installed (.ci/run installs it)")


def _int16(path: Path) -> np.ndarray:
    return sf.read(path, dtype="int16")[0]


RIPPED = [(b"IART", "Édith Piaf\0".encode()), (b"INAM", b"La Vie en rose\0"), (b"ISFT", b"Lavf59.27.100\0")]


@pytest.mark.parametrize("after_data", [False, True], ids=["info-first", "info-last"])
@pytest.mark.parametrize("genres", [["Jazz"], ["Pop"], ["Rock", "Hip-Hop"]], ids=["odd", "even", "two"])
def test_a_wav_with_info_gets_its_genre_there_too_and_nothing_else_changes(tmp_path, genres, after_data):
    path = audiogen.wav_with_info(tmp_path / "ripped.wav", RIPPED, after_data=after_data)
    before, pcm = audiogen.riff_chunks(path.read_bytes()), _int16(path)
    tags.write_genres(path, genres)
    data = path.read_bytes()
    assert audiogen.info_entries(data) == [*RIPPED, (b"IGNR", "; ".join(genres).encode() + b"\0")]  # others kept
    after = audiogen.riff_chunks(data)
    assert [c for c in after if c[0] != b"LIST"] == [c for c in before if c[0] != b"LIST"] + after[-1:]
    assert after[-1][0] == b"id3 " and audiogen.raw_genres(path) == genres
    assert np.array_equal(_int16(path), pcm)
    with av.open(str(path)) as container:  # the PyAV wheel's FFmpeg lets the ID3 chunk's first genre win
        assert container.metadata.get("genre") == genres[0]
    assert tags.read_label_fields(path)["genres"] == genres


def test_an_info_genre_there_is_replaced_where_it_stands(tmp_path):
    path = audiogen.wav_with_info(tmp_path / "ripped.wav", [RIPPED[0], (b"IGNR", b"Chanson\0"), RIPPED[1]])
    pcm = _int16(path)
    for genres in (["Drum & Bass"], ["Rock"], ["Hip-Hop"]):  # longer, shorter (odd), even
        tags.TagFile(path).write(genres)  # the user's own genre is replaced only when asked (scan --overwrite)
        assert audiogen.info_entries(path.read_bytes()) == [RIPPED[0], (b"IGNR", genres[0].encode() + b"\0"), RIPPED[1]]
        assert np.array_equal(_int16(path), pcm)
    tags.write_genres(path, [])  # no genre: none in INFO either
    assert audiogen.info_entries(path.read_bytes()) == [RIPPED[0], RIPPED[1]] and tags.read_genres(path) == []


def test_the_audio_after_the_info_chunk_moves_intact_block_by_block(tmp_path, monkeypatch):
    monkeypatch.setattr(riff_info, "_BLOCK", 999)  # many uneven blocks, both ways
    path = audiogen.wav_with_info(tmp_path / "ripped.wav", [*RIPPED, (b"IGNR", b"Chanson\0")])
    data_chunk = dict(audiogen.riff_chunks(path.read_bytes()))[b"data"]
    for genres in (["A much longer genre name than before"], ["Pop"], []):
        tags.write_genres(path, genres)
        assert dict(audiogen.riff_chunks(path.read_bytes()))[b"data"] == data_chunk


@pytest.mark.parametrize("ignr", [None, b"Chanson\0", b"Chanson fran\xe7aise\0", b"Odd", b""],
                         ids=["absent", "utf8", "latin1", "odd-unterminated", "empty"])
def test_restore_puts_the_info_genre_back_byte_for_byte(tmp_path, ignr):
    entries = RIPPED[:1] + ([(b"IGNR", ignr)] if ignr is not None else []) + RIPPED[1:]
    path = audiogen.wav_with_info(tmp_path / "ripped.wav", entries)
    original = path.read_bytes()
    snap = json.loads(json.dumps(tags.TagFile(path).snapshot()))  # as the library stores it
    assert snap["riff_info"] == {"ignr": None if ignr is None else ignr.hex()}
    tags.write_genres(path, ["Rock", "Jazz"])
    tags.write_genres(path, ["Hip-Hop"])
    assert dict(audiogen.info_entries(path.read_bytes()))[b"IGNR"] == b"Hip-Hop\0"
    for damaged in ({"ignr": "not hex"}, {"ignr": 7}, "Chanson"):
        with pytest.raises(TagError, match="cannot restore the genre tag: the backup is damaged"):
            tags.TagFile(path).restore(snap | {"riff_info": damaged})
    tags.TagFile(path).restore(snap)
    assert path.read_bytes() == original  # the ID3 chunk it did not have is gone too


def test_an_unpadded_last_entry_gets_its_pad_byte_before_the_new_genre(tmp_path):
    path = audiogen.wav_with_info(tmp_path / "odd.wav", list_body=audiogen.info_list(RIPPED) + b"ICMT\x03\0\0\0abc")
    tags.write_genres(path, ["Jazz"])
    assert audiogen.info_entries(path.read_bytes()) == [*RIPPED, (b"ICMT", b"abc"), (b"IGNR", b"Jazz\0")]


def test_a_wav_without_info_gets_no_info_chunk(tmp_path):
    path = audiogen.write_audio(tmp_path / "plain.wav", audiogen.sweep(1.0, 22050), 22050, "wav", 1)
    snap = tags.TagFile(path).snapshot()
    assert snap["riff_info"] is None
    tags.write_genres(path, ["Jazz"])
    assert [c for c, _ in audiogen.riff_chunks(path.read_bytes())] == [b"fmt ", b"data", b"id3 "]
    assert audiogen.raw_genres(path) == ["Jazz"]


@pytest.mark.parametrize(("list_body", "problem"), [
    (audiogen.info_list(RIPPED) + b"IGNR" + struct.pack("<I", 99) + b"Rock\0\0", "its IGNR entry runs past"),
    (audiogen.info_list(RIPPED) + b"\x01\x02\x03\x04" + struct.pack("<I", 0), "an entry has no valid id"),
    (audiogen.info_list(RIPPED) + b"IG", "it ends inside an entry's header"),
], ids=["entry-too-long", "bad-id", "cut-entry"])
def test_a_malformed_info_chunk_fails_in_one_line_and_leaves_the_file(tmp_path, list_body, problem):
    path = audiogen.wav_with_info(tmp_path / "bad.wav", list_body=list_body)
    original = path.read_bytes()
    with pytest.raises(TagError, match=f"cannot read tags: its RIFF INFO chunk is malformed: {problem}"):
        tags.TagFile(path).snapshot()  # a scan takes the backup first: it fails there, nothing is written
    with pytest.raises(TagError, match=f"cannot write the genre tag: its RIFF INFO chunk is malformed: {problem}"
                       ) as error:
        tags.write_genres(path, ["Rock"])
    assert "\n" not in str(error.value)
    assert path.read_bytes() == original and [p.name for p in tmp_path.iterdir()] == ["bad.wav"]
    assert tags.read_label_fields(path)["artist"] == "Édith Piaf"  # reading stays lenient


def test_an_info_list_that_runs_past_the_end_of_the_file_is_refused(tmp_path):
    path = audiogen.wav_with_info(tmp_path / "cut.wav", RIPPED, after_data=True)
    cut = path.read_bytes()[:-6]  # the INFO list cut short, its size left as it was (the RIFF size follows the cut)
    path.write_bytes(original := cut[:4] + struct.pack("<I", len(cut) - 8) + cut[8:])
    with pytest.raises(TagError, match="its RIFF INFO chunk is malformed: it runs past the end of the file"):
        tags.write_genres(path, ["Rock"])
    assert path.read_bytes() == original


def test_an_info_genre_other_than_the_id3_one_is_the_files_own_too(tmp_path):
    path = audiogen.wav_with_info(tmp_path / "ripped.wav", [*RIPPED, (b"IGNR", b"Chanson\0")])
    tags.write_genres(path, ["Rock"])
    assert tags.read_genres(path) == ["Rock"]  # musictag's write: both alike
    audiogen.set_info_entries(path, [*RIPPED, (b"IGNR", b"Jazz\0")])  # another program's edit
    assert tags.read_label_fields(path)["genres"] == ["Rock", "Jazz"]  # no longer exactly what musictag wrote


def test_the_info_genre_an_overwrite_replaced_stays_the_users_label(tmp_path):
    path = audiogen.wav_with_info(tmp_path / "ripped.wav", [*RIPPED, (b"IGNR", b"Chanson\0")])
    snap = json.loads(json.dumps(tags.TagFile(path).snapshot()))
    tags.write_genres(path, ["Rock"])  # scan --overwrite
    backups = [TagBackup(1, 1, str(path), "RIFF", snap, ["Rock"], "2026-01-01T00:00:00Z")]
    assert label_values(tags.read_genres(path), backups) == ["Chanson"]  # what train --from-library learns from
    assert original_genres(snap) == ["Chanson"]


@needs_ffprobe
@pytest.mark.parametrize("entries", [RIPPED, [*RIPPED, (b"IGNR", b"Chanson\0")]], ids=["no-genre", "a-genre"])
def test_debians_ffprobe_shows_the_genre_from_info_and_decodes_the_same_audio(tmp_path, entries):
    path = audiogen.wav_with_info(tmp_path / "ripped.wav", entries)

    def probe() -> dict:
        out = subprocess.run([FFPROBE, "-v", "error", "-show_entries", "format_tags", "-of", "json", str(path)],
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out)["format"].get("tags", {})

    def decoded() -> bytes:
        return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-"], capture_output=True,
                              check=True).stdout

    pcm = decoded()
    tags.write_genres(path, ["Jazz"])
    assert probe() == {"artist": "Édith Piaf", "title": "La Vie en rose", "encoder": "Lavf59.27.100",
                       "genre": "Jazz"}
    assert decoded() == pcm
