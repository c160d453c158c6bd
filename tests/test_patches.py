"""musicnn's input: the log-mel equals librosa's, patches are cut and sampled as documented."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musictag.analysis import patches as P
from musictag.audio.decode import DecodeError
from tests import audiogen

GTZAN = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "gtzan-mini"


def test_log_mel_equals_librosa_in_float32():
    import librosa

    rng = np.random.default_rng(0)
    y = (0.3 * rng.standard_normal(P.SAMPLE_RATE * 4)).astype(np.float32)
    y += audiogen.tone(440, 4, sr=P.SAMPLE_RATE)
    mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=256, n_mels=96).T
    want = np.log10(np.float32(10000) * mel.astype(np.float32) + np.float32(1))
    got = P.log_mel(y)
    assert got.dtype == np.float32 and got.shape == want.shape == (1 + len(y) // 256, 96)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_the_mel_filter_bank_is_librosas_to_the_last_bit():
    import librosa

    want = librosa.filters.mel(sr=P.SAMPLE_RATE, n_fft=P.N_FFT, n_mels=P.N_MELS).astype(np.float32)
    np.testing.assert_array_equal(P._mel_basis(), want)


def test_short_audio_is_repeated_to_one_patch():
    y = audiogen.tone(300, 1.0, sr=P.SAMPLE_RATE)
    tp = P.audio_patches(y)
    assert tp.patches.shape == (1, P.PATCH_FRAMES, P.N_MELS)
    assert tp.duration == pytest.approx(1.0)
    # the patch is the tone throughout, not a tone followed by silence
    assert tp.patches[0, -10:].max() > 1.0


def test_whole_patches_only_no_overlap():
    y = audiogen.sweep(10.0, sr=P.SAMPLE_RATE)
    tp = P.audio_patches(y)
    assert len(tp.patches) == (1 + len(y) // P.HOP) // P.PATCH_FRAMES == 3
    np.testing.assert_allclose(np.diff(tp.starts), P.PATCH_FRAMES * P.HOP / P.SAMPLE_RATE)
    np.testing.assert_array_equal(tp.patches[1], P.log_mel(y)[P.PATCH_FRAMES:2 * P.PATCH_FRAMES])


def test_patch_offsets_spread_away_from_the_ends():
    offsets = P.patch_offsets(240.0)
    assert len(offsets) == P.PATCHES_PER_TRACK
    assert offsets[0] > 20 and offsets[-1] + P.PATCH_SECONDS < 220
    gaps = np.diff(offsets)
    np.testing.assert_allclose(gaps, gaps[0])


def test_long_track_is_sampled_at_the_offsets(tmp_path):
    y = audiogen.sweep(45.0, sr=44100)
    path = audiogen.write_audio(tmp_path / "long.flac", y, 44100, "flac")
    tp = P.track_patches(path)
    assert tp.patches.shape == (P.PATCHES_PER_TRACK, P.PATCH_FRAMES, P.N_MELS)
    np.testing.assert_allclose(tp.starts, P.patch_offsets(tp.duration))
    assert tp.duration == pytest.approx(45.0, abs=0.01) and not tp.silent


def test_short_track_is_analysed_whole(tmp_path):
    path = audiogen.write_audio(tmp_path / "short.wav", audiogen.sweep(12.0, sr=22050), 22050, "wav")
    tp = P.track_patches(path)
    assert len(tp.patches) == 4 and tp.starts[0] == 0.0


def test_silence_is_flagged(tmp_path):
    path = audiogen.write_audio(tmp_path / "silence.wav", np.zeros(22050 * 5, np.float32), 22050, "wav")
    assert P.track_patches(path).silent


def test_bad_file_raises_decode_error(tmp_path):
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"not audio at all" * 100)
    with pytest.raises(DecodeError):
        P.track_patches(bad)


@pytest.mark.skipif(not GTZAN.is_dir(), reason="needs ../shared/data/gtzan-mini")
def test_real_clip_gives_finite_patches():
    tp = P.track_patches(GTZAN / "metal" / "metal.00000.wav")
    assert len(tp.patches) >= 5 and np.isfinite(tp.patches).all()
    assert tp.patches.max() > 3.0  # a loud metal clip: log10(1e4 * mel + 1) well above silence
