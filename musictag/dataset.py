"""Labelled audio trees (``<root>/<label>/<audio>``) and their cached feature windows."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musictag.audio import AUDIO_EXTENSIONS, DecodeError
from musictag.features import FEATURE_VERSION, track_features


@dataclass(frozen=True)
class LabelledTrack:
    """One audio file of a labelled tree; ``key`` is ``label/filename`` (as in the split lists)."""

    path: Path
    label: str

    @property
    def key(self) -> str:
        return f"{self.label}/{self.path.name}"


def dataset_root(root: Path) -> Path:
    """The folder holding the label folders (Kaggle's GTZAN nests it in ``Data/genres_original``)."""
    for candidate in (root / "Data" / "genres_original", root / "genres_original", root / "genres"):
        if candidate.is_dir():
            return candidate
    return root


def find_labelled_tracks(root: str | os.PathLike) -> list[LabelledTrack]:
    """Every audio file one level below a label folder, sorted by label then name."""
    base = dataset_root(Path(root))
    tracks = []
    for label_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for f in sorted(label_dir.iterdir()):
            if f.suffix.lower() in AUDIO_EXTENSIONS and not f.name.startswith("."):
                tracks.append(LabelledTrack(f, label_dir.name))
    return tracks


def _content_key(path: Path, variant: str) -> str:
    h = hashlib.sha1(f"features-v{FEATURE_VERSION}/{variant}/".encode())
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cached_windows(path: Path, cache_dir: Path | None, variant: str = "",
                   compute: Callable[[Path], np.ndarray] | None = None) -> np.ndarray:
    """The ``(n, 44, 216)`` windows of ``path``, from the cache when its content was seen before.

    ``variant`` names an augmentation (``compute`` makes it); "" is the plain audio.
    """
    compute = compute or (lambda p: track_features(p).windows)
    if cache_dir is None:
        return compute(path)
    target = cache_dir / f"{_content_key(path, variant)}.npy"
    if target.exists():
        try:
            return np.load(target)
        except (OSError, ValueError):
            target.unlink(missing_ok=True)
    windows = compute(path).astype(np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, windows)
    os.replace(tmp, target)
    return windows


@dataclass
class FeatureSet:
    """Windows of many tracks, with the same tracks' windows under each augmentation."""

    tracks: list[LabelledTrack]
    windows: list[np.ndarray]  # one (n_i, 44, 216) array per track
    skipped: list[tuple[Path, str]]  # unreadable files and the reason
    augmented: dict[str, list[np.ndarray]]  # augmentation name -> windows, aligned with ``tracks``


def load_feature_set(tracks: Sequence[LabelledTrack], cache_dir: Path | None,
                     progress: Callable[[LabelledTrack], None] | None = None,
                     augmentations: Sequence[str] = ()) -> FeatureSet:
    """Features of every track, plain and augmented; unreadable files are skipped with their reason.

    ``progress`` is called once per track.
    """
    from musictag.augment import AUGMENTATIONS

    kept, windows, skipped = [], [], []
    augmented: dict[str, list[np.ndarray]] = {a: [] for a in augmentations}
    for t in tracks:
        try:
            w = cached_windows(t.path, cache_dir)
            extra = {a: cached_windows(t.path, cache_dir, a,
                                       lambda p, a=a: track_features(p, AUGMENTATIONS[a]).windows)
                     for a in augmentations}
        except DecodeError as e:
            skipped.append((t.path, e.reason))
        else:
            kept.append(t)
            windows.append(w)
            for a, aw in extra.items():
                augmented[a].append(aw)
        if progress:
            progress(t)
    return FeatureSet(kept, windows, skipped, augmented)
