"""Audio augmentations that mimic what separates GTZAN (clips from ~2000) from a modern library.

Each takes mono float32 at sample rate ``sr`` (22,050 Hz for the 44 features, 16 kHz for the
backbone), returns it at the same rate, and is deterministic for a given signal, so its features can
be cached like the plain audio's:

- ``mp3``: a round trip through a low-bitrate MP3 encoder (lossy-codec artefacts, band limit).
- ``loud``: modern mastering: a brighter top end, then +9 dB into a soft limiter (squashed dynamics).
- ``mp3+loud``: both.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable

import numpy as np

from musictag.audio.decode import SAMPLE_RATE


def mp3_roundtrip(y: np.ndarray, sr: int = SAMPLE_RATE, quality: float = 0.8) -> np.ndarray:
    """Encode to MP3 with libsndfile (``quality`` 0 = best .. 1 = smallest) and decode back."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, y, sr, format="MP3", compression_level=quality)
    buf.seek(0)
    out, _ = sf.read(buf, dtype="float32")
    out = out[: len(y)]
    return np.pad(out, (0, len(y) - len(out))) if len(out) < len(y) else out


def loud_master(y: np.ndarray, sr: int = SAMPLE_RATE, drive_db: float = 9.0, shelf_db: float = 4.0) -> np.ndarray:
    """Brighten above ~3 kHz by ``shelf_db``, then drive ``drive_db`` into a tanh limiter."""
    from scipy.signal import lfilter

    peak = float(np.max(np.abs(y))) or 1.0
    x = y / peak
    # first-order high shelf: x + (g - 1) * highpass(x)
    c = np.exp(-2 * np.pi * 3000 / sr)
    high = lfilter([(1 + c) / 2, -(1 + c) / 2], [1, -c], x)
    x = x + (10 ** (shelf_db / 20) - 1) * high
    g = 10 ** (drive_db / 20)
    return (np.tanh(g * x) / np.tanh(g) * 0.98).astype(np.float32)


def mp3_loud(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """A loud master, then an MP3 round trip."""
    return mp3_roundtrip(loud_master(y, sr), sr)


AUGMENTATIONS: dict[str, Callable[..., np.ndarray]] = {
    "mp3": mp3_roundtrip,
    "loud": loud_master,
    "mp3+loud": mp3_loud,
}


def at_rate(name: str, sr: int) -> Callable[[np.ndarray], np.ndarray]:
    """The augmentation ``name`` for signals at ``sr`` Hz, as a one-argument transform."""
    return functools.partial(AUGMENTATIONS[name], sr=sr)
