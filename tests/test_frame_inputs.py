"""The frame inputs (mel, mfcc, cqt, features44): ~3 s segments of ~50 ms steps, sampled like the backbone's patches."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from musictag.analysis import frame_inputs as F
from musictag.analysis import heads
from musictag.analysis.patches import PATCHES_PER_TRACK, patch_offsets
from musictag.training import config
from tests import audiogen

DIMS = {"features44": 44, "mel": 80, "mfcc": 60, "cqt": 84}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("frames")
    return {
        "ten": audiogen.write_audio(folder / "ten.flac", audiogen.sweep(10.0, sr=22050), 22050, "flac", 1),
        "long": audiogen.write_audio(folder / "long.wav", audiogen.sweep(300.0, sr=8000), 8000, "wav", 1),
        "silent": audiogen.write_audio(folder / "silent.wav", np.zeros(22050 * 4, np.float32), 22050, "wav", 1),
    }


def test_the_lists_the_command_line_offers_agree_with_the_modules():
    assert config.HEADS == heads.HEADS
    assert set(config.INPUTS) == {*F.FRAME_INPUTS, "musicnn"}


@pytest.mark.parametrize("name", F.FRAME_INPUTS)
def test_a_10_s_file_is_three_segments_of_60_steps_of_about_50_ms(files, name):
    ts = F.track_segments(files["ten"], name)
    s = F.settings(name)
    assert ts.segments.shape == (3, F.SEGMENT_STEPS, DIMS[name]) and ts.segments.dtype == np.float32
    assert 0.045 <= s["step_seconds"] <= 0.05 and 2.7 < s["segment_seconds"] <= 3.0
    np.testing.assert_allclose(ts.starts, np.arange(3) * s["segment_seconds"])
    assert ts.duration == pytest.approx(10.0) and not ts.silent
    assert np.isfinite(ts.segments).all() and ts.segments.std(axis=(0, 1)).max() > 0  # the sweep moves


@pytest.mark.parametrize("name", F.FRAME_INPUTS)
def test_a_five_minute_file_is_eight_segments_from_spread_offsets(files, name):
    ts = F.track_segments(files["long"], name)
    assert ts.segments.shape == (PATCHES_PER_TRACK, F.SEGMENT_STEPS, DIMS[name])
    np.testing.assert_allclose(ts.starts, patch_offsets(300.0, PATCHES_PER_TRACK, F.excerpt_seconds(name)))
    assert F.excerpt_seconds(name) <= F.settings(name)["segment_seconds"]
    assert ts.starts[0] > 30 and ts.starts[-1] < 270 and ts.duration == pytest.approx(300.0)
    # each segment is its own excerpt: the sweep glides, so no two are alike
    assert min(np.abs(a - b).mean() for i, a in enumerate(ts.segments) for b in ts.segments[i + 1:]) > 1e-3


@pytest.mark.parametrize("name", F.FRAME_INPUTS)
def test_digital_silence_is_flagged(files, name):
    ts = F.track_segments(files["silent"], name)
    assert ts.silent and len(ts.segments) == 1 and np.isfinite(ts.segments).all()
    assert not F.track_segments(files["ten"], name).silent


def test_a_track_shorter_than_a_segment_is_looped_to_fill_one():
    y = audiogen.tone(440, 1.0, sr=16000)
    seg = F.audio_segments(y, "mel")
    assert seg.shape == (1, F.SEGMENT_STEPS, 80)
    assert seg[0, -1].max() > seg[0].max() - 1.0  # the tone still sounds at the end, not silence


def test_pooling_means_whole_steps_and_drops_the_rest():
    frames = np.arange(2 * (F.SEGMENT_STEPS * 3) + 5, dtype=np.float32)[:, None].repeat(2, axis=1)
    seg = F.cut_segments(frames, 3)
    assert seg.shape == (2, F.SEGMENT_STEPS, 2)
    assert seg[0, 0, 0] == 1.0 and seg[1, 0, 0] == 3 * F.SEGMENT_STEPS + 1.0


def test_settings_are_json_and_versioned():
    for name in F.FRAME_INPUTS:
        s = F.settings(name)
        assert json.loads(json.dumps(s)) == s and s["version"] == F.FRAME_VERSION and s["dim"] == DIMS[name]
    assert F.settings("cqt")["hop"] % 64 == 0  # librosa's 7 octaves need a hop divisible by 2^6


def test_computing_frames_imports_no_tensorflow_keras_or_sklearn(files):
    code = ("import sys; from musictag.analysis.frame_inputs import FRAME_INPUTS, track_segments; "
            f"[track_segments({str(files['ten'])!r}, n) for n in FRAME_INPUTS]; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'sklearn') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"
