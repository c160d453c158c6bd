"""WAV tags: the genre musictag writes is seen by FFmpeg (through PyAV) and mutagen; a RIFF INFO
chunk's artist, title and genre (what Windows and many rippers write) are read where ID3 says nothing."""

from __future__ import annotations

from pathlib import Path

import av
import soundfile as sf

from musictag.tags import fields as tag_fields
from musictag.tags import tagfile as tags
from musictag.tags.fields import artist_title
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
    assert b"LIST" in path.read_bytes() and tag_fields.riff_info(path)["IGNR"] == "Chanson"
    assert artist_title(path) == ("Édith Piaf", "La Vie en rose")
    fields = tags.read_label_fields(path)
    assert fields == {"genres": ["Chanson"], "album": "Best of", "artist": "Édith Piaf"}
    assert tags.read_genres(path) == ["Chanson"]  # so a scan keeps it rather than adding an ID3 genre


def test_a_wav_without_info_is_named_by_its_file(tmp_path):
    path = audiogen.write_audio(tmp_path / "plain.wav", audiogen.sweep(1.0, 22050), 22050, "wav", 1)
    assert tag_fields.riff_info(path) == {} and artist_title(path) == (None, "plain")
