"""The 44 hand-made features of the seed study, cut into 5-second windows.

Rows, in order: 20 MFCC, 12 chroma (from the STFT), spectral centroid, bandwidth, 7 spectral
contrast bands, rolloff, zero-crossing rate, RMS. All come from ONE magnitude STFT per analysed
block (n_fft 2048, hop 512 at 22,050 Hz), computed in float32.

Long tracks are not analysed end to end: a track longer than ``FULL_TRACK_LIMIT_S`` is analysed
in ``N_EXCERPTS`` evenly spaced excerpts of ``EXCERPT_S`` seconds, each decoded on its own (a
seek, not a full decode). That bounds both the time and the memory per track, whatever its
length. Training and inference both call :func:`track_features`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from musictag.audio.decode import SAMPLE_RATE, AudioSource, audio_file

#: Bumped whenever the numbers this module produces change; models record the version they need.
FEATURE_VERSION = 1

N_FFT = 2048
HOP = 512
N_MFCC = 20
N_CHROMA = 12
N_CONTRAST_BANDS = 6  # + 1 valley row = 7 contrast rows
WINDOW_FRAMES = 216  # 5 s at hop 512
WINDOW_STEP = 129  # 3 s: consecutive windows overlap by 2 s
N_FEATURES = 44

FULL_TRACK_LIMIT_S = 90.0
N_EXCERPTS = 4
EXCERPT_S = 5.0 + 3.0 * 4 + 0.2  # five windows per excerpt

ROW_NAMES: tuple[str, ...] = (
    *(f"mfcc{i + 1}" for i in range(N_MFCC)),
    *("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"),
    "centroid", "bandwidth",
    *(f"contrast{i + 1}" for i in range(N_CONTRAST_BANDS + 1)),
    "rolloff", "zcr", "rms",
)

# Peak amplitude under which a whole track counts as (digital) silence: -90 dBFS.
SILENCE_PEAK = 10 ** (-90 / 20)


@dataclass
class TrackFeatures:
    """A track's feature windows and what is known about how they were made."""

    windows: np.ndarray  # (n_windows, 44, 216) float32
    starts: np.ndarray  # start time of each window in seconds, (n_windows,)
    duration: float  # of the whole track, in seconds
    silent: bool  # the analysed audio is digital silence: no genre can be given


def settings() -> dict:
    """Feature settings stored with a model so that inference can refuse a mismatch."""
    return {"version": FEATURE_VERSION, "sample_rate": SAMPLE_RATE, "n_fft": N_FFT, "hop": HOP,
            "window_frames": WINDOW_FRAMES, "window_step": WINDOW_STEP, "rows": list(ROW_NAMES)}


@lru_cache(maxsize=4)
def _filters(sr: int):
    import librosa

    mel = librosa.filters.mel(sr=sr, n_fft=N_FFT, n_mels=128).astype(np.float32)
    chroma = librosa.filters.chroma(sr=sr, n_fft=N_FFT, tuning=0.0).astype(np.float32)
    return mel, chroma


def spectral_shape(S: np.ndarray, sr: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectral centroid, bandwidth (p=2) and 85 % rolloff of magnitudes ``S``, each ``(1, T)``.

    The same definitions as librosa's ``spectral_centroid``, ``spectral_bandwidth`` and
    ``spectral_rolloff`` (equal to ~1e-6 relative), computed in float32 from one column sum: librosa
    works in float64 and renormalises S for each, which made these three rows 70 % of the features' time.
    """
    freq = np.linspace(0, sr / 2, S.shape[0], dtype=np.float32)[:, None]
    total = S.sum(axis=0, keepdims=True)
    safe = np.maximum(total, np.finfo(np.float32).tiny)  # silent frames: 0, as librosa gives
    centroid = (freq * S).sum(axis=0, keepdims=True) / safe
    bandwidth = np.sqrt((S * (freq - centroid) ** 2).sum(axis=0, keepdims=True) / safe)
    cumulative = np.cumsum(S, axis=0)
    rolloff = freq[np.argmax(cumulative >= 0.85 * cumulative[-1:], axis=0), 0][None, :]
    return centroid, bandwidth, rolloff


def zero_crossing_rate(y: np.ndarray) -> np.ndarray:
    """Zero-crossing rate of ``y`` per frame, ``(1, T)``, from one cumulative sum.

    The same numbers as ``librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512)``
    (centred frames, edge padding, |y| <= 1e-10 counted as zero), without framing the signal.
    """
    y = np.pad(y, N_FFT // 2, mode="edge")
    sign = np.signbit(np.where(np.abs(y) <= 1e-10, 0, y))
    crossings = np.concatenate([[0], np.cumsum(sign[1:] != sign[:-1])])
    starts = np.arange(1 + (len(y) - N_FFT) // HOP) * HOP
    return ((crossings[starts + N_FFT - 1] - crossings[starts]) / N_FFT).astype(np.float32)[None, :]


def frame_features(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Return the ``(44, T)`` feature matrix of mono signal ``y`` at hop 512 (T = 1 + len // 512)."""
    import librosa

    y = np.ascontiguousarray(y, dtype=np.float32)
    if len(y) < N_FFT:
        y = np.pad(y, (0, N_FFT - len(y)))
    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, dtype=np.complex64))
    P = S * S
    mel_fb, chroma_fb = _filters(sr)
    mel_db = librosa.power_to_db(mel_fb @ P)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=N_MFCC)
    chroma = librosa.util.normalize(chroma_fb @ P, norm=np.inf, axis=0)
    centroid, bandwidth, rolloff = spectral_shape(S, sr)
    contrast = librosa.feature.spectral_contrast(S=S, sr=sr, n_fft=N_FFT,
                                                 n_bands=N_CONTRAST_BANDS)
    zcr = zero_crossing_rate(y)
    rms = librosa.feature.rms(S=S, frame_length=N_FFT)
    out = np.concatenate([mfcc, chroma, centroid, bandwidth, contrast, rolloff, zcr, rms])
    out = out[:, : S.shape[1]].astype(np.float32, copy=False)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def cut_windows(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``(44, T)`` frames into ``(n, 44, 216)`` windows every 129 frames.

    Fewer than 216 frames are tiled (the audio looped) to fill one window. Returns the windows and
    each window's first frame index.
    """
    t = frames.shape[1]
    if t < WINDOW_FRAMES:
        frames = np.pad(frames, ((0, 0), (0, WINDOW_FRAMES - t)), mode="wrap")
        t = WINDOW_FRAMES
    n = 1 + (t - WINDOW_FRAMES) // WINDOW_STEP
    idx = np.arange(n) * WINDOW_STEP
    view = np.lib.stride_tricks.sliding_window_view(frames, WINDOW_FRAMES, axis=1)
    windows = np.ascontiguousarray(view[:, idx, :].transpose(1, 0, 2))
    return windows, idx


def excerpt_offsets(duration: float) -> list[float]:
    """Start times of the excerpts analysed for a track of ``duration`` seconds ([0] if whole): the one sampling
    policy of every input (:func:`musictag.analysis.patches.patch_offsets`), with this path's excerpts of
    :data:`EXCERPT_S` seconds, :data:`N_EXCERPTS` of them."""
    from musictag.analysis.patches import patch_offsets

    return [0.0] if duration <= FULL_TRACK_LIMIT_S else patch_offsets(duration, N_EXCERPTS, EXCERPT_S)


def audio_features(y: np.ndarray, sr: int = SAMPLE_RATE, offset: float = 0.0) -> TrackFeatures:
    """Windows of an already decoded mono signal (one block, one STFT)."""
    silent = bool(len(y) == 0 or np.max(np.abs(y)) < SILENCE_PEAK)
    windows, idx = cut_windows(frame_features(y, sr))
    return TrackFeatures(windows, offset + idx * HOP / sr, len(y) / sr, silent)


def track_features(source: AudioSource,
                   transform: Callable[[np.ndarray], np.ndarray] | None = None) -> TrackFeatures:
    """Decode ``source`` (a path, or a file opened with :func:`musictag.audio.decode.open_audio`) and return its
    feature windows (whole track, or evenly spaced excerpts, decoded from the one opening).

    ``transform`` (an augmentation, for training) is applied to each decoded block first.
    Raises :class:`musictag.audio.decode.DecodeError` when the file cannot be decoded.
    """
    transform = transform or (lambda y: y)
    with audio_file(source) as f:
        duration = f.info.duration
        offsets = excerpt_offsets(duration)
        if offsets == [0.0]:
            y = f.load()
            result = audio_features(transform(y))
            result.duration = len(y) / SAMPLE_RATE
            return result
        blocks = f.excerpts(offsets, EXCERPT_S)
    parts = [audio_features(transform(y), offset=o) for y, o in zip(blocks, offsets, strict=True)]
    return TrackFeatures(
        windows=np.concatenate([p.windows for p in parts]),
        starts=np.concatenate([p.starts for p in parts]),
        duration=duration,
        silent=all(p.silent for p in parts),
    )
