"""The interface every genre head shares, and the NumPy pieces several heads use."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax over ``axis`` (the last by default), stable for large logits."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def relu(z: np.ndarray) -> np.ndarray:
    """max(z, 0)."""
    return np.maximum(z, 0.0)


class Head:
    """A head's weights (a dict of arrays, as saved in ``head.npz``) and its forward pass.

    Subclasses name their weights in ``required`` and implement :meth:`embed` (the vector just
    before the classifier); :meth:`logits` is then the dense classifier ``kernel``/``bias`` on it.
    """

    kind: ClassVar[str] = ""
    required: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.w = {k: np.asarray(v, np.float32) for k, v in weights.items()}

    @property
    def outputs(self) -> int:
        """How many genres the head scores: the width of its classifier's bias."""
        return int(self.w["bias"].size)

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        return (x - self.w["shift"]) * self.w["scale"]

    def embed(self, sequence: np.ndarray) -> np.ndarray:
        """The head's view of a ``(n, dim)`` sequence just before its classifier (its penultimate
        vector; the standardised time-mean for heads without a hidden layer)."""
        raise NotImplementedError

    def classify(self, embedding: np.ndarray) -> np.ndarray:
        """Genre logits from the vector :meth:`embed` gives (the dense classifier)."""
        return embedding @ self.w["kernel"] + self.w["bias"]

    def logits(self, sequence: np.ndarray) -> np.ndarray:
        """Genre logits of one ``(n, dim)`` sequence."""
        return self.classify(self.embed(sequence))

    def track_probabilities(self, sequence: np.ndarray) -> np.ndarray:
        """Genre probabilities of one track from its ``(n, dim)`` sequence."""
        return softmax(self.logits(np.asarray(sequence, np.float32)))

    def probabilities_and_embedding(self, sequence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`track_probabilities` and :meth:`embed` of one sequence, from one forward pass."""
        embedding = self.embed(np.asarray(sequence, np.float32))
        return softmax(self.classify(embedding)), embedding

    def patch_probabilities(self, sequence: np.ndarray) -> np.ndarray:
        """``(n, genres)``: each step classified on its own (the genre timeline)."""
        return np.stack([self.track_probabilities(p[None, :]) for p in np.asarray(sequence, np.float32)])

    def save(self, path: Path) -> None:
        """Write the weights to ``path`` (``.npz``)."""
        np.savez(path, **self.w)


class LinearHead(Head):
    """Logistic regression on the standardised time-mean."""

    kind = "linear"
    required = frozenset({"shift", "scale", "kernel", "bias"})

    def embed(self, sequence: np.ndarray) -> np.ndarray:
        return self._standardise(np.asarray(sequence, np.float32).mean(axis=0))


class MlpHead(Head):
    """Two ReLU layers on the standardised time-mean, then a dense softmax."""

    kind = "mlp"
    required = frozenset({"shift", "scale", "hidden1_kernel", "hidden1_bias", "hidden2_kernel", "hidden2_bias",
                          "kernel", "bias"})

    def embed(self, sequence: np.ndarray) -> np.ndarray:
        w = self.w
        h = relu(self._standardise(np.asarray(sequence, np.float32).mean(axis=0)) @ w["hidden1_kernel"]
                 + w["hidden1_bias"])
        return relu(h @ w["hidden2_kernel"] + w["hidden2_bias"])
