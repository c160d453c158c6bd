"""Per-feature-row scaling of feature windows, fitted at training and applied at inference."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Scaler:
    """Per-feature-row affine scaling: ``(x - shift) * scale``, fitted on training windows."""

    kind: str
    shift: np.ndarray  # (44,)
    scale: np.ndarray  # (44,)

    @classmethod
    def fit(cls, windows: Sequence[np.ndarray], kind: str = "standard") -> Scaler:
        """Fit on training windows: ``minmax`` maps each row to [0, 1], ``standard`` to mean 0, sd 1."""
        frames = np.concatenate([w.transpose(1, 0, 2).reshape(w.shape[1], -1) for w in windows], axis=1)
        if kind == "minmax":
            lo, hi = frames.min(axis=1), frames.max(axis=1)
            shift, scale = lo, 1.0 / np.maximum(hi - lo, 1e-8)
        elif kind == "standard":
            shift, scale = frames.mean(axis=1), 1.0 / np.maximum(frames.std(axis=1), 1e-8)
        else:
            raise ValueError(f"unknown scaling {kind!r}")
        return cls(kind, shift.astype(np.float32), scale.astype(np.float32))

    def apply(self, windows: np.ndarray) -> np.ndarray:
        """Scale ``(n, 44, 216)`` windows; returns float32 ``(n, 44, 216, 1)`` ready for the model."""
        x = (windows - self.shift[None, :, None]) * self.scale[None, :, None]
        return x.astype(np.float32)[..., None]

    def to_json(self) -> dict:
        """JSON form stored in model.json."""
        return {"kind": self.kind, "shift": self.shift.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_json(cls, d: dict) -> Scaler:
        """Inverse of :meth:`to_json`."""
        return cls(d["kind"], np.asarray(d["shift"], np.float32), np.asarray(d["scale"], np.float32))
