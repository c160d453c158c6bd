"""Read, write and restore the genre tag of every format musictag reads, with mutagen.

Where each kind of tag block keeps each field, and which kind each format has, are the tables of
:mod:`musictag.tags.fields`. Only the genre field is ever changed; every other tag and the audio data
stay as they are.

:class:`TagFile` is one file's tags parsed once: a scan reads the labels, takes the backup
snapshot and writes the genre from that one parse (the working copy is parsed once more, to
check that the write reads back).

Writes are atomic. mutagen edits a file in place (it shifts the audio bytes to make room for a
bigger tag) and has no rollback, so a crash, a full disk or a mutagen error half-way would leave a
damaged file. Here the tag is changed in a temporary copy beside the file, read back, flushed to
disk, and only then renamed over the original (``os.replace``). The copy keeps the file's mode and
owner; symbolic links are followed (the link stays, its target is replaced). A file with several
hard links is detached from its other names by the rename.

The copy cannot be hijacked (a folder of a shared NAS may be writable by others): see
:mod:`musictag.tags.working_copy`.

ID3 (mp3, and the ID3 chunk of wav and aiff): a file keeps its ID3v2 version and its frames'
encodings (v2.3 stays v2.3 and v2.4 stays v2.4, so no other frame is rewritten in another
version); new tags and v2.2 tags are written as v2.4, or as v2.3 with ``id3v23=True``, which
applies only to a file that has no ID3v2 tag yet. Only a restore puts a version back. Several
genres are several TCON values in v2.4 and one value joined with ``"; "`` in v2.3. An existing
ID3v1 tag is kept and updated from the v2 tag, as mutagen does.

WAV: where the file has a RIFF INFO chunk, the genre also goes in its ``IGNR`` entry (FFmpeg 5.1 and
players that read INFO show that one, not the ID3 chunk's; :mod:`musictag.tags.riff_info`); a file
without one gets none. The backup records the entry's bytes, and a restore puts them back.
"""

from __future__ import annotations

import contextlib
import os
from typing import IO, Any

import mutagen
from mutagen.aiff import AIFF
from mutagen.asf import ASF
from mutagen.flac import FLAC
from mutagen.id3 import TCON, Encoding
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from musictag.errors import TagError, short_reason
from musictag.tags import riff_info
from musictag.tags.fields import FIELDS, GENRE_FIELDS, TAG_TYPES, first_text
from musictag.tags.working_copy import new_copy, require_same, same_version

#: format -> the mutagen class that reads and writes its tags.
_CLASSES: dict[str, type[mutagen.FileType]] = {
    "mp3": MP3, "wav": WAVE, "aiff": AIFF, "flac": FLAC, "ogg": OggVorbis, "opus": OggOpus, "m4a": MP4, "wma": ASF,
}
_ID3_FORMATS = frozenset(fmt for fmt, kind in TAG_TYPES.items() if kind == "id3")
_V23_SEPARATOR = "; "
_SNAPSHOT_KEYS = frozenset({"format", "field", "tag_block", "present", "values", "id3_version"})


class TagFile:
    """One file's tags, parsed once. Raises :class:`TagError` when the file cannot be read or holds no format
    musictag tags.

    ``fmt``: the format :func:`musictag.audio.sniff.sniff` found (what the scan's worker reported): the file is
    read as that format and nothing else. Without it the content decides (see :func:`_open`).
    """

    def __init__(self, path: str | os.PathLike, fmt: str | None = None) -> None:
        self.path = os.fsdecode(path)
        try:  # taken before the parse: a write reuses the parse only while the file is still this one
            self.stat: os.stat_result | None = os.stat(self.path)
        except OSError:
            self.stat = None
        self.audio, self.format = _open(self.path, fmt)

    @property
    def field(self) -> str:
        """The tag field that holds the genre (:data:`GENRE_FIELDS`)."""
        return GENRE_FIELDS[self.format]

    def values(self) -> list[str] | None:
        """The raw values of the genre field (ID3's ``"(17)"`` as stored), or None when it does not exist."""
        return _values(self.audio, self.format)

    def genres(self) -> list[str]:
        """The genres in the genre field, ``[]`` when it has none (ID3's ``"(17)"`` read as ``Rock``)."""
        if TAG_TYPES[self.format] == "id3" and self.audio.tags is not None:
            return [g for frame in self.audio.tags.getall("TCON") for g in frame.genres]
        return self.values() or []

    def text(self, field: str) -> str | None:
        """The text of ``field`` (a key of :data:`FIELDS` other than genre), or None when absent."""
        block = self.audio.tags
        return first_text(block, FIELDS[field][TAG_TYPES[self.format]]) if block is not None else None

    def label_fields(self) -> dict[str, Any]:
        """What a library-learned model uses: ``genres``, ``album`` and ``artist`` (the album artist
        where there is one; None when absent).

        A WAV file's RIFF INFO chunk (``IGNR``, ``IPRD``, ``IART``) answers what its ID3 tag does not, so
        a genre set there by another program counts as the file's own. An INFO genre other than the ID3
        one (musictag writes both alike) follows the ID3 genres: then neither is still musictag's write.
        """
        fields = {"genres": [g for g in self.genres() if g.strip()], "album": self.text("album"),
                  "artist": self.text("albumartist") or self.text("artist")}
        if self.format == "wav":
            chunk = riff_info.info_fields(self.path)  # read once for every field
            info = {field: chunk.get(key) for field, key in riff_info.RIFF_INFO.items()}
            if info["genre"] and info["genre"] != "; ".join(g.strip() for g in fields["genres"]):
                fields["genres"].append(info["genre"])
            fields["album"] = fields["album"] or info["album"]
            fields["artist"] = fields["artist"] or info["artist"]
        return fields

    def snapshot(self) -> dict[str, Any]:
        """The genre field exactly as it is now, as JSON-ready data for :meth:`restore`.

        Keys: ``format`` and ``field`` (see :data:`GENRE_FIELDS`), ``tag_block`` (whether the file has
        a tag block at all; for ID3 formats an ID3v2 tag), ``present`` (whether the field exists),
        ``values`` (its raw values), ``id3_version`` (2, 3 or 4 for a file with an ID3v2 tag, else
        ``None``), ``id3_encoding`` (the text encoding of its TCON frame, so that a restore gives
        the frame back byte for byte; ``None`` without one), and for a WAV file ``riff_info``
        (:func:`riff_info.genre_state`: None without an INFO chunk, else its IGNR entry's bytes).
        Raises :class:`TagError` for a WAV file whose INFO chunk is malformed.
        """
        audio, fmt = self.audio, self.format
        values = self.values()
        version = encoding = None
        if fmt in _ID3_FORMATS and audio.tags is not None and audio.tags.version[0] == 2:
            version = audio.tags.version[1]
            frames = audio.tags.getall("TCON")
            encoding = int(frames[0].encoding) if frames else None
        snap = {
            "format": fmt,
            "field": self.field,
            "tag_block": audio.tags is not None and (fmt not in _ID3_FORMATS or version is not None),
            "present": values is not None,
            "values": values or [],
            "id3_version": version,
            "id3_encoding": encoding,
        }
        if fmt == "wav":
            try:
                snap["riff_info"] = riff_info.genre_state(self.path)
            except (OSError, riff_info.MalformedInfo) as e:
                raise TagError(self.path, f"cannot read tags: {short_reason(e)}") from None
        return snap

    def write(self, genres: list[str], *, id3v23: bool = False) -> None:
        """Set the genre field to ``genres`` (several values as the format's native multi-value).

        Creates a tag block when the file has none; ``[]`` removes the field. With ``id3v23`` an ID3
        tag created now is v2.3 (an existing one keeps its version). Raises :class:`TagError`
        (read-only file, damaged file, ...); the file is then left exactly as it was.
        """
        values = list(genres)
        if not all(isinstance(g, str) and g.strip() and "\0" not in g for g in values):
            raise ValueError(f"genres must be non-empty strings, got {genres!r}")
        _rewrite(self, values or None, id3_version=3 if id3v23 else None, drop_empty_block=False,
                 set_info=self.format == "wav", info_genre=riff_info.encode_genre(values) if values else None)

    def restore(self, snap: dict[str, Any]) -> None:
        """Put the genre field back as :meth:`snapshot` found it, absent field included.

        If the file had no tag block before and the block now holds nothing else, the block is
        removed too, so such a file ends as it began. Raises :class:`TagError` when the file cannot
        be written or the snapshot is not one of this file.
        """
        if not isinstance(snap, dict) or not _SNAPSHOT_KEYS <= snap.keys() or \
                not isinstance(snap["values"], list) or not all(isinstance(v, str) for v in snap["values"]):
            raise TagError(self.path, "cannot restore the genre tag: the backup is damaged")
        if (snap["format"], snap["field"]) != (self.format, self.field):
            raise TagError(self.path, f"cannot restore the genre tag: the backup is of a {snap['format']} file, "
                                      f"this is a {self.format} file")
        version = snap["id3_version"] if snap["id3_version"] in (3, 4) else None
        encoding = snap.get("id3_encoding")  # backups made before it was recorded have none
        info = snap.get("riff_info")  # None: no INFO chunk then (or a backup made before it was recorded)
        try:
            info_genre = riff_info.recorded_genre(info) if info is not None else None
        except ValueError:
            raise TagError(self.path, "cannot restore the genre tag: the backup is damaged") from None
        _rewrite(self, list(snap["values"]) if snap["present"] else None, id3_version=version,
                 drop_empty_block=not snap["tag_block"], force_version=True,
                 id3_encoding=Encoding(encoding) if encoding in (0, 1, 2, 3) else Encoding.UTF8,
                 set_info=info is not None, info_genre=info_genre)


def read_genres(path: str | os.PathLike) -> list[str]:
    """The file's genres as :meth:`TagFile.label_fields` reads them (a WAV file's RIFF INFO genre
    where its ID3 tag has none), ``[]`` when it has none."""
    return TagFile(path).label_fields()["genres"]


def read_label_fields(path: str | os.PathLike) -> dict[str, Any]:
    """:meth:`TagFile.label_fields` of the file at ``path``."""
    return TagFile(path).label_fields()


def write_genres(path: str | os.PathLike, genres: list[str], *, id3v23: bool = False) -> None:
    """:meth:`TagFile.write` on the file at ``path``."""
    TagFile(path).write(genres, id3v23=id3v23)


# --- opening ------------------------------------------------------------------------------


def _open(path: str | os.PathLike, fmt: str | None = None) -> tuple[mutagen.FileType, str]:
    """Load the file with the mutagen class of ``fmt`` (what sniff found), else the one its content says it is;
    return it and its format."""
    name = os.fsdecode(path)
    if not os.path.exists(name):
        raise TagError(name, "file not found")
    if not os.path.isfile(name):
        raise TagError(name, "not a regular file")
    if os.path.getsize(name) == 0:
        raise TagError(name, "empty file (0 bytes)")
    try:
        with open(name, "rb") as f:
            header = f.read(128)
    except OSError as e:
        raise TagError(name, f"cannot read tags: {e.strerror or e}") from None
    if fmt is not None:
        if fmt not in _CLASSES:
            raise TagError(name, f"unsupported format for tags (musictag tags {', '.join(sorted(_CLASSES))} files)")
        try:
            return _load(_CLASSES[fmt], fmt, name), fmt
        except Exception as e:  # mutagen raises assorted types on damaged or foreign files
            raise TagError(name, f"cannot read tags: {short_reason(e)}") from None
    # mutagen.File picks the single best-scoring class, and its scores weigh the file name
    # extension above the content (an mp3 named .flac is tried as FLAC only). Try every class
    # that scores, best first, so the content decides.
    scored = sorted(((kind.score(name, None, header), kind.__name__, fmt, kind) for fmt, kind in _CLASSES.items()),
                    key=lambda s: s[:2], reverse=True)
    first_error = None
    for score, _, fmt, kind in scored:
        if score <= 0:
            break
        try:
            return _load(kind, fmt, name), fmt
        except Exception as e:  # mutagen raises assorted types on damaged or foreign files
            first_error = first_error or e
    if first_error is not None:
        raise TagError(name, f"cannot read tags: {short_reason(first_error)}")
    raise TagError(name, f"unsupported format for tags (musictag tags {', '.join(sorted(_CLASSES))} files)")


def _load(kind: type[mutagen.FileType], fmt: str, name: str | IO[bytes]) -> mutagen.FileType:
    """Load ``name`` (a path or an open file) as ``kind``; ID3 tags keep their own version's frames (v2.2 becomes v2.4).

    mutagen's default ``translate=True`` would upgrade a v2.3 tag to v2.4 frames (and rewrite
    TCON values like ``"(17)"``) in memory, changing other frames when the tag is saved back.
    """
    if fmt not in _ID3_FORMATS:
        return kind(name)
    audio = kind(name, translate=False)
    if audio.tags is not None and audio.tags.version < (2, 3):
        audio.tags.update_to_v24()  # v2.2 frame names (TCO, TT2, ...) -> v2.4 ones
    return audio


def _values(audio: mutagen.FileType, fmt: str) -> list[str] | None:
    """The raw values of the genre field, or ``None`` when the field does not exist."""
    tags = audio.tags
    if tags is None:
        return None
    field = GENRE_FIELDS[fmt]
    if fmt in _ID3_FORMATS:
        frames = tags.getall(field)
        return [str(t) for frame in frames for t in frame.text] if frames else None
    if field not in tags:
        return None
    return [str(v) for v in tags[field]]


# --- writing ------------------------------------------------------------------------------


def _rewrite(tag_file: TagFile, values: list[str] | None, *, id3_version: int | None, drop_empty_block: bool,
             force_version: bool = False, id3_encoding: Encoding = Encoding.UTF8, set_info: bool = False,
             info_genre: bytes | None = None) -> None:
    """Set (``values``) or delete (``None``) the genre field in a copy, then swap the copy in.

    The tags parsed from the file are saved into its byte-for-byte copy (parsed anew only when the
    file changed since); the copy is parsed once more, to check that the field reads back as
    written. ``id3_version`` is the version of an ID3 tag created now; with ``force_version`` (a
    restore) an existing tag is converted to it too. ``id3_encoding`` is the TCON frame's text encoding.
    With ``set_info``, a WAV file's INFO chunk (where it has one) gets ``info_genre`` as its IGNR entry
    (None: none), checked too.
    """
    name, audio, fmt = tag_file.path, tag_file.audio, tag_file.format
    if not os.access(name, os.W_OK):
        raise TagError(name, "read-only file: cannot write the genre tag")
    real = os.path.realpath(name)
    folder, base = os.path.split(real)
    kind = type(audio)
    tmp = None
    dir_fd = None
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        tmp, copy, source = new_copy(dir_fd, base)
        with copy:
            if not same_version(source, tag_file.stat):  # changed since it was parsed: parse the copy instead
                audio = _load(kind, fmt, copy)
                copy.seek(0)
            if set_info:  # first: a malformed INFO chunk is what a failure names (mutagen's save parses anew)
                riff_info.set_genre(copy, info_genre)
            _save(audio, copy, fmt, values, id3_version, drop_empty_block, force_version, id3_encoding)
            copy.seek(0)
            again = _load(kind, fmt, copy)
            if _values(again, fmt) != _expected(values, fmt, again):
                raise TagError(name, "cannot write the genre tag: it did not read back as written")
            copy.flush()
            os.fsync(copy.fileno())
            written = os.fstat(copy.fileno())
            require_same(name, dir_fd, tmp, written)
            os.replace(tmp, base, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            tmp = None
            require_same(name, dir_fd, base, written)
    except TagError:
        raise
    except PermissionError as e:
        raise TagError(name, f"cannot write the genre tag: {_permission_reason(e, real)}") from None
    except Exception as e:  # mutagen raises assorted types on files it cannot rewrite
        raise TagError(name, f"cannot write the genre tag: {short_reason(e)}") from None
    finally:
        if dir_fd is not None:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dir_fd)  # ours, or a link put in its place: never followed
            os.close(dir_fd)


def _save(audio: mutagen.FileType, target: IO[bytes], fmt: str, values: list[str] | None, id3_version: int | None,
          drop_empty_block: bool, force_version: bool, id3_encoding: Encoding = Encoding.UTF8) -> None:
    """Change the genre field of ``audio`` (parsed from the file that ``target`` is a copy of) and save it there."""
    field = GENRE_FIELDS[fmt]
    had_tag = audio.tags is not None
    if audio.tags is None:
        if values is None:
            return
        audio.add_tags()
    tags = audio.tags
    version = None
    if fmt in _ID3_FORMATS:
        current = 3 if tags.version[:2] == (2, 3) else 4  # the version its frames are in (_load)
        version = (id3_version or current) if force_version or not had_tag else current
        if version != current:  # convert first: mutagen's conversion also rewrites TCON values
            if version == 3:
                tags.update_to_v23()
            else:
                tags.update_to_v24()
        tags.delall(field)
        if values is not None:
            tags.add(TCON(encoding=id3_encoding, text=values))
    else:
        if field in tags:
            del tags[field]
        if values is not None:
            tags[field] = values
    target.seek(0)
    if drop_empty_block and len(tags.keys()) == 0:
        audio.delete(target)
    elif version is not None:
        audio.save(target, v2_version=version, v23_sep=_V23_SEPARATOR)
    else:
        audio.save(target)


def _expected(values: list[str] | None, fmt: str, audio: mutagen.FileType) -> list[str] | None:
    """What :func:`_values` must read after writing ``values``."""
    if values is None or fmt not in _ID3_FORMATS or audio.tags.version[:2] != (2, 3):
        return values
    return [_V23_SEPARATOR.join(values)]


def _permission_reason(error: PermissionError, real: str) -> str:
    if not os.access(os.path.dirname(real), os.W_OK):
        return "its folder is read-only (the new file is written beside it, then renamed)"
    if os.stat(real).st_uid != os.geteuid():
        return "the file belongs to another user (it cannot be replaced without changing its owner)"
    return error.strerror or str(error)
