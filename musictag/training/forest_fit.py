"""The ``rf`` head: a scikit-learn random forest on standardised time-means, exported to NumPy arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from musictag.analysis.heads import Head, make_head
from musictag.training.standardise import standardiser

TREES = 200


def forest_to_head(forest, shift: np.ndarray, scale: np.ndarray, n_genres: int) -> Head:
    """Copy a fitted ``RandomForestClassifier``'s trees into padded arrays
    (see :class:`musictag.analysis.heads.ForestHead`)."""
    trees = [estimator.tree_ for estimator in forest.estimators_]
    nodes = max(t.node_count for t in trees)
    left, right, feature = (np.zeros((len(trees), nodes), np.int32) for _ in range(3))
    threshold = np.zeros((len(trees), nodes), np.float64)
    value = np.zeros((len(trees), nodes, n_genres), np.float32)
    for i, t in enumerate(trees):
        n, own = t.node_count, np.arange(t.node_count)
        leaf = t.children_left == -1
        left[i, :n] = np.where(leaf, own, t.children_left)
        right[i, :n] = np.where(leaf, own, t.children_right)
        feature[i, :n] = np.where(leaf, 0, t.feature)
        threshold[i, :n] = t.threshold
        counts = t.value[:, 0, :]
        value[i, :n][:, forest.classes_] = counts / counts.sum(axis=1, keepdims=True)
    depth = max(e.get_depth() for e in forest.estimators_)
    return make_head("rf", {"shift": shift, "scale": scale, "left": left, "right": right, "feature": feature,
                            "threshold": threshold, "value": value, "depth": np.int32(depth)})


def fit_forest(sequences: Sequence[np.ndarray], labels: Sequence[int], n_genres: int, seed: int = 0,
               trees: int = TREES) -> Head:
    """A random forest of ``trees`` trees on each sequence's standardised time-mean."""
    from sklearn.ensemble import RandomForestClassifier


    means = np.stack([np.asarray(s, np.float32).mean(axis=0) for s in sequences])
    shift, scale = standardiser([means])
    forest = RandomForestClassifier(trees, random_state=seed, n_jobs=2)
    forest.fit((means - shift) * scale, np.asarray(labels))
    return forest_to_head(forest, shift, scale, n_genres)
