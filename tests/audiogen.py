"""Synthesise test signals, write them as real files in every format musictag reads, read tags back raw."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: format name -> (file suffix, lossless?)
FORMATS: dict[str, tuple[str, bool]] = {
    "wav": (".wav", True),
    "aiff": (".aiff", True),
    "flac": (".flac", True),
    "ogg": (".ogg", False),
    "opus": (".opus", False),
    "mp3": (".mp3", False),
    "aac": (".m4a", False),
    "alac": (".m4a", True),
    "wma": (".wma", False),
}

_SOUNDFILE = {
    "wav": ("WAV", "PCM_16"),
    "aiff": ("AIFF", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", None),
}
_PYAV = {"aac": ("aac", "mp4", None), "alac": ("alac", "ipod", None),
         "wma": ("wmav2", "asf", None), "opus": ("libopus", "ogg", 48000)}


def sweep(seconds: float, sr: int = 44100, seed: int = 0) -> np.ndarray:
    """A non-periodic test signal: two gliding tones under a random loudness envelope."""
    t = np.arange(int(round(seconds * sr))) / sr
    rng = np.random.default_rng(seed)
    knots = max(2, int(seconds * 4))
    env = np.interp(t, np.linspace(0, seconds, knots), rng.uniform(0.2, 1.0, knots))
    y = 0.3 * np.sin(2 * np.pi * (200 * t + 60 * t**2)) + 0.2 * np.sin(2 * np.pi * (900 * t - 50 * t**2))
    return (y * env).astype(np.float32)


def tone(freq: float, seconds: float, sr: int = 22050, amp: float = 0.5) -> np.ndarray:
    """A pure sine tone."""
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_audio(path: Path, y: np.ndarray, sr: int, fmt: str, channels: int = 2) -> Path:
    """Write mono ``y`` (duplicated to ``channels``) to ``path`` in format ``fmt``; return path."""
    import soundfile as sf

    data = np.stack([y * (1.0 - 0.3 * c) for c in range(channels)], axis=1).astype(np.float32)
    if fmt in _SOUNDFILE:
        container, subtype = _SOUNDFILE[fmt]
        sf.write(path, data, sr, format=container, subtype=subtype)
        return path
    import av
    import soxr

    codec, container_fmt, rate = _PYAV[fmt]
    rate = rate or sr
    if rate != sr:
        data = soxr.resample(data, sr, rate).astype(np.float32)
    layout = "stereo" if channels == 2 else "mono"
    with av.open(str(path), "w", format=container_fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = layout
        stream.bit_rate = 160_000
        for i in range(0, len(data), 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data[i:i + 1024].T),
                                               format="fltp", layout=layout)
            frame.rate = rate
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def raw_genres(path: Path) -> list[str] | None:
    """The genre field as mutagen itself reads it (not through musictag); None when absent."""
    import mutagen
    from mutagen.asf import ASF
    from mutagen.id3 import ID3
    from mutagen.mp4 import MP4

    f = mutagen.File(path)
    if f.tags is None:
        return None
    if isinstance(f.tags, ID3):
        return list(f.tags["TCON"].text) if "TCON" in f.tags else None
    field = {MP4: "\xa9gen", ASF: "WM/Genre"}.get(type(f), "GENRE")
    return [str(v) for v in f.tags[field]] if field in f.tags else None
