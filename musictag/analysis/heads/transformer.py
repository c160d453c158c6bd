"""A one-block transformer encoder head (Keras' MultiHeadAttention and LayerNormalization, in NumPy)."""

from __future__ import annotations

import numpy as np

from musictag.analysis.heads.base import Head, relu, softmax

#: Keras' LayerNormalization default epsilon.
LAYER_NORM_EPSILON = 1e-3


def positional_encoding(n: int, width: int) -> np.ndarray:
    """``(n, width)`` fixed sinusoidal positions: sines in the first half of the columns, cosines in the second."""
    angles = np.arange(n, dtype=np.float32)[:, None] * positional_frequencies(width)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def positional_frequencies(width: int) -> np.ndarray:
    """The ``width // 2`` angular frequencies of :func:`positional_encoding` (1 down to about 1e-4)."""
    return (10000.0 ** (-np.arange(width // 2, dtype=np.float32) / (width // 2))).astype(np.float32)


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Keras ``LayerNormalization`` over the last axis."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPSILON) * gamma + beta


class TransformerHead(Head):
    """Dense projection plus sinusoidal positions, one encoder block (self-attention and feed-forward, each
    with a residual and layer normalisation), global average over time, dense softmax."""

    kind = "transformer"
    required = frozenset({"shift", "scale", "proj_kernel", "proj_bias", "query_kernel", "query_bias", "key_kernel",
                          "key_bias", "value_kernel", "value_bias", "out_kernel", "out_bias", "norm1_gamma",
                          "norm1_beta", "ff1_kernel", "ff1_bias", "ff2_kernel", "ff2_bias", "norm2_gamma",
                          "norm2_beta", "kernel", "bias"})

    def _attention(self, x: np.ndarray) -> np.ndarray:
        """Keras ``MultiHeadAttention`` of ``x`` ``(n, d_model)`` on itself; kernels ``(d_model, heads, key_dim)``."""
        w = self.w
        q, k, v = (np.einsum("nd,dhk->nhk", x, w[f"{p}_kernel"]) + w[f"{p}_bias"] for p in ("query", "key", "value"))
        scores = np.einsum("qhk,shk->hqs", q / np.sqrt(np.float32(q.shape[-1])), k)
        context = np.einsum("hqs,shk->qhk", softmax(scores), v)
        return np.einsum("qhk,hkd->qd", context, w["out_kernel"]) + w["out_bias"]

    def embed(self, sequence: np.ndarray) -> np.ndarray:
        w = self.w
        x = self._standardise(np.asarray(sequence, np.float32)) @ w["proj_kernel"] + w["proj_bias"]
        x = x + positional_encoding(len(x), x.shape[1])
        x = layer_norm(x + self._attention(x), w["norm1_gamma"], w["norm1_beta"])
        ff = relu(x @ w["ff1_kernel"] + w["ff1_bias"]) @ w["ff2_kernel"] + w["ff2_bias"]
        return layer_norm(x + ff, w["norm2_gamma"], w["norm2_beta"]).mean(axis=0)
