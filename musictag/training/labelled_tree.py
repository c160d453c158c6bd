"""Labelled audio trees: ``<root>/<label>/<audio>``, as GTZAN is laid out.

A tree may carry a ``LABELS.tsv`` (as ``../shared/data/make_real_dev.sh`` writes: a header line, then
``path``, ``label``, ``package`` ... per track, tab-separated, ``path`` relative to the root): each
track listed there belongs to its ``package``, the recordings of one album or game, which a split
keeps on one side (the same album on both sides flatters every figure).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from musictag.audio.formats import AUDIO_EXTENSIONS
from musictag.errors import UsageError

#: The file of a labelled tree that names each track's group (its package or album).
LABELS_FILE = "LABELS.tsv"


@dataclass(frozen=True)
class LabelledTrack:
    """One audio file of a labelled tree, the name of the folder it is in, and (from ``LABELS.tsv``)
    the group of recordings it belongs to (None: a group of its own)."""

    path: Path
    label: str
    group: str | None = None
    tree: str = ""  # the labelled tree (its root as given) the track was found in

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


def read_label_rows(base: Path) -> dict[str, dict[str, str]]:
    """The rows of ``base``'s ``LABELS.tsv`` by their ``path`` ({} when there is none).

    Raises :class:`UsageError` (one line naming the file) when it is unreadable or lacks the
    ``path`` and ``label`` columns.
    """
    labels = base / LABELS_FILE
    if not labels.is_file():
        return {}
    try:
        with open(labels, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise UsageError(f"{labels}: unreadable ({e})") from None
    if rows and not {"path", "label"} <= set(rows[0]):
        raise UsageError(f"{labels}: needs the columns path and label (tab-separated, with a header line)")
    return {row["path"]: row for row in rows if row.get("path")}


def find_labelled_tracks(root: str | os.PathLike) -> list[LabelledTrack]:
    """Every audio file one level below a label folder, sorted by label then name, each with its
    ``LABELS.tsv`` package as its group where the tree has one."""
    base = dataset_root(Path(root))
    listed = read_label_rows(base)
    tracks = []
    for label_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for f in sorted(label_dir.iterdir()):
            if f.suffix.lower() in AUDIO_EXTENSIONS and not f.name.startswith("."):
                row = listed.get(f"{label_dir.name}/{f.name}") or {}
                tracks.append(LabelledTrack(f, label_dir.name, row.get("package") or None, os.fspath(root)))
    return tracks


def find_in_trees(roots: Sequence[str | os.PathLike],
                  skip_labels: Sequence[str] = ()) -> tuple[list[LabelledTrack], list[LabelledTrack]]:
    """:func:`find_labelled_tracks` of every tree in ``roots``, in turn, without the labels in ``skip_labels``.

    A group (a package: one album or game) that an earlier tree already gave is taken from that tree
    only: two trees built from the same packages hold the same recordings, which must be neither
    learned twice nor held out against themselves. Returns the tracks kept and those left out so.
    """
    skip = set(skip_labels)
    kept: list[LabelledTrack] = []
    repeated: list[LabelledTrack] = []
    for root in roots:
        earlier = {t.group for t in kept if t.group}
        for t in find_labelled_tracks(root):
            if t.label in skip:
                continue
            (repeated if t.group in earlier else kept).append(t)
    return kept, repeated
