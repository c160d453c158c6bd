"""Whether a track is like anything a model learned from: out of its taxonomy means uncertain, not forced.

A softmax always names one of its genres, however unlike the training tracks a track is (spoken word,
test tones, a style the model never heard). A model folder trained by musictag keeps its training
tracks' embeddings (``reference.npz``: the vectors a scan stores for ``similar``, unit length) and the
largest distance at which a held-out track still lay from its nearest training track in
cross-validation (``model.json`` ``familiarity.max_distance``). A track farther than that from every
training track is *unfamiliar*: left uncertain whatever its scores. NumPy only.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musictag.errors import UsageError

REFERENCE_FILE = "reference.npz"


def nearest_distances(embeddings: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Cosine distance (1 - cosine) of each of ``embeddings`` ``(n, d)`` to its nearest row of ``reference``
    ``(m, d)``; both of unit length."""
    similarity = np.asarray(embeddings, np.float32) @ np.asarray(reference, np.float32).T
    return (1.0 - similarity.max(axis=1)).astype(np.float64)


@dataclass
class Familiarity:
    """A model's training tracks (unit embeddings) and how far from them a track may lie."""

    reference: np.ndarray  # (m, d) float32, unit rows
    max_distance: float

    def distance(self, embedding: np.ndarray) -> float:
        """Cosine distance of one track's unit embedding to its nearest training track."""
        return float(nearest_distances(np.asarray(embedding, np.float32)[None, :], self.reference)[0])

    def familiar(self, embedding: np.ndarray) -> bool:
        """Whether a track with this embedding lies within :attr:`max_distance` of a training track."""
        return self.distance(embedding) <= self.max_distance

    def save(self, folder: Path) -> dict:
        """Write ``reference.npz`` into ``folder``; return model.json's ``familiarity`` entry."""
        np.savez_compressed(folder / REFERENCE_FILE, embeddings=self.reference.astype(np.float16))
        return {"max_distance": round(float(self.max_distance), 4), "reference": REFERENCE_FILE,
                "n_reference": int(len(self.reference)),
                "rule": "a track farther (cosine distance) from every training track than any held-out track "
                        "lay from its nearest training track in cross-validation is left uncertain"}

    @classmethod
    def load(cls, folder: Path, entry: object, dim: int | None = None) -> Familiarity | None:
        """The familiarity of the model folder ``folder`` from its model.json ``familiarity`` entry (None:
        the model has none). Raises :class:`UsageError` naming the file when it is malformed."""
        if entry is None:
            return None
        where = folder / "model.json"
        # the range refuses NaN and infinities too (math.isfinite would overflow on a whole number of 400 digits)
        if not isinstance(entry, dict) or not isinstance(entry.get("max_distance"), (int, float)) \
                or isinstance(entry.get("max_distance"), bool) or not 0.0 <= entry["max_distance"] <= 2.0:
            raise UsageError(f"{where}: familiarity.max_distance must be a number from 0 to 2")
        path = folder / REFERENCE_FILE
        try:
            with np.load(path) as data:
                reference = np.asarray(data["embeddings"], np.float32)
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise UsageError(f"{path}: unreadable training reference ({e}); retrain the model") from None
        if reference.ndim != 2 or not len(reference) or (dim is not None and reference.shape[1] != dim):
            raise UsageError(f"{path}: training reference of the wrong shape {reference.shape}; retrain the model")
        return cls(reference, float(entry["max_distance"]))
