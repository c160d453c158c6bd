"""Genre heads over a track's sequence of backbone patch embeddings, run in plain NumPy.

A head turns the ``(n, 200)`` patch embeddings of one track (:class:`~musictag.track_summary.TrackSummary`)
into genre probabilities. Both kinds run without TensorFlow or LiteRT, at scan time and when the
library re-scores stored tracks:

- ``linear``: multinomial logistic regression on the standardised mean patch embedding.
- ``gru-attention``: the second study's best head. Each patch embedding is standardised, a
  bidirectional GRU reads the sequence, additive attention weighs its outputs over time, and a dense
  softmax layer classifies the weighted sum. The weights come from Keras (:mod:`musictag.training.head_fit`);
  the NumPy forward pass here is tested equal to Keras'.

Per-patch probabilities (for ``info``'s timeline) are the head run on each patch alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Every head ``musictag train --head`` knows. Vector heads read a sequence's mean over time; the
#: others read the sequence itself.
HEADS = ("rf", "mlp", "lstm-attention", "gru-attention", "cnn1d", "cnn2d", "transformer", "linear")
VECTOR_HEADS = ("rf", "mlp", "linear")


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, stable for large logits."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class Head:
    """A head's weights (a dict of arrays, as saved in ``head.npz``) and its forward pass."""

    kind = ""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.w = {k: np.asarray(v, np.float32) for k, v in weights.items()}

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        return (x - self.w["shift"]) * self.w["scale"]

    def logits(self, sequence: np.ndarray) -> np.ndarray:
        """Genre logits of one track's ``(n, dim)`` patch embeddings."""
        raise NotImplementedError

    def embed(self, sequence: np.ndarray) -> np.ndarray:
        """The head's view of a ``(n, dim)`` sequence just before its classifier (its penultimate
        vector; the standardised time-mean for heads without a hidden layer)."""
        raise NotImplementedError

    def track_probabilities(self, sequence: np.ndarray) -> np.ndarray:
        """Genre probabilities of one track from its ``(n, dim)`` patch embeddings."""
        return softmax(self.logits(np.asarray(sequence, np.float32)))

    def patch_probabilities(self, sequence: np.ndarray) -> np.ndarray:
        """``(n, genres)``: each patch classified on its own (the genre timeline)."""
        return np.stack([self.track_probabilities(p[None, :]) for p in np.asarray(sequence, np.float32)])

    def save(self, path: Path) -> None:
        """Write the weights to ``path`` (``.npz``)."""
        np.savez(path, **self.w)


class LinearHead(Head):
    """Logistic regression on the standardised mean patch embedding."""

    kind = "linear"

    def embed(self, sequence: np.ndarray) -> np.ndarray:
        return self._standardise(np.asarray(sequence, np.float32).mean(axis=0))

    def logits(self, sequence: np.ndarray) -> np.ndarray:
        return self.embed(sequence) @ self.w["kernel"] + self.w["bias"]


def gru_sequence(x: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Outputs ``(n, units)`` of a Keras GRU (``reset_after=True``, gates z, r, h) over ``x`` ``(n, d)``."""
    units = recurrent.shape[0]
    xs = x @ kernel + bias[0]  # input projections of every step at once
    h = np.zeros(units, np.float32)
    out = np.empty((len(x), units), np.float32)
    for t in range(len(x)):
        hs = h @ recurrent + bias[1]
        z = _sigmoid(xs[t, :units] + hs[:units])
        r = _sigmoid(xs[t, units:2 * units] + hs[units:2 * units])
        candidate = np.tanh(xs[t, 2 * units:] + r * hs[2 * units:])
        h = z * h + (1.0 - z) * candidate
        out[t] = h
    return out


class GruAttentionHead(Head):
    """Bidirectional GRU over the patches, additive attention over time, dense softmax."""

    kind = "gru-attention"

    def embed(self, sequence: np.ndarray) -> np.ndarray:
        w = self.w
        x = self._standardise(np.asarray(sequence, np.float32))
        forward = gru_sequence(x, w["fw_kernel"], w["fw_recurrent"], w["fw_bias"])
        backward = gru_sequence(x[::-1], w["bw_kernel"], w["bw_recurrent"], w["bw_bias"])[::-1]
        h = np.concatenate([forward, backward], axis=1)
        score = np.tanh(h @ w["att_kernel"] + w["att_bias"]) @ w["att_vector"]  # (n, 1)
        return softmax(score[:, 0]) @ h

    def logits(self, sequence: np.ndarray) -> np.ndarray:
        return self.embed(sequence) @ self.w["kernel"] + self.w["bias"]


_KINDS: dict[str, type[Head]] = {"linear": LinearHead, "gru-attention": GruAttentionHead}
_WEIGHTS = {
    "linear": {"shift", "scale", "kernel", "bias"},
    "gru-attention": {"shift", "scale", "fw_kernel", "fw_recurrent", "fw_bias", "bw_kernel", "bw_recurrent",
                      "bw_bias", "att_kernel", "att_bias", "att_vector", "kernel", "bias"},
}


def load_head(kind: str, path: Path) -> Head:
    """Load a head of ``kind`` from its ``head.npz`` (:class:`UsageError` when it is unreadable or incomplete)."""
    import zipfile

    from musictag.errors import UsageError

    try:
        with np.load(path) as data:
            head = _KINDS[kind]({k: data[k] for k in data.files})
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise UsageError(f"{path}: unreadable head weights ({e}); retrain the model with `musictag train`") from None
    missing = sorted(_WEIGHTS[kind] - set(head.w))
    if missing:
        raise UsageError(f"{path}: head weights incomplete (no {', '.join(missing)}); retrain the model")
    return head


def make_head(kind: str, weights: dict[str, np.ndarray]) -> Head:
    """A head of ``kind`` with the given weights."""
    return _KINDS[kind](weights)
