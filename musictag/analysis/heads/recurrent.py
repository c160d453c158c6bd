"""Bidirectional recurrent heads with additive attention over time (GRU or LSTM cells, Keras' equations)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from musictag.analysis.heads.base import Head, sigmoid, softmax


def gru_sequence(x: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Outputs ``(n, units)`` of a Keras GRU (``reset_after=True``, gates z, r, h) over ``x`` ``(n, d)``."""
    units = recurrent.shape[0]
    xs = x @ kernel + bias[0]  # input projections of every step at once
    h = np.zeros(units, np.float32)
    out = np.empty((len(x), units), np.float32)
    for t in range(len(x)):
        hs = h @ recurrent + bias[1]
        z = sigmoid(xs[t, :units] + hs[:units])
        r = sigmoid(xs[t, units:2 * units] + hs[units:2 * units])
        candidate = np.tanh(xs[t, 2 * units:] + r * hs[2 * units:])
        h = z * h + (1.0 - z) * candidate
        out[t] = h
    return out


def lstm_sequence(x: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Outputs ``(n, units)`` of a Keras LSTM (gates i, f, c, o) over ``x`` ``(n, d)``."""
    units = recurrent.shape[0]
    xs = x @ kernel + bias
    h = np.zeros(units, np.float32)
    c = np.zeros(units, np.float32)
    out = np.empty((len(x), units), np.float32)
    for t in range(len(x)):
        i, f, g, o = np.split(xs[t] + h @ recurrent, 4)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out[t] = h
    return out


class RecurrentAttentionHead(Head):
    """A bidirectional recurrent layer over the standardised steps, additive attention over time, dense softmax."""

    required = frozenset({"shift", "scale", "fw_kernel", "fw_recurrent", "fw_bias", "bw_kernel", "bw_recurrent",
                          "bw_bias", "att_kernel", "att_bias", "att_vector", "kernel", "bias"})
    cell: ClassVar[Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]]

    def embed(self, sequence: np.ndarray) -> np.ndarray:
        """The attention-weighted sum of the recurrent outputs (forward and backward, concatenated)."""
        w, cell = self.w, type(self).cell
        x = self._standardise(np.asarray(sequence, np.float32))
        forward = cell(x, w["fw_kernel"], w["fw_recurrent"], w["fw_bias"])
        backward = cell(x[::-1], w["bw_kernel"], w["bw_recurrent"], w["bw_bias"])[::-1]
        h = np.concatenate([forward, backward], axis=1)
        score = np.tanh(h @ w["att_kernel"] + w["att_bias"]) @ w["att_vector"]  # (n, 1)
        return softmax(score[:, 0]) @ h


class GruAttentionHead(RecurrentAttentionHead):
    """Bidirectional GRU with attention: the second study's best head on patch embeddings."""

    kind = "gru-attention"
    cell = staticmethod(gru_sequence)


class LstmAttentionHead(RecurrentAttentionHead):
    """Bidirectional LSTM with attention."""

    kind = "lstm-attention"
    cell = staticmethod(lstm_sequence)
