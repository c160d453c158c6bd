"""Decoding: real files in every format, written by tests/audiogen.py, read back by musictag.audio.decode."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from musictag.audio.decode import SAMPLE_RATE, AudioInfo, DecodeError, format_time, load, open_audio
from musictag.audio.formats import AUDIO_EXTENSIONS
from tests import audiogen

SR = 44100
SECONDS = 3.0
FRAME = 512  # one feature frame at 22,050 Hz
# PCM_16 quantisation (half a step is 1.5e-5) after soxr's low-pass; a one-sample shift of the sweep
# differs by ~0.05, so this still tells "the same samples" from "nearly the same".
LOSSLESS_ATOL = 1e-4
PCM_16_ATOL = 2e-5  # without resampling: half a PCM_16 step (ALAC from PyAV keeps more bits)
# Codecs add a fixed delay that a decoder may or may not undo: WMA through FFmpeg comes out 1024
# samples early at 22,050 Hz, so lossy formats are compared at the best lag within this many samples.
MAX_LAG = 2048
LOSSY = [f for f, (_, lossless) in audiogen.FORMATS.items() if not lossless]
LOSSLESS = [f for f, (_, lossless) in audiogen.FORMATS.items() if lossless]


def probe(path: Path) -> AudioInfo:
    """What the checks and the header say of ``path``, before any decoding."""
    with open_audio(path) as opened:
        return opened.info


def _write(tmp_path: Path, fmt: str, y: np.ndarray, sr: int = SR, channels: int = 1, name: str = "x") -> Path:
    suffix = audiogen.FORMATS[fmt][0]
    return audiogen.write_audio(tmp_path / f"{name}{suffix}", y, sr, fmt, channels=channels)


def _quantised(y: np.ndarray) -> np.ndarray:
    """What a PCM_16 file holds for ``y``."""
    return (np.round(y * 32768) / 32768).astype(np.float32)


def _reference(y: np.ndarray, sr: int) -> np.ndarray:
    """The source as musictag should decode it: resampled to 22,050 Hz the same way (soxr HQ)."""
    return soxr.resample(y, sr, SAMPLE_RATE, quality="HQ")


def _best_lag(decoded: np.ndarray, reference: np.ndarray, max_lag: int) -> tuple[int, float]:
    """The lag (decoded[n + lag] ~ reference[n]) within ``max_lag`` that correlates best, and that correlation."""
    n = min(len(decoded), len(reference))
    a = decoded[:n] - decoded[:n].mean()
    b = reference[:n] - reference[:n].mean()
    size = 1 << int(np.ceil(np.log2(2 * n)))
    xc = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    lags = np.arange(-max_lag, max_lag + 1)
    lag = int(lags[np.argmax(xc[lags % size])])
    x = decoded[max(0, lag):]
    r = reference[max(0, -lag):]
    m = min(len(x), len(r))
    return lag, float(np.corrcoef(x[:m], r[:m])[0, 1])


# --- every format -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(audiogen.FORMATS))
def test_every_format_decodes_to_the_source(tmp_path: Path, fmt: str) -> None:
    y = audiogen.sweep(SECONDS, SR)
    out = load(_write(tmp_path, fmt, y))
    ref = _reference(y, SR)
    assert out.dtype == np.float32 and out.ndim == 1
    # FFmpeg's WMA encoder does not record its one-frame (2048-sample) delay and the decoder drops that
    # frame: WMA may come out up to one codec frame (1024 samples at 22,050 Hz) short.
    tolerance = 1024 if fmt == "wma" else FRAME
    assert abs(len(out) - len(ref)) <= tolerance
    if audiogen.FORMATS[fmt][1]:
        expected = _reference(_quantised(y), SR)
        assert len(out) == len(expected)
        np.testing.assert_allclose(out, expected, rtol=0, atol=LOSSLESS_ATOL)
    else:
        lag, corr = _best_lag(out, ref, MAX_LAG)
        assert corr > 0.95, f"{fmt}: correlation {corr:.3f} at lag {lag}"


def test_mp3_has_no_glitches_at_read_block_boundaries(tmp_path: Path) -> None:
    # libsndfile restarted mpg123 after every 65,536-sample read (python-soundfile seeks to keep its
    # position), so each block began with a burst of wrong samples: correlation fell to ~0.98.
    y = audiogen.sweep(6.0, SR)
    out = load(_write(tmp_path, "mp3", y), sr=SR)
    assert len(out) == len(y)  # LAME's gapless header is honoured: no encoder delay or padding
    err = np.abs(out - y)
    assert np.corrcoef(out, y)[0, 1] > 0.999
    assert err.max() < 0.05, f"largest error {err.max():.3f} at sample {err.argmax()}"


@pytest.mark.parametrize("fmt", ["aac", "alac"])
def test_mp4_decodes_to_its_stated_length(tmp_path: Path, fmt: str) -> None:
    # AAC frames hold 1024 samples: without the MP4's stated length the last one's padding is kept.
    y = audiogen.sweep(SECONDS, SR)
    out = load(_write(tmp_path, fmt, y), sr=SR)
    assert len(out) == len(y)
    lag, corr = _best_lag(out, y, MAX_LAG)
    assert lag == 0 and corr > 0.99


# --- channels and rates -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["flac", "alac"])  # libsndfile and FFmpeg
def test_stereo_is_the_mean_of_its_channels(tmp_path: Path, fmt: str) -> None:
    y = audiogen.sweep(SECONDS, SR)
    path = _write(tmp_path, fmt, y, channels=2)  # right channel = 0.7 x left
    assert probe(path).channels == 2
    expected = _reference((_quantised(y) + _quantised(0.7 * y)) / 2, SR)
    np.testing.assert_allclose(load(path), expected, rtol=0, atol=LOSSLESS_ATOL)


@pytest.mark.parametrize(("fmt", "sr"), [("flac", 48000), ("wav", 8000), ("alac", 48000)])
def test_other_sample_rates_are_resampled(tmp_path: Path, fmt: str, sr: int) -> None:
    y = audiogen.sweep(SECONDS, sr)
    path = _write(tmp_path, fmt, y, sr=sr)
    assert probe(path).sample_rate == sr
    out = load(path)
    assert len(out) == round(SECONDS * SAMPLE_RATE)
    np.testing.assert_allclose(out, _reference(_quantised(y), sr), rtol=0, atol=LOSSLESS_ATOL)


# --- partial reads ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["flac", "alac"])  # libsndfile seek, FFmpeg seek
def test_offset_and_duration_read_that_part_of_a_lossless_file(tmp_path: Path, fmt: str) -> None:
    y = audiogen.sweep(8.0, SR)
    path = _write(tmp_path, fmt, y)
    part = load(path, offset=5.0, duration=1.5, sr=SR)
    np.testing.assert_allclose(part, y[5 * SR: 5 * SR + 66150], rtol=0, atol=PCM_16_ATOL)
    # at 22,050 Hz: resampled on its own, so only the edges may differ from a slice of the whole
    part = load(path, offset=2.0, duration=1.0)
    whole = load(path)[2 * SAMPLE_RATE: 3 * SAMPLE_RATE]
    assert len(part) == SAMPLE_RATE
    np.testing.assert_allclose(part[100:-100], whole[100:-100], rtol=0, atol=1e-3)


@pytest.mark.parametrize(("fmt", "native"), [("aac", SR), ("mp3", SR), ("ogg", SR), ("opus", 48000)])
def test_offset_reads_of_lossy_files_match_the_full_decode(tmp_path: Path, fmt: str, native: int) -> None:
    # after a seek, AAC and MP3 rebuild their first frame from the one before: without a preroll the
    # first 1-2 thousand samples of a partial read were wrong. Read at the file's own rate, so that
    # no resampling edge blurs the comparison.
    path = _write(tmp_path, fmt, audiogen.sweep(8.0, SR))
    whole = load(path, sr=native)
    for offset in (1.0, 4.5, 6.0):
        part = load(path, offset=offset, duration=1.0, sr=native)
        start = int(offset * native)
        np.testing.assert_allclose(part, whole[start: start + native], rtol=0, atol=1e-6,
                                   err_msg=f"offset {offset}")


def test_offset_reads_of_wma_are_within_a_millisecond(tmp_path: Path) -> None:
    # ASF stamps packets in whole milliseconds, so a seek can place its first frame only that closely
    path = _write(tmp_path, "wma", audiogen.sweep(8.0, SR))
    whole = load(path, sr=SR)
    for offset in (1.0, 2.0, 5.0):
        part = load(path, offset=offset, duration=1.0, sr=SR)
        assert abs(len(part) - SR) <= SR // 1000
        start = int(offset * SR)
        lag, corr = _best_lag(part, whole[start: start + SR], MAX_LAG)
        assert abs(lag) <= SR // 1000 and corr > 0.999, f"offset {offset}: lag {lag}, corr {corr:.3f}"


def test_a_wma_with_a_large_cover_is_its_stated_length_not_truncated(tmp_path: Path) -> None:
    """FFmpeg estimates a WMA's length from the file's size: a 30 KB cover made an 8 s file 'truncated'."""
    import struct

    from mutagen.asf import ASF, ASFByteArrayAttribute

    path = _write(tmp_path, "wma", audiogen.sweep(8.0, SR))
    tags = ASF(path)
    picture = b"\xff\xd8" + bytes(range(256)) * 120  # 30 KB
    tags["WM/Picture"] = [ASFByteArrayAttribute(struct.pack("<bi", 3, len(picture)) + "image/jpeg".encode("utf-16-le")
                                                + b"\0\0" + b"\0\0" + picture)]
    tags.save()
    with open_audio(path) as f:
        assert f.info.duration == pytest.approx(8.0, abs=0.1)
        assert len(f.load(sr=SR)) == pytest.approx(8 * SR, abs=SR // 20)
    cut = tmp_path / "cut.wma"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])  # cut short still says so
    with pytest.raises(DecodeError, match="truncated"):
        open_audio(cut).load(sr=SR)


class _SeekLandsLate:
    """An FFmpeg container whose seeks land two seconds past the target (as some demuxers do)."""

    def __init__(self, container) -> None:
        self._container = container

    def seek(self, offset: int, **kwargs) -> None:
        self._container.seek(offset + 2_000_000, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._container, name)


def test_a_seek_past_the_offset_falls_back_to_decoding_from_the_start(tmp_path: Path, monkeypatch) -> None:
    import av

    y = audiogen.sweep(8.0, SR)
    path = _write(tmp_path, "alac", y)
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda *a, **k: _SeekLandsLate(real_open(*a, **k)))
    part = load(path, offset=4.0, duration=1.0, sr=SR)
    np.testing.assert_allclose(part, y[4 * SR: 5 * SR], rtol=0, atol=PCM_16_ATOL)


# --- what a file says about itself -----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["flac", "mp3", "aac"])
def test_probe_reads_the_header(tmp_path: Path, fmt: str) -> None:
    info = probe(_write(tmp_path, fmt, audiogen.sweep(SECONDS, SR), channels=2))
    assert info.sample_rate == SR and info.channels == 2 and info.codec
    assert info.duration == pytest.approx(SECONDS, abs=0.05)


def test_every_written_format_has_an_audio_extension() -> None:
    assert {suffix for suffix, _ in audiogen.FORMATS.values()} <= AUDIO_EXTENSIONS


def test_format_time() -> None:
    assert format_time(0) == "00:00"
    assert format_time(65.9) == "01:05"
    assert format_time(3725) == "1:02:05"
    assert format_time(-3) == "00:00"


# --- bad input: one DecodeError each, with a reason in words, and nothing on stderr ----------------


def _assert_decode_error(path: Path, capfd, *words: str) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        load(path)
    error = info.value
    assert error.path == os.fsdecode(path)
    for word in words:
        assert word in error.reason, error.reason
    assert error.reason in str(error) and str(path) in str(error)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    return error


def test_zero_byte_file(tmp_path: Path, capfd) -> None:
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    _assert_decode_error(path, capfd, "empty", "0 bytes")


def test_random_bytes_named_mp3(tmp_path: Path, capfd) -> None:
    path = tmp_path / "noise.mp3"
    path.write_bytes(np.random.default_rng(0).bytes(50_000))
    _assert_decode_error(path, capfd, "not an audio file")


def test_truncated_flac(tmp_path: Path, capfd) -> None:
    data = _write(tmp_path, "flac", audiogen.sweep(10.0, SR), channels=2).read_bytes()
    path = tmp_path / "cut.flac"
    path.write_bytes(data[: len(data) // 2])
    _assert_decode_error(path, capfd, "truncated", "00:0")


def test_text_file_named_ogg(tmp_path: Path, capfd) -> None:
    path = tmp_path / "notes.ogg"
    path.write_text("this is not audio\n" * 100)
    _assert_decode_error(path, capfd, "not an audio file")


def test_directory_named_mp3(tmp_path: Path, capfd) -> None:
    path = tmp_path / "x.mp3"
    path.mkdir()
    _assert_decode_error(path, capfd, "directory")


def test_broken_symlink(tmp_path: Path, capfd) -> None:
    path = tmp_path / "link.mp3"
    path.symlink_to(tmp_path / "gone.mp3")
    _assert_decode_error(path, capfd, "broken symbolic link")


def test_missing_file(tmp_path: Path, capfd) -> None:
    _assert_decode_error(tmp_path / "nothing.flac", capfd, "not found")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path, capfd) -> None:
    path = _write(tmp_path, "flac", audiogen.sweep(1.0, SR))
    path.chmod(0)
    try:
        _assert_decode_error(path, capfd, "permission denied")
    finally:
        path.chmod(0o644)


def test_truncated_mp3_says_where_it_stops(tmp_path: Path, capfd) -> None:
    data = _write(tmp_path, "mp3", audiogen.sweep(10.0, SR), channels=2).read_bytes()
    path = tmp_path / "cut.mp3"
    path.write_bytes(data[: len(data) // 2])
    # mpg123 warns about the short file on stderr when libsndfile opens it: none of that may leak
    _assert_decode_error(path, capfd, "truncated", "00:05 of 00:10")


def test_probe_raises_decode_error_too(tmp_path: Path, capfd) -> None:
    path = tmp_path / "noise.m4a"
    path.write_bytes(np.random.default_rng(1).bytes(20_000))
    with pytest.raises(DecodeError, match="not an audio file"):
        probe(path)
    assert capfd.readouterr().err == ""


def test_pcm_24_and_mono_wav_round_trip(tmp_path: Path) -> None:
    y = audiogen.sweep(1.0, SAMPLE_RATE)
    path = tmp_path / "x.wav"
    sf.write(path, y, SAMPLE_RATE, subtype="PCM_24")
    np.testing.assert_allclose(load(path), y, rtol=0, atol=1e-6)  # no resampling at 22,050 Hz


@pytest.mark.parametrize("fraction", [0.1, 0.9])
@pytest.mark.parametrize("fmt", ["ogg", "opus", "wav", "aiff", "wma"])
def test_a_cut_file_that_its_decoder_reads_as_short_is_reported_truncated(tmp_path: Path, fmt: str,
                                                                         fraction: float) -> None:
    whole = _write(tmp_path, fmt, audiogen.sweep(20.0, SR), channels=2)
    assert probe(whole).duration == pytest.approx(20.0, abs=0.1)  # the whole file is fine
    cut = tmp_path / f"cut{whole.suffix}"
    data = whole.read_bytes()
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(DecodeError) as info:
        probe(cut)
    assert info.value.reason.startswith("truncated: ")
    if fmt in ("wav", "aiff", "wma"):
        assert info.value.reason.endswith(" of 00:20") or info.value.reason.endswith(" of 00:19")


def test_a_wav_header_promising_hours_with_a_second_inside(tmp_path: Path) -> None:
    import struct

    path = _write(tmp_path, "wav", audiogen.sweep(1.0, SR), channels=1)
    data = bytearray(path.read_bytes())
    at = data.find(b"data")
    data[at + 4:at + 8] = struct.pack("<I", 10 * 3600 * SR * 2)  # 10 h of 16-bit mono
    path.write_bytes(bytes(data))
    with pytest.raises(DecodeError, match=r"truncated: the audio stops at 00:01 of 10:00:00"):
        probe(path)
