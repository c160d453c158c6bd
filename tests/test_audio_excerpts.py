"""A track is opened once for its checks, its hash and all its excerpts, and the excerpts decoded from that
one opening equal each decoded alone."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from musictag.analysis.patches import PATCH_SECONDS, patch_offsets, sampled_audio
from musictag.audio import decode as audio
from musictag.hashing import quick_hash
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
    with audio.open_audio(path) as opened:
        offsets = patch_offsets(opened.info.duration)
        together = opened.excerpts(offsets, PATCH_SECONDS, sr=16000)
    for offset, block in zip(offsets, together, strict=True):
        alone = audio.load(path, offset=offset, duration=PATCH_SECONDS, sr=16000)
        np.testing.assert_array_equal(block, alone, err_msg=f"{fmt} at {offset:.2f} s")


_OPENS: list[str] | None = None  # while a test records: the paths Python code opened


def _record_opens(event: str, args: tuple) -> None:
    if _OPENS is not None and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENS.append(os.fsdecode(args[0]))


sys.addaudithook(_record_opens)


@pytest.mark.parametrize("fmt", ["mp3", "flac", "ogg", "aac", "wav"])
def test_a_worker_opens_a_long_track_once_for_the_checks_the_hash_and_all_excerpts(long_files, fmt,
                                                                                  monkeypatch):
    import av
    import soundfile

    global _OPENS
    decoders: list[str] = []
    real_av_open, real_sf = av.open, soundfile.SoundFile

    def counting_av_open(*args, **kwargs):
        decoders.append("av")
        return real_av_open(*args, **kwargs)

    class CountingSoundFile(real_sf):
        def __init__(self, *args, **kwargs):
            decoders.append("soundfile")
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(av, "open", counting_av_open)
    monkeypatch.setattr(soundfile, "SoundFile", CountingSoundFile)
    path = long_files[fmt]
    _OPENS = []
    try:
        with audio.open_audio(path) as opened:  # the sniff, the truncation check, the header
            opened.quick_hash()
            sampled = sampled_audio(opened)
    finally:
        opens, _OPENS = _OPENS, None
    assert len(sampled.blocks) == 8 and not sampled.whole
    # one open of the file by its name, for everything (the others: /dev/null, where decoders' chatter goes)
    assert [p for p in opens if p != os.devnull] == [str(path)], opens
    # one decoder on that descriptor: soundfile's handle, or one FFmpeg container
    assert decoders in (["soundfile"], ["av"]), decoders


@pytest.mark.parametrize("fmt", ["mp3", "flac"])
def test_an_opened_track_is_read_from_its_descriptor_even_when_the_name_is_replaced(long_files, fmt,
                                                                                   tmp_path):
    path = tmp_path / long_files[fmt].name
    shutil.copy(long_files[fmt], path)
    expected = sampled_audio(long_files[fmt]).blocks
    other = audiogen.write_audio(tmp_path / f"other{path.suffix}", audiogen.sweep(SECONDS, seed=99), 44100, fmt)
    with audio.open_audio(path) as opened:
        os.replace(other, path)  # what a user (or an attacker on a shared folder) might do mid-analysis
        digest = opened.quick_hash()
        got = sampled_audio(opened).blocks
    assert digest == quick_hash(long_files[fmt]) != quick_hash(path)
    for want, block in zip(expected, got, strict=True):
        np.testing.assert_array_equal(block, want)
