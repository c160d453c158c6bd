"""Track-level splits: stratified random, k-fold, and GTZAN's fault-filtered artist split.

Every split is over track indices, never over windows, so no track is on two sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

import numpy as np

from musictag.errors import UsageError


def _stratified_parts(labels: Sequence[int], fractions: Sequence[float], seed: int) -> list[list[int]]:
    """Split indices per class in the given fractions (largest remainder), shuffled with ``seed``."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    parts: list[list[int]] = [[] for _ in fractions]
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        counts = np.floor(np.asarray(fractions) * len(idx)).astype(int)
        remainder = np.asarray(fractions) * len(idx) - counts
        # largest remainder first; ties broken at random so no part is always the one that gains
        order = np.lexsort((rng.random(len(fractions)), -np.round(remainder, 9)))
        for k in order[: len(idx) - counts.sum()]:
            counts[k] += 1
        start = 0
        for part, n in zip(parts, counts, strict=True):
            part.extend(idx[start:start + n].tolist())
            start += n
    return [sorted(p) for p in parts]


def random_split(labels: Sequence[int], seed: int = 0,
                 fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)) -> tuple[list[int], ...]:
    """Stratified train / validation / test track indices."""
    return tuple(_stratified_parts(labels, fractions, seed))


def validation_split(indices: Sequence[int], labels: Sequence[int], seed: int,
                     fraction: float = 0.15) -> tuple[list[int], list[int]]:
    """Carve a stratified validation set (for early stopping) out of ``indices``."""
    sub = [labels[i] for i in indices]
    train, val = _stratified_parts(sub, (1 - fraction, fraction), seed)
    return [indices[i] for i in train], [indices[i] for i in val]


def kfold(labels: Sequence[int], folds: int, seed: int = 0) -> list[tuple[list[int], list[int]]]:
    """Stratified k-fold: a list of ``(train+validation indices, test indices)``, same for every arch."""
    if folds < 2:
        raise UsageError("--folds must be at least 2")
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    parts: list[list[int]] = [[] for _ in range(folds)]
    dealt = 0  # deal each class's tracks round the folds, continuing where the last class ended
    for c in np.unique(labels):
        for j, i in enumerate(rng.permutation(np.flatnonzero(labels == c))):
            parts[(dealt + j) % folds].append(int(i))
        dealt += int((labels == c).sum())
    everything = set(range(len(labels)))
    return [(sorted(everything - set(p)), sorted(p)) for p in parts]


def grouped_kfold(labels: Sequence[int], groups: Sequence[str | None], folds: int,
                  seed: int = 0) -> list[tuple[list[int], list[int]]]:
    """Stratified k-fold that keeps each group (an album) on one side: ``(train, test)`` index lists.

    Tracks whose group is None are groups of one. Groups go, largest first, to the fold that most
    lacks their genre (then the smallest fold), so every fold's genre mix stays near the whole's.
    """
    if folds < 2:
        raise UsageError("--folds must be at least 2")
    rng = np.random.default_rng(seed)
    members: dict[object, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(("album", g) if g is not None else ("track", i), []).append(i)
    order = list(members.values())
    rng.shuffle(order)
    order.sort(key=len, reverse=True)
    n_labels = int(max(labels)) + 1 if len(labels) else 0
    want = np.bincount(np.asarray(labels, dtype=int), minlength=n_labels) / folds  # each fold's share per genre
    have = np.zeros((folds, n_labels))
    parts: list[list[int]] = [[] for _ in range(folds)]
    for group in order:
        counts = np.bincount([labels[i] for i in group], minlength=n_labels)
        main = int(counts.argmax())
        lack = have[:, main] - want[main]
        sizes = np.array([len(p) for p in parts])
        k = int(np.lexsort((sizes, lack))[0])
        parts[k].extend(group)
        have[k] += counts
    everything = set(range(len(labels)))
    return [(sorted(everything - set(p)), sorted(p)) for p in parts if p]


def filtered_lists() -> dict[str, list[str]]:
    """The fault-filtered GTZAN split (Kereliuk, Sturm & Larsen 2015) shipped with musictag."""
    base = resources.files("musictag.data") / "gtzan-split"
    return {name: (base / f"{name}_filtered.txt").read_text().split()
            for name in ("train", "valid", "test")}


def filtered_split(keys: Sequence[str]) -> tuple[list[int], list[int], list[int]]:
    """Indices of ``keys`` (``genre/file.wav``) in the filtered train / valid / test lists.

    Tracks in none of the lists (the faulty ones) are left out. Keys are compared without their
    extension, so ``.au`` copies of GTZAN work too.
    """
    def stem(k: str) -> str:
        return k.rsplit(".", 1)[0]

    lists = filtered_lists()
    where = {stem(k): name for name, ks in lists.items() for k in ks}
    out: dict[str, list[int]] = {"train": [], "valid": [], "test": []}
    for i, k in enumerate(keys):
        if stem(k) in where:
            out[where[stem(k)]].append(i)
    if not out["train"] or not out["test"]:
        raise UsageError("--split filtered needs GTZAN's files (genre/genre.000NN.wav); "
                         "none of this folder's tracks are in the filtered lists")
    return out["train"], out["valid"], out["test"]
