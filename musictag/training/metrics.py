"""Held-out figures: track and segment accuracy, per-genre precision / recall / F1, confidence coverage.

Shared by ``musictag train`` (from a folder or the library) and ``musictag evaluate``; NumPy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Thresholds of :func:`confidence_table`: how many tracks a minimum confidence keeps, and how right they are.
CONFIDENCE_THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def track_metrics(genres: Sequence[str], track_true: np.ndarray, track_prob: np.ndarray) -> dict:
    """Track accuracy, per-genre precision/recall/F1 (and support), confusion matrix (true genre in rows)."""
    g = len(genres)
    pred = track_prob.argmax(axis=1)
    confusion = np.zeros((g, g), dtype=int)
    np.add.at(confusion, (track_true, pred), 1)
    per_genre = {}
    for i, name in enumerate(genres):
        tp = confusion[i, i]
        precision = tp / confusion[:, i].sum() if confusion[:, i].sum() else 0.0
        recall = tp / confusion[i, :].sum() if confusion[i, :].sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_genre[name] = {"precision": float(precision), "recall": float(recall), "f1": float(f1),
                           "support": int(confusion[i, :].sum())}
    return {
        "track_accuracy": float((pred == track_true).mean()),
        "n_tracks": int(len(track_true)),
        "genres": list(genres),
        "per_genre": per_genre,
        "confusion": confusion.tolist(),
    }


def classification_metrics(genres: Sequence[str], track_true: np.ndarray, track_prob: np.ndarray,
                           window_true: np.ndarray, window_prob: np.ndarray) -> dict:
    """:func:`track_metrics` plus segment-level accuracy."""
    m = track_metrics(genres, track_true, track_prob)
    return {"track_accuracy": m.pop("track_accuracy"),
            "segment_accuracy": float((window_prob.argmax(axis=1) == window_true).mean()),
            "n_tracks": m.pop("n_tracks"), "n_segments": int(len(window_true)), **m}


def confidence_table(track_true: np.ndarray, track_prob: np.ndarray) -> list[dict]:
    """For each threshold: the share of tracks whose top score reaches it and their accuracy."""
    top, pred = track_prob.max(axis=1), track_prob.argmax(axis=1)
    rows = []
    for t in CONFIDENCE_THRESHOLDS:
        kept = top >= t
        rows.append({"threshold": t, "coverage": float(kept.mean()),
                     "accuracy": float((pred[kept] == track_true[kept]).mean()) if kept.any() else None})
    return rows


def recommended_min_confidence(confidence: list[dict], target: float = 0.9) -> float | None:
    """The lowest threshold of a held-out confidence table whose kept tracks are ``target`` right, or None."""
    for row in confidence:
        if row["accuracy"] is not None and row["accuracy"] >= target and row["threshold"] > 0:
            return float(row["threshold"])
    return None
