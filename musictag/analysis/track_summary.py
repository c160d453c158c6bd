"""What the library keeps of a track's backbone analysis, so that a new head never decodes it again.

Per track: the patch embeddings as float16 (``(n, 200)``: what a sequence head reads), their mean and
spread in float32, and the mean of the 50 tag probabilities. Every head reads the float16 sequence,
in the scan's workers as when re-scoring from the library, so both give the same genres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def unit_vector(vector: np.ndarray) -> np.ndarray:
    """``vector`` L2-normalised (unchanged when it is all zeros): a track's embedding for ``similar``."""
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


@dataclass
class TrackSummary:
    """A track's patch embeddings (rounded to float16) and mean tag probabilities."""

    patches: np.ndarray  # (n, dim) float16
    tags: np.ndarray  # (n_tags,) float32, mean over patches

    @classmethod
    def of(cls, embeddings: np.ndarray, tags: np.ndarray) -> TrackSummary:
        """Summarise per-patch ``embeddings`` ``(n, dim)`` and ``tags`` ``(n, n_tags)``."""
        return cls(np.asarray(embeddings, np.float16), np.asarray(tags, np.float32).mean(axis=0))

    @property
    def sequence(self) -> np.ndarray:
        """The patch embeddings as float32, in time order: what every head reads."""
        return self.patches.astype(np.float32)

    @property
    def mean(self) -> np.ndarray:
        """Mean patch embedding (float32)."""
        return self.sequence.mean(axis=0)

    @property
    def spread(self) -> np.ndarray:
        """Standard deviation of the patch embeddings (float32)."""
        return self.sequence.std(axis=0)

    def embedding(self) -> np.ndarray:
        """The track's embedding for ``similar``: the mean patch embedding, L2-normalised."""
        return unit_vector(self.mean).astype(np.float32)

    def to_row(self) -> dict:
        """The columns stored in the library's ``track_summaries`` table (besides ids)."""
        return {"n_patches": int(len(self.patches)), "dim": int(self.patches.shape[1]),
                "patches": self.patches.astype("<f2").tobytes(), "mean": self.mean.astype("<f4").tobytes(),
                "spread": self.spread.astype("<f4").tobytes(), "tags": self.tags.astype("<f4").tobytes()}

    @classmethod
    def from_row(cls, row: dict) -> TrackSummary:
        """Inverse of :meth:`to_row`."""
        patches = np.frombuffer(row["patches"], "<f2").reshape(int(row["n_patches"]), int(row["dim"]))
        return cls(patches.astype(np.float16), np.frombuffer(row["tags"], "<f4").astype(np.float32))
