"""Decode any audio file to mono float32 at 22,050 Hz.

libsndfile (through ``soundfile``) reads wav, aiff, flac, ogg/vorbis and opus; PyAV (FFmpeg) reads
everything else (mp3, m4a with AAC or ALAC, wma, ...; see the note above :class:`AudioFile` for why mp3).
Several channels are averaged to one; resampling uses soxr. Every failure is raised as
:class:`DecodeError`, which carries the path and a one-line human reason.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from musictag.audio.containers import asf_play_seconds
from musictag.audio.formats import FORMATS
from musictag.audio.opened_file import OpenedFile, open_file
from musictag.audio.payload import audio_hash
from musictag.errors import DecodeError, short_reason
from musictag.timefmt import format_time

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 22050

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


#: Why MP3 is FFmpeg's in :data:`~musictag.audio.formats.FORMATS` though libsndfile 1.2 reads it: python-soundfile
#: seeks after every read to keep its position, and in libsndfile 1.2 that seek restarts mpg123 without its bit
#: reservoir, so each read block after the first begins with a burst of wrong samples; FFmpeg decodes MP3
#: glitch-free, sample-exact after seeks (LAME gapless info honoured) and faster.


class AudioFile:
    """One audio file, opened once (:func:`open_audio`): what the checks found of it (``format`` by content,
    ``info`` from its header, :meth:`quick_hash`, :meth:`audio_hash`), and its audio decoded from the one open decoder.

    Everything reads the one descriptor (:mod:`musictag.audio.opened_file`): nothing opens the file again by name.
    """

    def __init__(self, opened: OpenedFile, fmt: str) -> None:
        self.path, self.format, self._opened = opened.path, fmt, opened
        self._sf, self._av, self._seen = None, None, {}
        self._stated: float | None = None  # the length a WMA's header states (FFmpeg estimates one from the size)
        with quiet_native_stderr():
            if FORMATS[fmt].decoder == "sndfile":
                self._sf = _open_soundfile(opened)
            if self._sf is None:
                self._av = _open_container(opened)
        if self._sf is not None:
            f = self._sf
            self.info = AudioInfo(f.frames / f.samplerate, f.samplerate, f.channels, f"{f.format}/{f.subtype}".lower())
        else:
            container, stream = self._av
            if FORMATS[fmt].truncation == "asf":  # a cover picture in the header makes the estimate too long
                self._stated = asf_play_seconds(opened)
            self.info = AudioInfo(self._stated or _av_duration(container, stream), stream.rate or 0,
                                  stream.channels or 0, stream.codec_context.name)

    def quick_hash(self) -> str:
        """:func:`musictag.hashing.quick_hash` of the file, read through the one descriptor."""
        return self._opened.quick_hash()

    def audio_hash(self) -> str | None:
        """:func:`musictag.audio.payload.audio_hash` of the file (its audio alone), through the one descriptor."""
        return audio_hash(self._opened, self.format)

    def load(self, offset: float = 0.0, duration: float | None = None, sr: int = SAMPLE_RATE) -> np.ndarray:
        """The audio (or the part from ``offset`` for ``duration`` seconds) as mono float32 at ``sr``.

        Raises :class:`DecodeError` with a reason when it cannot be decoded, holds no audio, or stops well
        before the length its header announces.
        """
        return self.excerpts([offset], duration, sr)[0]

    def excerpts(self, offsets: Sequence[float], duration: float | None, sr: int = SAMPLE_RATE) -> list[np.ndarray]:
        """:meth:`load` of ``duration`` seconds at each of ``offsets``, seeking the one decoder from excerpt
        to excerpt; errors as :meth:`load`."""
        with quiet_native_stderr():
            if self._sf is not None:
                reads = [_read_soundfile(self.path, self._sf, offset, duration) for offset in offsets]
            else:
                container, stream = self._av
                reads = [_read_av_stream(self._opened, container, stream, offset, duration, self._seen, self._stated)
                         for offset in offsets]
        return [_finished(self.path, *read, offset, sr) for read, offset in zip(reads, offsets, strict=True)]

    def close(self) -> None:
        """Close the decoder and the file (again is harmless)."""
        if self._sf is not None:
            self._sf.close()
        if self._av is not None:
            self._av[0].close()
        self._sf = self._av = None
        self._opened.close()

    def __enter__(self) -> AudioFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_audio(path: str | os.PathLike) -> AudioFile:
    """Open ``path`` once and make the checks every command makes before analysing a file, in one order, so
    that scan, similar and info give a bad file the same reason: a readable regular file, audio by its
    content (:func:`musictag.audio.sniff.sniff`), not cut short (:func:`musictag.audio.truncation.cut_short`), a header
    a decoder accepts. Raises :class:`DecodeError` (also for content that is no audio)."""
    from musictag.audio.sniff import sniff
    from musictag.audio.truncation import cut_short

    opened = open_file(path)
    try:
        try:
            fmt = sniff(opened)  # raises NotAudio, a DecodeError
            cut = cut_short(opened, fmt)
        except OSError as e:
            raise DecodeError(path, f"cannot read the file: {e.strerror or e}") from None
        if cut:
            raise DecodeError(path, cut)
        return AudioFile(opened, fmt)
    except BaseException:
        opened.close()
        raise


#: What the analysis reads a track from: a path, or a file already opened with :func:`open_audio`.
AudioSource = str | os.PathLike | AudioFile


@contextlib.contextmanager
def audio_file(source: AudioSource) -> Iterator[AudioFile]:
    """``source`` itself when it is an :class:`AudioFile` (left open for its owner), else ``source`` opened
    with :func:`open_audio` for the block."""
    if isinstance(source, AudioFile):
        yield source
        return
    with open_audio(source) as opened:
        yield opened


def load(path: str | os.PathLike, offset: float = 0.0, duration: float | None = None,
         sr: int = SAMPLE_RATE) -> np.ndarray:
    """:meth:`AudioFile.load` of ``path``, opened for it."""
    with open_audio(path) as f:
        return f.load(offset, duration, sr)


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


def _open_soundfile(opened: OpenedFile):
    """A libsndfile handle reading ``opened``, or None when libsndfile does not take the file (FFmpeg then)."""
    import soundfile as sf

    try:
        f = sf.SoundFile(opened.reader())
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None
    if f.format == "MP3":  # sniffed as another container, yet MP3 inside: FFmpeg's (see above AudioFile)
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


def _open_container(opened: OpenedFile):
    """``(container, first audio stream)`` of FFmpeg reading ``opened``; errors as DecodeError."""
    import av

    path = opened.path
    try:
        container = av.open(opened.reader(), metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.EOFError):
        raise DecodeError(path, "not an audio file, or damaged beyond reading (format not recognised)") from None
    except av.error.FFmpegError as e:
        raise DecodeError(path, f"cannot open: {short_reason(e)}") from None
    streams = container.streams.audio
    if not streams:
        container.close()
        raise DecodeError(path, "no audio stream in the file")
    stream = streams[0]
    if stream.codec_context is None or not stream.codec_context.name:
        container.close()
        raise DecodeError(path, "unsupported codec")
    return container, stream


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


def _av_frames(opened: OpenedFile, container, stream, rate: int, start: int,
               seen: dict) -> Iterator[tuple[int, object]]:
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
    fresh, stream = _open_container(opened)
    try:
        yield from _counted(0, fresh.decode(stream))
    finally:
        fresh.close()


def _read_av_stream(opened: OpenedFile, container, stream, offset: float, duration: float | None, seen: dict,
                    stated: float | None = None):
    """Decode from an opened container (``seen``: what earlier reads of it learned, see :func:`_av_frames`;
    ``stated``: the track's length as its container states it, where FFmpeg's own is an estimate)."""
    import av
    import numpy as np

    path = opened.path
    rate = stream.rate
    if not rate:
        raise DecodeError(path, f"unsupported codec {stream.codec_context.name!r}")
    total = stated or _av_duration(container, stream)
    expected = None
    if total > 0:
        expected = max(0.0, total - offset) if duration is None else min(duration, total - offset)
    start = int(round(offset * rate))
    stop = None if duration is None else start + int(round(duration * rate))
    length = _exact_length(stream, rate)
    if length is not None:
        stop = length if stop is None else min(stop, length)
    # planar float, channels kept: the downmix is the channel mean, as for libsndfile (FFmpeg's own
    # stereo-to-mono matrix sums at 0.707 each, 3 dB louder), taken once over the whole read. MP3 and AAC
    # decoders give planar float already: their frames skip the format conversion (the same numbers).
    resampler = av.AudioResampler(format="fltp")
    blocks: list[np.ndarray] = []
    position = start
    frames = _av_frames(opened, container, stream, rate, start, seen)
    try:
        for position, frame in frames:
            if stop is not None and position >= stop:
                break
            if position + frame.samples <= start:
                continue
            if frame.format.name == "fltp":
                planes = frame.to_ndarray()
            else:
                converted = [out.to_ndarray() for out in resampler.resample(frame)]
                if not converted:
                    continue
                planes = np.concatenate(converted, axis=1)
            blocks.append(planes[:, max(0, start - position): None if stop is None else stop - position])
    except av.error.FFmpegError as e:
        raise DecodeError(path, f"corrupt audio data at {format_time(position / rate)} "
                                f"({short_reason(e)})") from None
    except ValueError as e:
        raise DecodeError(path, f"unsupported codec ({short_reason(e)})") from None
    finally:
        frames.close()
    mono = np.concatenate(blocks, axis=1).mean(axis=0) if blocks else np.zeros(0, np.float32)
    return mono, rate, expected
