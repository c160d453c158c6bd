"""A track as musicnn hears it: 16 kHz mono, musicnn's log-mel, cut into 3 s patches.

The input must match what the backbone was trained on exactly (``../shared/BACKBONE.md``):
librosa's ``melspectrogram`` defaults at 16 kHz with n_fft 512, hop 256, 96 Slaney mel bands,
power 2 and centred frames, then ``log10(10000 * mel + 1)`` computed in float32 (musicnn's own
extractor casts to float16 first, which overflows under NumPy 2). Patches are 187 frames (~3 s)
without overlap.

Long tracks are sampled, not analysed end to end: :data:`PATCHES_PER_TRACK` single patches spread
evenly over the track, each decoded on its own by seeking (see :func:`patch_offsets` for where and
the README for the measurements behind the number). A track shorter than one patch is repeated
until it fills one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from musictag.audio.decode import AudioSource, audio_file

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187
#: Samples that give exactly one patch of centred frames (1 + n // HOP = PATCH_FRAMES).
PATCH_SAMPLES = (PATCH_FRAMES - 1) * HOP
PATCH_SECONDS = PATCH_SAMPLES / SAMPLE_RATE
#: Seconds from one patch to the next in a track analysed whole (what one patch stands for).
PATCH_STEP_S = PATCH_FRAMES * HOP / SAMPLE_RATE
#: Patches analysed in a track longer than :data:`WHOLE_TRACK_LIMIT_S` (bench/bench_patches.py, README).
PATCHES_PER_TRACK = 8
#: Tracks up to this long are analysed whole, every patch (a 30 s clip has 10).
WHOLE_TRACK_LIMIT_S = 30.0
#: A patch counts as digital silence below this peak (-90 dBFS), as in the feature path.
SILENCE_PEAK = 10 ** (-90 / 20)


@dataclass
class TrackPatches:
    """The log-mel patches of one track and where they come from."""

    patches: np.ndarray  # (n, 187, 96) float32
    starts: np.ndarray  # (n,) seconds
    duration: float
    silent: bool


def _slaney_mel(hz: np.ndarray) -> np.ndarray:
    """Hz to Slaney's mel scale: linear to 1 kHz, logarithmic above (librosa's ``hz_to_mel``)."""
    linear = hz / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(hz, 1000.0) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log, linear)


def _slaney_hz(mel: np.ndarray) -> np.ndarray:
    """Slaney's mel scale back to Hz (librosa's ``mel_to_hz``)."""
    linear = mel * (200.0 / 3)
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log, linear)


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    """``librosa.filters.mel(sr=16000, n_fft=512, n_mels=96)`` to the last bit (tested), in NumPy alone:
    importing librosa (SciPy's signal package, numba) cost ~0.8 s of every ``similar`` and ``info``."""
    fft_hz = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    mel_hz = _slaney_hz(np.linspace(_slaney_mel(np.float64(0.0)), _slaney_mel(np.float64(SAMPLE_RATE / 2)),
                                    N_MELS + 2))
    widths = np.diff(mel_hz)
    ramps = np.subtract.outer(mel_hz, fft_hz)
    weights = np.zeros((N_MELS, len(fft_hz)), np.float32)
    for i in range(N_MELS):  # triangles, in float64 then stored in float32 row by row, as librosa does
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / widths[i], ramps[i + 2] / widths[i + 1]))
    weights *= (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]  # Slaney's area normalisation
    return weights


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)  # periodic Hann, as librosa


def log_mel(y: np.ndarray) -> np.ndarray:
    """musicnn's input of mono 16 kHz ``y``: ``(T, 96)`` float32 with ``T = 1 + len(y) // 256``.

    The same numbers as ``log10(10000 * librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512,
    hop_length=256, n_mels=96) + 1)`` in float32 (centred frames, zero padding), without librosa's STFT.
    """
    y = np.ascontiguousarray(y, dtype=np.float32)
    padded = np.pad(y, N_FFT // 2)
    n_frames = 1 + len(y) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:n_frames]
    spectrum = np.fft.rfft(frames * _window(), axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    mel = power @ _mel_basis().T
    return np.log10(np.float32(10000) * mel + np.float32(1)).astype(np.float32, copy=False)


def repeat_to(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` repeated (looped) until it is at least ``n`` samples long."""
    if len(y) >= n or len(y) == 0:
        return y
    return np.tile(y, -(-n // len(y)))


def cut_patches(mel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping ``(n, 187, 96)`` patches of ``(T, 96)`` frames and their first frame indices.

    Frames past the last whole patch are dropped (as musicnn does); at least one patch is returned
    when ``T >= 187``.
    """
    n = len(mel) // PATCH_FRAMES
    idx = np.arange(n) * PATCH_FRAMES
    return mel[: n * PATCH_FRAMES].reshape(n, PATCH_FRAMES, N_MELS), idx


def patch_offsets(duration: float, count: int = PATCHES_PER_TRACK, seconds: float = PATCH_SECONDS) -> list[float]:
    """Start times of the ``count`` excerpts of ``seconds`` (default: one patch) sampled from a long track:
    evenly spread, away from both ends.

    Single patches spread over the whole track beat groups of neighbouring patches at the same cost
    (intros, breaks and outros differ from the body of a song; BACKBONE.md measured 8 spread > 2 x 4).
    """
    span = max(0.0, duration - seconds)
    return [span * (i + 1) / (count + 1) for i in range(count)]


def _is_silent(y: np.ndarray) -> bool:
    return bool(len(y) == 0 or np.max(np.abs(y)) < SILENCE_PEAK)


def audio_patches(y: np.ndarray) -> TrackPatches:
    """Every patch of an already decoded mono 16 kHz signal (repeat-padded to one patch when shorter)."""
    duration = len(y) / SAMPLE_RATE
    patches, idx = cut_patches(log_mel(repeat_to(y, PATCH_SAMPLES)))
    return TrackPatches(patches, idx * HOP / SAMPLE_RATE, duration, _is_silent(y))


@dataclass
class SampledAudio:
    """The audio a track is analysed from: the whole track as one block, or the excerpts sampled from it."""

    blocks: list[np.ndarray]  # mono float32 at the requested rate (after ``transform``)
    starts: np.ndarray  # (n_blocks,) seconds
    duration: float  # of the whole track
    whole: bool  # one block: the whole track
    silent: bool  # every block is digital silence


def sampled_audio(source: AudioSource,
                  transform: Callable[[np.ndarray], np.ndarray] | None = None, count: int = PATCHES_PER_TRACK,
                  seconds: float = PATCH_SECONDS, sr: int = SAMPLE_RATE) -> SampledAudio:
    """Decode what a track is analysed from at ``sr``: all of it up to :data:`WHOLE_TRACK_LIMIT_S`, else
    ``count`` excerpts of ``seconds`` at :func:`patch_offsets`, all decoded from one opening of the file by
    seeking (:meth:`musictag.audio.decode.AudioFile.excerpts`).

    ``source``: a path, or a file already opened with :func:`musictag.audio.decode.open_audio`; ``transform`` (an
    augmentation, for training) is applied to each decoded block. Raises :class:`musictag.audio.decode.DecodeError`
    when the file cannot be decoded.
    """
    transform = transform or (lambda y: y)
    with audio_file(source) as f:
        duration = f.info.duration
        if duration <= WHOLE_TRACK_LIMIT_S:
            y = f.load(sr=sr)
            block = transform(y)
            return SampledAudio([block], np.zeros(1), len(y) / sr, True, _is_silent(block))
        offsets = patch_offsets(duration, count, seconds)
        blocks = [transform(b) for b in f.excerpts(offsets, seconds, sr=sr)]
    return SampledAudio(blocks, np.asarray(offsets), duration, False, all(_is_silent(b) for b in blocks))


def track_patches(source: AudioSource,
                  transform: Callable[[np.ndarray], np.ndarray] | None = None,
                  count: int = PATCHES_PER_TRACK) -> TrackPatches:
    """Decode ``source`` and return its patches: every patch of a short track, ``count`` sampled ones of a long
    one (:func:`sampled_audio`; ``source``, ``transform`` and errors as there).
    """
    audio = sampled_audio(source, transform, count)
    if audio.whole:
        result = audio_patches(audio.blocks[0])
        result.duration = audio.duration
        return result
    patches = [cut_patches(log_mel(repeat_to(b, PATCH_SAMPLES)))[0][:1] for b in audio.blocks]
    return TrackPatches(np.concatenate(patches), audio.starts, audio.duration, audio.silent)
