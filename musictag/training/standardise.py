"""The standardisation every head fit starts from (the linear, network and forest heads alike)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def standardiser(sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension shift and scale that standardise the steps of the training sequences."""
    x = np.concatenate(sequences)
    return x.mean(axis=0).astype(np.float32), (1.0 / np.maximum(x.std(axis=0), 1e-6)).astype(np.float32)
