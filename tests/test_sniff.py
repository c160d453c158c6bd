"""Knowing an audio format by its content, and naming what is not audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musictag.audio.opened_file import open_file
from musictag.audio.sniff import NotAudio, sniff


def test_sniff_knows_every_format_by_content_and_names_what_is_not_audio(tagged_files: dict[str, Path],
                                                                         tmp_path: Path) -> None:
    expected = {"aac": "m4a", "alac": "m4a"}
    for fmt, path in tagged_files.items():
        with open_file(path) as opened:
            assert sniff(opened) == expected.get(fmt, fmt)
    for content, words in ((np.random.default_rng(0).bytes(30_000), "matches no audio format"),
                           (b"hello\n" * 500, "holds text"), (bytes(5000), "only zero bytes"),
                           (b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(16) + b"junk" * 1000, "ID3 tag followed by no")):
        (tmp_path / "x.mp3").write_bytes(content)
        with open_file(tmp_path / "x.mp3") as opened, pytest.raises(NotAudio, match=words):
            sniff(opened)


def test_the_format_table_names_each_format_once_and_every_tagged_format_has_a_writer() -> None:
    from musictag.audio.formats import AUDIO_EXTENSIONS, FORMATS
    from musictag.scan.discover import is_audio_name
    from musictag.tags import tagfile
    from musictag.tags.fields import TAG_TYPES

    extensions = [ext for f in FORMATS.values() for ext in f.extensions]
    assert len(extensions) == len(set(extensions)) == len(AUDIO_EXTENSIONS)
    assert all(is_audio_name(f"x{ext.upper()}") for ext in extensions)  # the walk takes what the table names
    assert set(tagfile._CLASSES) == set(TAG_TYPES)  # each format whose genre is written has its mutagen class
    assert {f.truncation for f in FORMATS.values()} == {None, "riff", "aiff", "ogg", "asf"}
