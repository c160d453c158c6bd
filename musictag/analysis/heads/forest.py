"""A random forest on the standardised time-mean, run from its exported tree arrays (no scikit-learn)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musictag.analysis.heads.base import Head

#: Floor of a probability before its log (a genre no tree votes for).
MIN_PROBABILITY = 1e-12


class ForestHead(Head):
    """Trees as padded ``(trees, nodes)`` arrays: ``left``/``right`` children (a leaf points to itself),
    split ``feature`` and ``threshold`` (float64, as scikit-learn compares), ``value`` ``(trees, nodes, genres)``
    the class probabilities of each leaf, ``depth`` the deepest leaf's depth."""

    kind = "rf"
    required = frozenset({"shift", "scale", "left", "right", "feature", "threshold", "value", "depth"})
    _exact = {"left": np.int32, "right": np.int32, "feature": np.int32, "threshold": np.float64, "depth": np.int32}

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.w = {k: np.asarray(v, self._exact.get(k, np.float32)) for k, v in weights.items()}

    @property
    def outputs(self) -> int:
        """How many genres the forest scores: the last axis of its leaves' ``value``."""
        return int(self.w["value"].shape[-1]) if self.w["value"].ndim == 3 else 0

    def embed(self, sequence: np.ndarray) -> np.ndarray:
        return self._standardise(np.asarray(sequence, np.float32).mean(axis=0))

    def classify(self, embedding: np.ndarray) -> np.ndarray:
        """Log of the forest's probabilities (clipped), so that their softmax is the probabilities: the mean
        over trees of the leaf each tree sends the standardised time-mean to."""
        w = self.w
        trees = np.arange(len(w["left"]))
        node = np.zeros(len(trees), np.int64)
        for _ in range(int(w["depth"])):  # one level of every tree at a time
            go_left = embedding[w["feature"][trees, node]] <= w["threshold"][trees, node]
            node = np.where(go_left, w["left"][trees, node], w["right"][trees, node])
        return np.log(np.maximum(w["value"][trees, node].mean(axis=0), MIN_PROBABILITY))

    def save(self, path: Path) -> None:
        """Write the trees to ``path``, compressed (the padded arrays are mostly zeros)."""
        np.savez_compressed(path, **self.w)
