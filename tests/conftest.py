"""Audio files the tests share, written once per test session (tests copy them before changing them)."""

from __future__ import annotations

from pathlib import Path

import mutagen
import pytest
from mutagen.asf import ASF
from mutagen.id3 import ID3, TCON, TIT2, TPE1
from mutagen.mp4 import MP4

from tests import audiogen
from tests.scan_checks import WITH_GENRE


@pytest.fixture(scope="session")
def untagged_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One untagged 2-second file per format."""
    folder = tmp_path_factory.mktemp("untagged")
    return {fmt: audiogen.write_audio(folder / f"{fmt}{suffix}", audiogen.sweep(2.0), 44100, fmt)
            for fmt, (suffix, _) in audiogen.FORMATS.items()}


@pytest.fixture(scope="session")
def tagged_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One 4-second file per format with a title and an artist, and for some a genre."""
    folder = tmp_path_factory.mktemp("tagged")
    files = {}
    for i, (fmt, (suffix, _)) in enumerate(audiogen.FORMATS.items()):
        path = audiogen.write_audio(folder / f"{fmt}{suffix}", audiogen.sweep(4.0, seed=i), 44100, fmt)
        _add_tags(path, WITH_GENRE.get(fmt))
        files[fmt] = path
    return files


def _add_tags(path: Path, genres: list[str] | None) -> None:
    """Title and artist (and ``genres``) in the format's own tag block, written with mutagen directly."""
    f = mutagen.File(path)
    if f.tags is None:
        f.add_tags()
    if isinstance(f.tags, ID3):
        f.tags.add(TIT2(encoding=3, text="A Title"))
        f.tags.add(TPE1(encoding=3, text="An Artist"))
        if genres:
            f.tags.add(TCON(encoding=3, text=genres))
    elif isinstance(f, MP4):
        f.tags.update({"\xa9nam": ["A Title"], "\xa9ART": ["An Artist"]})
    elif isinstance(f, ASF):
        f.tags.update({"Title": ["A Title"], "Author": ["An Artist"]})
    else:
        f.tags.update({"TITLE": ["A Title"], "ARTIST": ["An Artist"]})
        if genres:
            f.tags["GENRE"] = genres
    f.save()
