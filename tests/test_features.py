"""The 44-row features and their 5-second windows, on synthesised signals and real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musictag.analysis import features
from musictag.analysis.features import (
    EXCERPT_S,
    HOP,
    N_EXCERPTS,
    N_FEATURES,
    ROW_NAMES,
    WINDOW_FRAMES,
    WINDOW_STEP,
    audio_features,
    cut_windows,
    excerpt_offsets,
    frame_features,
    track_features,
)
from musictag.audio.decode import SAMPLE_RATE, AudioFile
from tests import audiogen

CHROMA = slice(ROW_NAMES.index("C"), ROW_NAMES.index("B") + 1)
WINDOW_HOP_S = WINDOW_STEP * HOP / SAMPLE_RATE  # 2.995 s


def _finite_windows(result: features.TrackFeatures) -> None:
    assert result.windows.dtype == np.float32
    assert result.windows.shape[1:] == (N_FEATURES, WINDOW_FRAMES)
    assert np.isfinite(result.windows).all()


def test_row_names_and_settings() -> None:
    assert len(ROW_NAMES) == N_FEATURES == 44 and len(set(ROW_NAMES)) == 44
    s = features.settings()
    assert s["version"] == features.FEATURE_VERSION
    assert s["rows"] == list(ROW_NAMES)
    assert (s["sample_rate"], s["hop"], s["window_frames"], s["window_step"]) == (22050, 512, 216, 129)


def test_spectral_shape_matches_librosa() -> None:
    import librosa

    rng = np.random.default_rng(0)
    y = audiogen.sweep(4.0, SAMPLE_RATE) + 0.05 * rng.standard_normal(4 * SAMPLE_RATE).astype(np.float32)
    y[SAMPLE_RATE: 2 * SAMPLE_RATE] = 0  # silent frames too
    S = np.abs(librosa.stft(y, n_fft=features.N_FFT, hop_length=HOP, dtype=np.complex64))
    centroid, bandwidth, rolloff = features.spectral_shape(S)
    expected_centroid = librosa.feature.spectral_centroid(S=S, sr=SAMPLE_RATE)
    np.testing.assert_allclose(centroid, expected_centroid, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(bandwidth, librosa.feature.spectral_bandwidth(
        S=S, sr=SAMPLE_RATE, centroid=expected_centroid), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(rolloff, librosa.feature.spectral_rolloff(S=S, sr=SAMPLE_RATE), rtol=1e-6)
    assert centroid.dtype == bandwidth.dtype == rolloff.dtype == np.float32


def test_zero_crossing_rate_matches_librosa() -> None:
    import librosa

    rng = np.random.default_rng(1)
    y = audiogen.sweep(3.0, SAMPLE_RATE) + 0.02 * rng.standard_normal(3 * SAMPLE_RATE).astype(np.float32)
    y[10_000:20_000] = 0
    y[12_000:12_100:2] = -1e-12  # below librosa's threshold: counts as zero, not as a crossing
    expected = librosa.feature.zero_crossing_rate(y, frame_length=features.N_FFT, hop_length=HOP)
    np.testing.assert_array_equal(features.zero_crossing_rate(y), expected.astype(np.float32))


def test_frame_features_has_one_column_per_hop() -> None:
    y = audiogen.sweep(3.0, SAMPLE_RATE)
    frames = frame_features(y)
    assert frames.shape == (N_FEATURES, 1 + len(y) // HOP)
    assert frames.dtype == np.float32


@pytest.mark.parametrize(("seconds", "n_windows"), [(30.0, 9), (4.0, 1), (0.2, 1)])
def test_window_count(seconds: float, n_windows: int) -> None:
    result = audio_features(audiogen.sweep(seconds, SAMPLE_RATE))
    assert result.windows.shape == (n_windows, N_FEATURES, WINDOW_FRAMES)
    _finite_windows(result)
    np.testing.assert_allclose(result.starts, np.arange(n_windows) * WINDOW_HOP_S)
    assert result.duration == pytest.approx(seconds, abs=1 / SAMPLE_RATE)


def test_cut_windows_tiles_a_short_block_and_steps_by_three_seconds() -> None:
    frames = np.arange(2 * 50, dtype=np.float32).reshape(2, 50)
    windows, idx = cut_windows(frames)
    assert windows.shape == (1, 2, WINDOW_FRAMES) and list(idx) == [0]
    np.testing.assert_array_equal(windows[0, :, 50:100], frames)  # the block looped, not zero-padded
    frames = np.tile(np.arange(600, dtype=np.float32), (2, 1))
    windows, idx = cut_windows(frames)
    assert list(idx) == [0, 129, 258]
    np.testing.assert_array_equal(windows[2, 0], np.arange(258, 258 + WINDOW_FRAMES))


def test_silence_is_flagged_and_a_signal_is_not() -> None:
    quiet = audio_features(np.zeros(6 * SAMPLE_RATE, np.float32))
    assert quiet.silent
    _finite_windows(quiet)
    assert not audio_features(audiogen.sweep(6.0, SAMPLE_RATE)).silent
    assert not audio_features(audiogen.tone(440, 6.0, amp=1e-3)).silent  # quiet is not silent


@pytest.mark.parametrize(("freq", "note"), [(440.0, "A"), (261.63, "C"), (392.0, "G")])
def test_a_tone_lands_in_its_chroma_row(freq: float, note: str) -> None:
    windows = audio_features(audiogen.tone(freq, 6.0)).windows
    chroma = windows[:, CHROMA, :].mean(axis=(0, 2))
    assert ROW_NAMES[CHROMA][int(np.argmax(chroma))] == note


@pytest.mark.parametrize("kind", ["silence", "clipping", "dc offset"])
def test_no_nan_or_inf_for_odd_signals(kind: str) -> None:
    n = 6 * SAMPLE_RATE
    y = {
        "silence": np.zeros(n, np.float32),
        "clipping": np.sign(audiogen.tone(110, 6.0)).astype(np.float32),  # square wave at +-1
        "dc offset": np.full(n, 0.5, np.float32) + 0.1 * audiogen.sweep(6.0, SAMPLE_RATE),
    }[kind]
    _finite_windows(audio_features(y))


def test_8_khz_stereo_file(tmp_path: Path) -> None:
    path = audiogen.write_audio(tmp_path / "x.wav", audiogen.sweep(7.0, 8000), 8000, "wav", channels=2)
    result = track_features(path)
    _finite_windows(result)
    assert result.windows.shape[0] == 1 and not result.silent
    assert result.duration == pytest.approx(7.0, abs=1e-3)


def test_96_khz_24_bit_file(tmp_path: Path) -> None:
    path = tmp_path / "hires.flac"
    sf.write(path, audiogen.sweep(7.0, 96000), 96000, subtype="PCM_24")
    result = track_features(path)
    _finite_windows(result)
    assert result.windows.shape[0] == 1 and not result.silent


def test_a_track_up_to_the_limit_is_analysed_whole(tmp_path: Path) -> None:
    path = audiogen.write_audio(tmp_path / "x.flac", audiogen.sweep(30.0, SAMPLE_RATE), SAMPLE_RATE,
                                "flac", channels=1)
    result = track_features(path)
    assert result.windows.shape[0] == 9
    np.testing.assert_allclose(result.starts, np.arange(9) * WINDOW_HOP_S)
    assert result.duration == pytest.approx(30.0)


def test_excerpt_offsets() -> None:
    assert excerpt_offsets(30.0) == [0.0]
    assert excerpt_offsets(features.FULL_TRACK_LIMIT_S) == [0.0]
    for duration in (100.0, 240.0, 3600.0):
        offsets = excerpt_offsets(duration)
        assert len(offsets) == N_EXCERPTS
        assert offsets[0] > 0 and offsets[-1] + EXCERPT_S < duration
        assert np.all(np.diff(offsets) > 0)


def test_a_long_track_is_analysed_in_excerpts(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "long.flac"
    sf.write(path, audiogen.sweep(100.0, 8000), 8000)
    reads: list[tuple[list[float], float | None]] = []
    real_excerpts = AudioFile.excerpts

    def counting_excerpts(self, offsets, duration, **kw):
        reads.append((list(offsets), duration))
        return real_excerpts(self, offsets, duration, **kw)

    monkeypatch.setattr(AudioFile, "excerpts", counting_excerpts)
    result = track_features(path)
    assert reads == [(excerpt_offsets(100.0), EXCERPT_S)]  # no full decode: the excerpts, from one opening
    assert result.windows.shape == (N_EXCERPTS * 5, N_FEATURES, WINDOW_FRAMES)
    _finite_windows(result)
    assert result.duration == pytest.approx(100.0)
    assert not result.silent
    starts = result.starts
    assert np.all(np.diff(starts) > 0)
    assert starts[0] > 0 and starts[-1] + 5.0 <= 100.0
    for i, offset in enumerate(excerpt_offsets(100.0)):
        np.testing.assert_allclose(starts[5 * i: 5 * i + 5], offset + np.arange(5) * WINDOW_HOP_S)


def test_a_silent_long_track_is_silent(tmp_path: Path) -> None:
    path = tmp_path / "quiet.flac"
    sf.write(path, np.zeros(100 * 8000, np.float32), 8000)
    result = track_features(path)
    assert result.silent and result.windows.shape[0] == N_EXCERPTS * 5
    _finite_windows(result)


# Peak RSS of the child alone: VmHWM. (ru_maxrss would not do: Linux carries the parent's peak
# over the exec into the child's ru_maxrss, so a big pytest process would hide the child's growth.)
_MEASURE = """
import json, re, sys
from pathlib import Path
from musictag.analysis.features import track_features

def peak_mb():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024

track_features(sys.argv[1])  # imports, JIT, filter banks
base = peak_mb()
result = track_features(sys.argv[2])
print(json.dumps({"base_mb": base, "peak_mb": peak_mb(), "windows": len(result.windows),
                  "duration": result.duration}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="measures VmHWM in /proc (Linux)")
def test_an_hour_long_file_needs_little_memory(tmp_path: Path) -> None:
    """A 60-minute file is analysed in excerpts: the peak RSS hardly grows (a full decode: ~450 MB)."""
    sr = 8000
    hour = tmp_path / "hour.flac"
    with sf.SoundFile(hour, "w", sr, 1, format="FLAC", subtype="PCM_16") as f:
        minute = audiogen.sweep(60.0, sr)
        for _ in range(60):
            f.write(minute)
    short = tmp_path / "short.wav"
    sf.write(short, audiogen.sweep(2.0, sr), sr)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(short), str(hour)], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    m = json.loads(done.stdout)
    assert m["windows"] == N_EXCERPTS * 5 and m["duration"] == pytest.approx(3600.0)
    assert m["peak_mb"] - m["base_mb"] < 100, m
    assert m["peak_mb"] < 500, m
