"""Labelled audio trees: ``<root>/<label>/<audio>``, as GTZAN is laid out."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from musictag.audio import AUDIO_EXTENSIONS
from musictag.errors import UsageError


@dataclass(frozen=True)
class LabelledTrack:
    """One audio file of a labelled tree and the name of the folder it is in."""

    path: Path
    label: str

    @property
    def key(self) -> str:
        """``label/filename``, as in GTZAN's split lists."""
        return f"{self.label}/{self.path.name}"


def dataset_root(root: Path) -> Path:
    """The folder holding the label folders (Kaggle's GTZAN nests it in ``Data/genres_original``)."""
    for candidate in (root / "Data" / "genres_original", root / "genres_original", root / "genres"):
        if candidate.is_dir():
            return candidate
    return root


def require_tracks(root: str | os.PathLike, tracks: Sequence[LabelledTrack]) -> None:
    """Raise :class:`UsageError` when the labelled folder ``root`` gave no ``tracks``."""
    if not tracks:
        raise UsageError(f"{root}: no audio files found in <label>/<track> sub-folders")


def find_labelled_tracks(root: str | os.PathLike) -> list[LabelledTrack]:
    """Every audio file one level below a label folder, sorted by label then name."""
    base = dataset_root(Path(root))
    tracks = []
    for label_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for f in sorted(label_dir.iterdir()):
            if f.suffix.lower() in AUDIO_EXTENSIONS and not f.name.startswith("."):
                tracks.append(LabelledTrack(f, label_dir.name))
    return tracks
