"""A track as the second study's frame inputs see it: ``(n_segments, 60, dim)`` arrays, NumPy and librosa only.

Four representations of short frames, each mean-pooled in time into steps of about 50 ms; a track
becomes non-overlapping segments of :data:`SEGMENT_STEPS` steps (about 3 s):

- ``mel``: 80 log-mel bands, 25 ms window, 10 ms hop at 16 kHz (5 frames a step: 50 ms).
- ``mfcc``: 60 coefficients of a 128-band log-mel, same frames.
- ``cqt``: 84 log-magnitude constant-Q bins, 7 octaves from C1 at 12 per octave, at 16 kHz. librosa
  halves the signal once per octave, so its hop must be a multiple of 2^(7-1) = 64: 192 samples
  (12 ms, not 10 ms), 4 frames a step (48 ms).
- ``features44``: the 44 hand-made features' frames (:func:`musictag.analysis.features.frame_features`, their
  own 2048 / 512 STFT at 22,050 Hz, 23 ms hop), 2 frames a step (46 ms).

Which audio is the backbone's policy (:func:`musictag.analysis.patches.sampled_audio`): a track up to 30 s is
cut whole into segments (shorter than one segment: looped to fill one); a longer one is 8 excerpts,
spread over it and decoded by seeking, each one segment. Every number is in :func:`settings`, which a
model folder records and :mod:`musictag.analysis.models` compares before using the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from musictag.analysis.features import FEATURE_VERSION, frame_features
from musictag.analysis.patches import PATCHES_PER_TRACK, repeat_to, sampled_audio
from musictag.audio.decode import AudioSource

#: Bumped whenever the numbers this module produces change; models record the version they need.
FRAME_VERSION = 1
#: The frame inputs ``musictag train --input`` offers besides the backbone's ``musicnn``.
FRAME_INPUTS = ("features44", "mel", "mfcc", "cqt")
#: Steps per segment: 60 steps of ~50 ms, ~3 s (the backbone's patch length).
SEGMENT_STEPS = 60
#: Added to magnitudes and mel powers before the logarithm (about -120 dB: below any real audio).
LOG_FLOOR = 1e-6

_STFT = {"sample_rate": 16000, "n_fft": 512, "win_length": 400, "hop": 160, "pool": 5}
_SPECS: dict[str, dict] = {
    "mel": {**_STFT, "n_mels": 80, "dim": 80},
    "mfcc": {**_STFT, "n_mels": 128, "dim": 60},
    "cqt": {"sample_rate": 16000, "hop": 192, "pool": 4, "fmin_note": "C1", "bins_per_octave": 12, "dim": 84},
    "features44": {"sample_rate": 22050, "n_fft": 2048, "hop": 512, "pool": 2, "dim": 44,
                   "feature_version": FEATURE_VERSION},
}


@dataclass
class TrackSegments:
    """The segments of one track and where they come from."""

    segments: np.ndarray  # (n, SEGMENT_STEPS, dim) float32
    starts: np.ndarray  # (n,) seconds
    duration: float
    silent: bool


def settings(name: str) -> dict:
    """Everything that makes ``name``'s segments what they are, with :data:`FRAME_VERSION` (a model
    folder records it; a model trained with other settings is refused)."""
    spec = _SPECS[name]
    step_s = spec["pool"] * spec["hop"] / spec["sample_rate"]
    return {"version": FRAME_VERSION, "input": name, **spec, "segment_steps": SEGMENT_STEPS,
            "step_seconds": step_s, "segment_seconds": SEGMENT_STEPS * step_s}


def _segment_samples(spec: dict) -> int:
    """Samples that give exactly one segment of centred frames (``1 + n // hop = steps * pool``)."""
    return (SEGMENT_STEPS * spec["pool"] - 1) * spec["hop"]


def excerpt_seconds(name: str) -> float:
    """Seconds decoded at each offset of a long track: exactly one segment of ``name``'s frames."""
    spec = _SPECS[name]
    return _segment_samples(spec) / spec["sample_rate"]


def _stft_power(y: np.ndarray, spec: dict) -> np.ndarray:
    import librosa

    s = librosa.stft(y, n_fft=spec["n_fft"], hop_length=spec["hop"], win_length=spec["win_length"],
                     dtype=np.complex64)
    return s.real**2 + s.imag**2


def _mel_power(y: np.ndarray, spec: dict) -> np.ndarray:
    import librosa

    basis = librosa.filters.mel(sr=spec["sample_rate"], n_fft=spec["n_fft"], n_mels=spec["n_mels"])
    return basis.astype(np.float32) @ _stft_power(y, spec)


def frames(y: np.ndarray, name: str) -> np.ndarray:
    """``(T, dim)`` float32 frames of ``name`` for mono ``y`` at ``settings(name)["sample_rate"]``
    (centred frames: ``T = 1 + len(y) // hop``)."""
    import librosa

    spec = _SPECS[name]
    y = np.ascontiguousarray(y, dtype=np.float32)
    if name == "features44":
        out = frame_features(y, spec["sample_rate"])
    elif name == "mel":
        out = np.log(_mel_power(y, spec) + LOG_FLOOR)
    elif name == "mfcc":
        out = librosa.feature.mfcc(S=librosa.power_to_db(_mel_power(y, spec)), n_mfcc=spec["dim"])
    else:
        c = librosa.cqt(y, sr=spec["sample_rate"], hop_length=spec["hop"], fmin=librosa.note_to_hz(spec["fmin_note"]),
                        n_bins=spec["dim"], bins_per_octave=spec["bins_per_octave"], dtype=np.complex64)
        out = np.log(np.abs(c) + LOG_FLOOR)
    return np.ascontiguousarray(out.T, dtype=np.float32)


def cut_segments(matrix: np.ndarray, pool: int) -> np.ndarray:
    """``(T, dim)`` frames mean-pooled over ``pool`` frames into steps, cut into ``(n, SEGMENT_STEPS, dim)``
    segments without overlap (steps past the last whole segment are dropped)."""
    steps = len(matrix) // pool
    pooled = matrix[: steps * pool].reshape(steps, pool, -1).mean(axis=1)
    n = steps // SEGMENT_STEPS
    return pooled[: n * SEGMENT_STEPS].reshape(n, SEGMENT_STEPS, -1)


def audio_segments(y: np.ndarray, name: str) -> np.ndarray:
    """Every segment of a decoded mono signal at ``name``'s rate (looped to one segment when shorter)."""
    spec = _SPECS[name]
    return cut_segments(frames(repeat_to(y, _segment_samples(spec)), name), spec["pool"])


def track_segments(source: AudioSource, name: str,
                   transform: Callable[[np.ndarray], np.ndarray] | None = None,
                   count: int = PATCHES_PER_TRACK) -> TrackSegments:
    """Decode ``source`` (a path, or a file opened with :func:`musictag.audio.decode.open_audio`) and return its
    ``name`` segments: every one of a short track, one per sampled excerpt of a long one.

    ``transform`` (an augmentation, for training) is applied to each decoded block. Raises
    :class:`musictag.audio.decode.DecodeError` when the file cannot be decoded.
    """
    rate = _SPECS[name]["sample_rate"]
    audio = sampled_audio(source, transform, count, excerpt_seconds(name), rate)
    if audio.whole:
        segments = audio_segments(audio.blocks[0], name)
        starts = np.arange(len(segments)) * settings(name)["segment_seconds"]
    else:
        segments = np.concatenate([audio_segments(b, name)[:1] for b in audio.blocks])
        starts = audio.starts
    return TrackSegments(segments, starts, audio.duration, audio.silent)
