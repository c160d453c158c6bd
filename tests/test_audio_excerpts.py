"""A long track's excerpts are decoded from one opening of the file, sample for sample as each alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musictag import audio
from musictag.patches import PATCH_SECONDS, patch_offsets, sampled_audio
from tests import audiogen

SECONDS = 40.0


@pytest.fixture(scope="module")
def long_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("long")
    return {fmt: audiogen.write_audio(folder / f"long{suffix}", audiogen.sweep(SECONDS, seed=i), 44100, fmt)
            for i, (fmt, (suffix, _)) in enumerate(audiogen.FORMATS.items())}


@pytest.mark.parametrize("fmt", list(audiogen.FORMATS))
def test_excerpts_from_one_opening_equal_each_decoded_alone(long_files, fmt):
    path = long_files[fmt]
    offsets = patch_offsets(audio.probe(path).duration)
    together = audio.load_excerpts(path, offsets, PATCH_SECONDS, sr=16000)
    for offset, block in zip(offsets, together, strict=True):
        alone = audio.load(path, offset=offset, duration=PATCH_SECONDS, sr=16000)
        np.testing.assert_array_equal(block, alone, err_msg=f"{fmt} at {offset:.2f} s")


@pytest.mark.parametrize("fmt", ["mp3", "flac", "ogg", "aac"])
def test_a_long_track_is_opened_once_for_all_its_excerpts(long_files, fmt, monkeypatch):
    import av
    import soundfile

    opened: list[str] = []
    real_av_open, real_sf = av.open, soundfile.SoundFile

    def counting_av_open(*args, **kwargs):
        opened.append("av")
        return real_av_open(*args, **kwargs)

    class CountingSoundFile(real_sf):
        def __init__(self, *args, **kwargs):
            opened.append("soundfile")
            super().__init__(*args, **kwargs)

    info = audio.probe(long_files[fmt])
    monkeypatch.setattr(av, "open", counting_av_open)
    monkeypatch.setattr(soundfile, "SoundFile", CountingSoundFile)
    sampled = sampled_audio(long_files[fmt], info)
    assert len(sampled.blocks) == 8 and not sampled.whole
    # one decoder: soundfile's handle, or (a file soundfile leaves to FFmpeg) one attempt and one container
    assert opened.count("av") <= 1 and opened.count("soundfile") <= 1 and len(opened) <= 2, opened
