"""Decode any audio file to mono float32 at 22,050 Hz.

libsndfile (through ``soundfile``) reads wav, aiff, flac, ogg/vorbis and opus; PyAV (FFmpeg) reads
everything else (mp3, m4a with AAC or ALAC, wma, ...; see :func:`_open_soundfile` for why mp3).
Several channels are averaged to one; resampling uses soxr. Every failure is raised as
:class:`DecodeError`, which carries the path and a one-line human reason.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from musictag.errors import DecodeError, short_reason

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 22050

#: File name extensions that the library scanner treats as audio.
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".wave", ".aif", ".aiff", ".aifc", ".flac", ".ogg", ".oga", ".opus", ".mp3",
     ".m4a", ".mp4", ".aac", ".alac", ".wma", ".asf", ".au", ".snd", ".wv", ".ape"}
)

# A file that ends this much earlier than its header promised is called truncated.
_TRUNCATION_TOLERANCE_S = 0.5
_BLOCK = 1 << 16
# Decoded and dropped before a read that starts inside the file: after a seek, MP3, AAC and WMA
# decoders rebuild their first frame from the one before it (overlap, bit reservoir).
_SEEK_PREROLL_S = 0.5


@dataclass(frozen=True)
class AudioInfo:
    """What a file says about itself before decoding."""

    duration: float
    sample_rate: int
    channels: int
    codec: str


def format_time(seconds: float, tenths: bool = False) -> str:
    """Format seconds as ``mm:ss`` (or ``h:mm:ss``), whole seconds cut; with ``tenths``, rounded to
    tenths (``00:02.9``, and 2.995 s is ``00:03.0``)."""
    if tenths:
        t = max(0, round(seconds * 10))
        return f"{format_time(t // 10)}.{t % 10}"
    s = max(0, int(seconds))
    h, rem = divmod(s, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60:02d}:{rem % 60:02d}"


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what C decoders (mpg123 inside libsndfile) print straight to file descriptor 2.

    Descriptor 2 itself, not ``sys.stderr.fileno()``: whoever replaced ``sys.stderr`` (pytest, a
    progress display) gives another descriptor, while C code keeps writing to 2.
    """
    fd = 2
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sys.stderr.flush()
    try:
        saved = os.dup(fd)
    except OSError:  # no descriptor 2 at all: nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def _check_readable(path: Path) -> None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        kind = "broken symbolic link" if os.path.islink(path) else "file not found"
        raise DecodeError(path, kind) from None
    except OSError as e:
        raise DecodeError(path, e.strerror or str(e)) from None
    if stat.S_ISDIR(st.st_mode):
        raise DecodeError(path, "is a directory, not an audio file")
    if not stat.S_ISREG(st.st_mode):
        raise DecodeError(path, "not a regular file")
    if st.st_size == 0:
        raise DecodeError(path, "empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise DecodeError(path, "permission denied (cannot read the file)")


@contextlib.contextmanager
def _opened(path: str | os.PathLike) -> Iterator[tuple[Path, object]]:
    """Check ``path`` is a readable file; yield it with its libsndfile handle (None: use PyAV).

    Native decoder chatter on stderr is silenced for the duration.
    """
    p = Path(path)
    _check_readable(p)
    with quiet_native_stderr():
        sf_file = _open_soundfile(p)
        if sf_file is None:
            yield p, None
        else:
            with sf_file as f:
                yield p, f


def inspect(path: str | os.PathLike) -> tuple[AudioInfo, str]:
    """The checks every command makes before analysing a file, in one order, so that scan, similar
    and info give a bad file the same reason: readable, audio by its content (:func:`musictag.sniff.sniff`),
    not cut short, a header a decoder accepts. Returns what :func:`probe` found and the format.

    Raises :class:`DecodeError` (also for content that is no audio).
    """
    from musictag.sniff import sniff

    _check_readable(Path(path))
    try:
        fmt = sniff(path)  # raises NotAudio, a DecodeError
    except OSError as e:
        raise DecodeError(path, f"cannot read the file: {e.strerror or e}") from None
    return probe(path), fmt


def probe(path: str | os.PathLike) -> AudioInfo:
    """Return duration, sample rate, channels and codec without decoding the audio.

    Raises :class:`DecodeError` also for a file cut short whose container says so while its
    decoder would not (see :func:`cut_short`).
    """
    _check_readable(Path(path))
    cut = cut_short(path)
    if cut:
        raise DecodeError(path, cut)
    with _opened(path) as (p, f):
        if f is not None:
            return AudioInfo(f.frames / f.samplerate, f.samplerate, f.channels, f"{f.format}/{f.subtype}".lower())
        with _open_av(p) as (container, stream):
            return AudioInfo(_av_duration(container, stream), stream.rate or 0,
                             stream.channels or 0, stream.codec_context.name)


def cut_short(path: str | os.PathLike) -> str | None:
    """Why a WAV, AIFF, Ogg or WMA file is truncated, from its container alone, or None.

    libsndfile reads such files up to where they stop and reports that length as the track's, so
    a cut file would pass as a short track: a WAV or AIFF whose audio chunk is shorter than its
    header says, an Ogg (Vorbis, Opus, FLAC) stream whose last page is not marked as the end.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
            size = os.fstat(f.fileno()).st_size
            if head[:4] == b"OggS":
                f.seek(max(0, size - (1 << 16)))
                return _ogg_cut(f.read())
    except OSError:
        return None  # the decoder's own checks report an unreadable file
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _chunk_cut(head, size, "<I", b"data", 0)
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return _chunk_cut(head, size, ">I", b"SSND", 8)
    if head[:16] == _ASF_HEADER:
        return _asf_cut(head, size)
    return None


_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_ASF_DATA = bytes.fromhex("3626b2758e66cf11a6d900aa0062ce6c")
_ASF_FILE_PROPERTIES = bytes.fromhex("a1dcab8c47a9cf118ee400c00c205365")


def _asf_cut(head: bytes, size: int) -> str | None:
    """A WMA (ASF) file whose data object ends past the end of the file: 'truncated: ...', else None.

    FFmpeg estimates a cut ASF file's length from its size, so the decoder never notices.
    """
    import struct

    header_size = struct.unpack("<Q", head[16:24])[0]
    if header_size + 50 > len(head) or head[header_size:header_size + 16] != _ASF_DATA:
        return None
    data_size = struct.unpack("<Q", head[header_size + 16:header_size + 24])[0]
    available = size - header_size
    if data_size < 50 or available >= data_size:  # 0 or tiny: size unknown (a broadcast stream)
        return None
    props = head.find(_ASF_FILE_PROPERTIES, 30, header_size)
    if props >= 0 and props + 88 <= len(head):  # play duration (100 ns units) less the preroll (ms)
        play, _, preroll = struct.unpack("<QQQ", head[props + 64:props + 88])
        seconds = play / 1e7 - preroll / 1e3
        if seconds > 0:
            return (f"truncated: the audio stops at {format_time(seconds * available / data_size)} of "
                    f"{format_time(seconds)}")
    return f"truncated: the file holds {100 * available / data_size:.0f}% of the audio its header announces"


def _chunk_cut(head: bytes, size: int, fmt: str, audio_id: bytes, skip: int) -> str | None:
    """A RIFF/IFF file whose audio chunk ends past the end of the file: 'truncated: ...', else None."""
    import struct

    pos, rate = 12, 0
    while pos + 8 <= len(head):
        chunk, length = head[pos:pos + 4], struct.unpack(fmt, head[pos + 4:pos + 8])[0]
        if chunk == b"fmt " and pos + 20 <= len(head):
            rate = struct.unpack("<I", head[pos + 16:pos + 20])[0]  # WAV byte rate
        if chunk == b"COMM" and pos + 26 <= len(head):  # AIFF: channels, frames, bits, 80-bit float rate
            channels, _, bits = struct.unpack(">hIh", head[pos + 8:pos + 16])
            exponent, mantissa = struct.unpack(">HQ", head[pos + 16:pos + 26])
            rate = int(channels * ((bits + 7) // 8) * mantissa * 2.0 ** ((exponent & 0x7FFF) - 16383 - 63))
        if chunk == audio_id:
            declared, available = length - skip, size - (pos + 8 + skip)
            if length in (0, 0xFFFFFFFF) or available >= declared:  # 0 / -1: length unknown (streamed)
                return None
            if rate:
                return (f"truncated: the audio stops at {format_time(available / rate)} of "
                        f"{format_time(declared / rate)}")
            return f"truncated: the file holds {100 * available / declared:.0f}% of the audio its header announces"
        pos += 8 + length + (length & 1)
    return None


def _ogg_cut(tail: bytes) -> str | None:
    """An Ogg file whose last page is not an end-of-stream page: 'truncated: ...', else None."""
    last = tail.rfind(b"OggS")
    if last < 0 or len(tail) < last + 6:
        return "truncated: the file stops in the middle of an Ogg page"
    if tail[last + 5] & 0x04:  # header_type flag: end of stream
        return None
    return "truncated: the Ogg stream stops before its end (the file was cut)"


def load(path: str | os.PathLike, offset: float = 0.0, duration: float | None = None,
         sr: int = SAMPLE_RATE) -> np.ndarray:
    """Decode ``path`` (or the part from ``offset`` for ``duration`` seconds) to mono float32 at ``sr``.

    Raises :class:`DecodeError` with a reason when the file cannot be decoded, holds no audio,
    or stops well before the length its header announces.
    """
    with _opened(path) as (p, f):
        if f is not None:
            read = _read_soundfile(p, f, offset, duration)
        else:
            read = _read_av(p, offset, duration)
    return _finished(p, *read, offset, sr)


def load_excerpts(path: str | os.PathLike, offsets: Sequence[float], duration: float,
                  sr: int = SAMPLE_RATE) -> list[np.ndarray]:
    """:func:`load` of ``duration`` seconds at each of ``offsets``, all decoded from one opening of the file
    (one libsndfile handle, or one FFmpeg container seeked from excerpt to excerpt); errors as :func:`load`."""
    with _opened(path) as (p, f):
        if f is not None:
            reads = [_read_soundfile(p, f, offset, duration) for offset in offsets]
        else:
            with _open_av(p) as (container, stream):
                seen: dict = {}
                reads = [_read_av_stream(p, container, stream, offset, duration, seen) for offset in offsets]
    return [_finished(p, *read, offset, sr) for read, offset in zip(reads, offsets, strict=True)]


def _finished(p: Path, mono: np.ndarray, native_sr: int, expected: float | None, offset: float,
              sr: int) -> np.ndarray:
    """A decoded read checked (cut short, empty) and resampled to ``sr``."""
    import numpy as np  # here, not at the top: the CLI imports this module for --help

    got = len(mono) / native_sr if native_sr else 0.0
    if expected is not None and got + _TRUNCATION_TOLERANCE_S < expected:
        raise DecodeError(p, f"truncated: the audio stops at {format_time(offset + got)} "
                             f"of {format_time(offset + expected)}")
    if len(mono) == 0:
        raise DecodeError(p, "no audio samples in the file")
    if native_sr != sr:
        import soxr

        mono = soxr.resample(mono, native_sr, sr, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


# --- libsndfile --------------------------------------------------------------------------


def _open_soundfile(path: Path):
    """Open with libsndfile, or return None when FFmpeg is to read the file.

    That is every format libsndfile does not know, and MP3: python-soundfile seeks after every
    read to keep its position, and in libsndfile 1.2 that seek restarts mpg123 without its bit
    reservoir, so each read block after the first begins with a burst of wrong samples. FFmpeg
    decodes MP3 glitch-free, sample-exact after seeks (LAME gapless info honoured) and faster.
    """
    import soundfile as sf

    try:
        f = sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None
    if f.format == "MP3":
        f.close()
        return None
    return f


def _read_soundfile(path: Path, f, offset: float, duration: float | None):
    import numpy as np
    import soundfile as sf

    rate = f.samplerate
    start = int(round(offset * rate))
    total = f.frames
    want = total - start if duration is None else min(int(round(duration * rate)), total - start)
    if want <= 0:
        return np.zeros(0, np.float32), rate, None
    remaining = want
    try:
        if f.tell():  # libsndfile's Vorbis seek from where a read stopped lands off (up to 0.5 away,
            f.seek(0)  # measured); from the top it is sample-exact, so a handle read before goes back first
        if start:
            f.seek(start)
        blocks = []
        while remaining > 0:
            block = f.read(min(_BLOCK, remaining), dtype="float32", always_2d=True)
            if len(block) == 0:
                break
            blocks.append(block.mean(axis=1) if block.shape[1] > 1 else block[:, 0])
            remaining -= len(block)
    except (sf.LibsndfileError, RuntimeError) as e:
        at = format_time((start + want - remaining) / rate)
        raise DecodeError(path, f"corrupt or truncated audio data at {at} ({short_reason(e)})") from None
    mono = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    return mono, rate, want / rate


# --- FFmpeg (PyAV) ----------------------------------------------------------------------


class _open_av:
    """Context manager yielding ``(container, first audio stream)``, errors as DecodeError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.container = None

    def __enter__(self):
        import av

        try:
            self.container = av.open(os.fsdecode(self.path), metadata_errors="ignore")
        except (av.error.InvalidDataError, av.error.EOFError):
            raise DecodeError(self.path, "not an audio file, or damaged beyond reading "
                                         "(format not recognised)") from None
        except av.error.FFmpegError as e:
            raise DecodeError(self.path, f"cannot open: {short_reason(e)}") from None
        streams = self.container.streams.audio
        if not streams:
            self.container.close()
            raise DecodeError(self.path, "no audio stream in the file")
        stream = streams[0]
        if stream.codec_context is None or not stream.codec_context.name:
            self.container.close()
            raise DecodeError(self.path, "unsupported codec")
        return self.container, stream

    def __exit__(self, *exc) -> None:
        if self.container is not None:
            self.container.close()


def _av_duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return 0.0


def _exact_length(stream, rate: int) -> int | None:
    """The stream's length in samples where the container states it to the sample (MP4 does).

    Decoders return whole codec frames, so AAC ends with up to 1023 samples of encoder padding
    that only this length marks as not part of the track.
    """
    if stream.duration is None or stream.time_base != Fraction(1, rate) or stream.start_time not in (0, None):
        return None
    return int(stream.duration)


def _counted(position: int, frames: Iterable) -> Iterator[tuple[int, object]]:
    for frame in frames:
        yield position, frame
        position += frame.samples


def _av_frames(path: Path, container, stream, rate: int, start: int, seen: dict) -> Iterator[tuple[int, object]]:
    """Yield ``(position, frame)`` from the first frame at or before sample ``start``.

    Positions count samples from the first one the decoder gives when reading from the beginning
    (the same timeline as a full decode). ``seen`` is what earlier reads of this container learned: on
    the first read (``seen`` empty) the container is fresh, its first frame gives that origin (kept in
    ``seen["origin"]``) and a start within the preroll is decoded straight on. A start further in
    seeks there, placing the first frame by its time stamp; a seek that lands past ``start``, frames
    without time stamps, or a later read within the preroll decode from the beginning in a fresh
    container.
    """
    if "origin" not in seen:
        frames = container.decode(stream)
        first = next(frames, None)
        if first is None:
            return
        seen["origin"] = first.pts
        if first.pts is None or start <= _SEEK_PREROLL_S * rate:
            yield from _counted(0, itertools.chain([first], frames))
            return
        frames.close()
    origin = seen["origin"]
    if origin is not None and start > _SEEK_PREROLL_S * rate:
        container.seek(int((start / rate - _SEEK_PREROLL_S) * 1_000_000))
        frames = container.decode(stream)
        first = next(frames, None)
        if first is not None and first.pts is not None:
            position = int(round((first.pts - origin) * stream.time_base * rate))
            if position <= start:
                yield from _counted(position, itertools.chain([first], frames))
                return
        frames.close()
    with _open_av(path) as (container, stream):
        yield from _counted(0, container.decode(stream))


def _read_av(path: Path, offset: float, duration: float | None):
    with _open_av(path) as (container, stream):
        return _read_av_stream(path, container, stream, offset, duration, {})


def _read_av_stream(path: Path, container, stream, offset: float, duration: float | None, seen: dict):
    """Decode from an opened container (``seen``: what earlier reads of it learned, see :func:`_av_frames`)."""
    import av
    import numpy as np

    rate = stream.rate
    if not rate:
        raise DecodeError(path, f"unsupported codec {stream.codec_context.name!r}")
    total = _av_duration(container, stream)
    expected = None
    if total > 0:
        expected = max(0.0, total - offset) if duration is None else min(duration, total - offset)
    start = int(round(offset * rate))
    stop = None if duration is None else start + int(round(duration * rate))
    length = _exact_length(stream, rate)
    if length is not None:
        stop = length if stop is None else min(stop, length)
    # planar float, channels kept: the downmix is the channel mean, as for libsndfile (FFmpeg's own
    # stereo-to-mono matrix sums at 0.707 each, 3 dB louder)
    resampler = av.AudioResampler(format="fltp")
    blocks: list[np.ndarray] = []
    position = start
    frames = _av_frames(path, container, stream, rate, start, seen)
    try:
        for position, frame in frames:
            if stop is not None and position >= stop:
                break
            if position + frame.samples <= start:
                continue
            planes = [out.to_ndarray() for out in resampler.resample(frame)]
            if planes:
                mono = np.concatenate(planes, axis=1).mean(axis=0)
                blocks.append(mono[max(0, start - position): None if stop is None else stop - position])
    except av.error.FFmpegError as e:
        raise DecodeError(path, f"corrupt audio data at {format_time(position / rate)} "
                                f"({short_reason(e)})") from None
    except ValueError as e:
        raise DecodeError(path, f"unsupported codec ({short_reason(e)})") from None
    finally:
        frames.close()
    mono = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    return mono, rate, expected
