"""Convolutional heads: over time (channels = the sequence's dimensions) or over the time x dim image."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from musictag.analysis.heads.base import Head, relu

#: Convolution layers in each convolutional head (weights ``conv{i}_kernel``, ``conv{i}_bias``).
CONV_LAYERS = 2


def _conv_weights() -> frozenset[str]:
    return frozenset(f"conv{i}_{part}" for i in range(CONV_LAYERS) for part in ("kernel", "bias"))


def conv1d_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Keras ``Conv1D(padding='same')``: ``x`` ``(n, c)``, ``kernel`` ``(k, c, out)`` -> ``(n, out)``."""
    k = kernel.shape[0]
    padded = np.pad(x, (((k - 1) // 2, k // 2), (0, 0)))
    windows = sliding_window_view(padded, k, axis=0)  # (n, c, k)
    return np.einsum("nck,kco->no", windows, kernel) + bias


def conv2d_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Keras ``Conv2D(padding='same')``: ``x`` ``(h, w, c)``, ``kernel`` ``(kh, kw, c, out)`` -> ``(h, w, out)``."""
    kh, kw = kernel.shape[:2]
    padded = np.pad(x, (((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
    windows = sliding_window_view(padded, (kh, kw), axis=(0, 1))  # (h, w, c, kh, kw)
    return np.einsum("hwcij,ijco->hwo", windows, kernel) + bias


def max_pool_same(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Keras ``MaxPooling(2, padding='same')`` along ``axes``: odd lengths keep a last window of one."""
    pad = [(0, x.shape[a] % 2 if a in axes else 0) for a in range(x.ndim)]
    x = np.pad(x, pad, constant_values=-np.inf)
    for a in sorted(axes, reverse=True):
        x = x.reshape(*x.shape[:a], x.shape[a] // 2, 2, *x.shape[a + 1:]).max(axis=a + 1)
    return x


class Cnn1dHead(Head):
    """Convolutions over time (each layer: Conv1D k=3 'same', ReLU, max-pool 2), global average, dense softmax."""

    kind = "cnn1d"
    required = frozenset({"shift", "scale", "kernel", "bias"}) | _conv_weights()

    def embed(self, sequence: np.ndarray) -> np.ndarray:
        x = self._standardise(np.asarray(sequence, np.float32))
        for i in range(CONV_LAYERS):
            x = max_pool_same(relu(conv1d_same(x, self.w[f"conv{i}_kernel"], self.w[f"conv{i}_bias"])), (0,))
        return x.mean(axis=0)


class Cnn2dHead(Head):
    """The sequence as a one-channel time x dim image (each layer: Conv2D 3x3 'same', ReLU, max-pool 2x2),
    the mean over time only (each pooled frequency row and filter keeps its place), dense softmax."""

    kind = "cnn2d"
    required = Cnn1dHead.required

    def embed(self, sequence: np.ndarray) -> np.ndarray:
        x = self._standardise(np.asarray(sequence, np.float32))[:, :, None]
        for i in range(CONV_LAYERS):
            x = max_pool_same(relu(conv2d_same(x, self.w[f"conv{i}_kernel"], self.w[f"conv{i}_bias"])), (0, 1))
        return x.mean(axis=0).reshape(-1)
