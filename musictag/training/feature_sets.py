"""What training learns from a labelled tree: one array per track (features, frame segments or patch
embeddings), cached.

A :class:`Representation` computes a track's array from its file; :func:`load_feature_set` gathers them
for every track of a :mod:`~musictag.training.labelled_tree`, plain and augmented, through a cache keyed
by content.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musictag import atomic
from musictag.analysis.backbone import BackboneInfo
from musictag.analysis.features import FEATURE_VERSION, track_features
from musictag.errors import DecodeError
from musictag.hashing import file_digest
from musictag.training.labelled_tree import LabelledTrack


@dataclass(frozen=True)
class Representation:
    """What training learns from: one array per track, computed from a file and cached by content.

    ``compute(path, augmentation)`` returns the track's array (``augmentation`` "" for the plain
    audio); ``version`` names everything that changes that array, so a cache entry is never reused
    for another representation, feature version or backbone.
    """

    name: str
    version: str
    compute: Callable[[Path, str], np.ndarray]


def features44() -> Representation:
    """The study's 44 hand-made features: ``(n, 44, 216)`` windows of 5 s."""
    from musictag.audio.decode import SAMPLE_RATE
    from musictag.training.augmentations import at_rate

    def compute(path: Path, augmentation: str) -> np.ndarray:
        return track_features(path, at_rate(augmentation, SAMPLE_RATE) if augmentation else None).windows

    return Representation("features44", f"features-v{FEATURE_VERSION}", compute)


def _rendered_at(augmentation: str, rate: int, work_rate: int) -> Callable[[np.ndarray], np.ndarray]:
    """``augmentation`` applied to a signal at ``rate`` as it is at ``work_rate`` (resampled there and back
    unless the rates are one).

    The renderings are defined at the 44 features' 22,050 Hz (an MP3 encoder's bitrate and band
    limit depend on the rate): every representation then hears the very same renderings.
    """
    import soxr

    from musictag.training.augmentations import at_rate

    render = at_rate(augmentation, work_rate)
    if rate == work_rate:
        return render
    return lambda y: soxr.resample(render(soxr.resample(y, rate, work_rate, quality="HQ")), work_rate, rate,
                                   quality="HQ").astype(np.float32)


def musicnn(backbone_info: BackboneInfo) -> Representation:
    """The backbone's penultimate embedding of each 3 s patch: ``(n, 200)``, float16-rounded as stored."""
    from musictag.analysis.backbone import Backbone
    from musictag.analysis.patches import PATCHES_PER_TRACK, SAMPLE_RATE, WHOLE_TRACK_LIMIT_S, track_patches
    from musictag.analysis.track_summary import TrackSummary
    from musictag.audio.decode import SAMPLE_RATE as RENDER_RATE
    from musictag.cores import usable_cpus

    loaded: list[Backbone] = []

    def compute(path: Path, augmentation: str) -> np.ndarray:
        if not loaded:  # one process computes every clip's embeddings: give it every core
            loaded.append(Backbone(backbone_info, threads=usable_cpus()))
        transform = _rendered_at(augmentation, SAMPLE_RATE, RENDER_RATE) if augmentation else None
        embeddings, tags = loaded[0].run(track_patches(path, transform=transform).patches)
        return TrackSummary.of(embeddings, tags).sequence

    sampling = f"k{PATCHES_PER_TRACK}-whole{WHOLE_TRACK_LIMIT_S:g}-render{RENDER_RATE}"
    return Representation("musicnn", f"{backbone_info.backbone_id}-{sampling}-v1", compute)


def frames(name: str) -> Representation:
    """A frame input's segments (:mod:`musictag.analysis.frame_inputs`): ``(n, 60, dim)``, heard through the same
    renderings as every other representation."""
    from musictag.analysis.frame_inputs import settings, track_segments
    from musictag.audio.decode import SAMPLE_RATE as RENDER_RATE

    wanted = settings(name)

    def compute(path: Path, augmentation: str) -> np.ndarray:
        transform = _rendered_at(augmentation, wanted["sample_rate"], RENDER_RATE) if augmentation else None
        return track_segments(path, name, transform=transform).segments

    digest = hashlib.sha1(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:10]
    return Representation(f"{name}-segments", f"frames-{name}-{digest}-render{RENDER_RATE}", compute)


def _content_key(path: Path, version: str, variant: str) -> str:
    return file_digest([path], "sha1", f"{version}/{variant}/".encode())


def cached_array(path: Path, cache_dir: Path | None, rep: Representation, variant: str = "") -> np.ndarray:
    """``rep``'s array of ``path`` (``variant``: an augmentation, "" for the plain audio), cached by content."""
    if cache_dir is None:
        return rep.compute(path, variant)
    target = cache_dir / f"{_content_key(path, rep.version, variant)}.npy"
    if target.exists():
        try:
            return np.load(target)
        except (OSError, ValueError):
            target.unlink(missing_ok=True)
    array = rep.compute(path, variant).astype(np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    atomic.replace_atomically(target, lambda tmp: np.save(tmp, array), suffix=".npy")
    return array


@dataclass
class FeatureSet:
    """One array per track (windows or patch embeddings), with the same tracks under each augmentation."""

    tracks: list[LabelledTrack]
    windows: list[np.ndarray]  # one array per track: (n_i, 44, 216) windows, (n_i, 60, dim) frame segments
    # or (n_i, 200) patch embeddings
    skipped: list[tuple[Path, str]]  # unreadable files and the reason
    augmented: dict[str, list[np.ndarray]]  # augmentation name -> arrays, aligned with ``tracks``


def load_feature_set(tracks: Sequence[LabelledTrack], cache_dir: Path | None,
                     progress: Callable[[LabelledTrack], None] | None = None,
                     augmentations: Sequence[str] = (), rep: Representation | None = None) -> FeatureSet:
    """``rep``'s arrays (default: the 44 features) of every track, plain and augmented.

    Unreadable files are skipped with their reason; ``progress`` is called once per track.
    """
    rep = rep or features44()
    kept, windows, skipped = [], [], []
    augmented: dict[str, list[np.ndarray]] = {a: [] for a in augmentations}
    for t in tracks:
        try:
            w = cached_array(t.path, cache_dir, rep)
            extra = {a: cached_array(t.path, cache_dir, rep, a) for a in augmentations}
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
