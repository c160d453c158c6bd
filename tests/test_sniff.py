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
