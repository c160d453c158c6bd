"""Synthesise test signals, write them as real files in every format musictag reads, read tags back raw;
put WAV files with a RIFF INFO chunk together byte by byte, and take them apart."""

from __future__ import annotations

import struct
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


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The top-level chunks of a RIFF WAVE file's bytes, each ``(id, data)``; asserts that every size, pad
    byte and the RIFF size add up to the file exactly."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    pos, out = 12, []
    while pos < len(data):
        chunk_id, size = struct.unpack("<4sI", data[pos:pos + 8])
        assert pos + 8 + size + (size & 1) <= len(data), chunk_id
        assert size & 1 == 0 or data[pos + 8 + size] == 0  # the pad byte of an odd size
        out.append((chunk_id, data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return out


def info_entries(data: bytes) -> list[tuple[bytes, bytes]] | None:
    """The entries of a WAV file's INFO list (from its bytes), each ``(id, bytes as stored)``, with every size
    and pad byte checked; None without an INFO list."""
    bodies = [body for chunk_id, body in riff_chunks(data) if chunk_id == b"LIST" and body[:4] == b"INFO"]
    if not bodies:
        return None
    body, pos, entries = bodies[0], 4, []
    while pos < len(body):
        key, size = struct.unpack("<4sI", body[pos:pos + 8])
        assert pos + 8 + size <= len(body) and (size & 1 == 0 or body[pos + 8 + size] == 0)
        entries.append((key, body[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    assert pos == len(body)
    return entries


def info_list(entries: list[tuple[bytes, bytes]]) -> bytes:
    """The entries of an INFO list as RIFF stores them (each padded to an even size)."""
    return b"".join(key + struct.pack("<I", len(v)) + v + b"\0" * (len(v) & 1) for key, v in entries)


def wav_with_info(path: Path, entries: list[tuple[bytes, bytes]] | None = None, *, after_data: bool = False,
                  list_body: bytes | None = None, seconds: float = 2.0, seed: int = 0) -> Path:
    """A mono 22.05 kHz WAV with a LIST/INFO chunk of ``entries`` (or of the raw ``list_body``), put together
    byte by byte: before the audio (as FFmpeg and libsndfile put it) or after it."""
    write_audio(path, sweep(seconds, 22050, seed), 22050, "wav", 1)
    chunks = riff_chunks(path.read_bytes())
    chunks.insert(len(chunks) if after_data else [c for c, _ in chunks].index(b"data"),
                  (b"LIST", b"INFO" + (list_body if list_body is not None else info_list(entries or []))))
    path.write_bytes(_riff_file(chunks))
    return path


def set_info_entries(path: Path, entries: list[tuple[bytes, bytes]]) -> None:
    """Give the WAV file's INFO list these entries, as another program would (every other chunk as it is)."""
    chunks = [(cid, b"INFO" + info_list(entries) if cid == b"LIST" and data[:4] == b"INFO" else data)
              for cid, data in riff_chunks(path.read_bytes())]
    path.write_bytes(_riff_file(chunks))


def _riff_file(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(cid + struct.pack("<I", len(d)) + d + b"\0" * (len(d) & 1) for cid, d in chunks)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def edit_tags(path: Path, *, title: str | None = None, genre: str | None = None, cover: bytes | None = None) -> None:
    """Set the title, the genre and a front cover (JPEG ``cover`` bytes) in the file's own tag block with mutagen,
    as a tag editor (Picard, beets) does: a tag block added where there is none, the file saved in place."""
    import base64

    import mutagen
    from mutagen.asf import ASF, ASFByteArrayAttribute
    from mutagen.flac import FLAC, Picture
    from mutagen.id3 import APIC, ID3, TCON, TIT2
    from mutagen.mp4 import MP4, MP4Cover

    f = mutagen.File(path)
    if f.tags is None:
        f.add_tags()
    if isinstance(f.tags, ID3):
        frames = [TIT2(encoding=3, text=title) if title else None, TCON(encoding=3, text=genre) if genre else None,
                  APIC(encoding=3, mime="image/jpeg", type=3, desc="", data=cover) if cover else None]
        for frame in filter(None, frames):
            f.tags.add(frame)
    elif isinstance(f, MP4):
        f.tags.update({k: v for k, v in (("\xa9nam", [title]), ("\xa9gen", [genre]),
                                         ("covr", [MP4Cover(cover or b"", MP4Cover.FORMAT_JPEG)]))
                       if v[0]})
    elif isinstance(f, ASF):
        picture = cover and (b"\x03" + struct.pack("<I", len(cover)) + "image/jpeg\0".encode("utf-16-le")
                             + "\0".encode("utf-16-le") + cover)  # WM/Picture: type, size, MIME, description
        f.tags.update({k: v for k, v in (("Title", [title]), ("WM/Genre", [genre]),
                                         ("WM/Picture", [ASFByteArrayAttribute(picture) if picture else None]))
                       if v[0]})
    else:
        f.tags.update({k: [v] for k, v in (("TITLE", title), ("GENRE", genre)) if v})
        if cover:
            picture = Picture()
            picture.type, picture.mime, picture.data = 3, "image/jpeg", cover
            if isinstance(f, FLAC):
                f.add_picture(picture)
            else:  # Ogg Vorbis and Opus: a FLAC picture block in base64
                f.tags["METADATA_BLOCK_PICTURE"] = [base64.b64encode(picture.write()).decode("ascii")]
    f.save()
