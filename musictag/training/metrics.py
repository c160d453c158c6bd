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


#: What the genres a model writes must be: this share of the held-out tracks it would tag right.
WRITE_PRECISION_TARGET = 0.95
#: Thresholds :func:`calibrate` tries, lowest first (the heads are confident: the top end is finer).
CALIBRATION_GRID = (*(round(0.3 + 0.01 * i, 2) for i in range(70)), 0.995, 0.999)


def precision_coverage(track_true: np.ndarray, track_prob: np.ndarray, threshold: float) -> dict:
    """What writing the best genre where it scores at least ``threshold`` gives on held-out tracks:
    how many would be written (``coverage``, a share) and how many of those right (``precision``)."""
    top, pred = track_prob.max(axis=1), track_prob.argmax(axis=1)
    written = top >= threshold
    n = int(written.sum())
    return {"threshold": float(threshold), "written": n, "right": int((pred[written] == track_true[written]).sum()),
            "n_tracks": int(len(track_true)), "coverage": n / len(track_true) if len(track_true) else 0.0,
            "precision": float((pred[written] == track_true[written]).mean()) if n else None}


def calibrate(track_true: np.ndarray, track_prob: np.ndarray, target: float = WRITE_PRECISION_TARGET,
              also: np.ndarray | None = None) -> dict:
    """The lowest threshold at which the held-out tracks a model would tag are ``target`` right, all of
    them and (``also``, a bool per track: e.g. the real recordings) that subset on its own.

    Returns :func:`precision_coverage` at that threshold (of all tracks; ``subset``: of ``also``'s) with
    ``target`` and ``reached``; when no threshold of :data:`CALIBRATION_GRID` reaches it, the one that
    comes closest (the lowest of the most precise, the worse of the two counting), ``reached`` False.
    """
    def at(t: float) -> tuple[dict, dict | None]:
        whole = precision_coverage(track_true, track_prob, t)
        return whole, (precision_coverage(track_true[also], track_prob[also], t) if also is not None else None)

    def worst(pair: tuple[dict, dict | None]) -> float:
        return min(r["precision"] if r["precision"] is not None else 1.0 for r in pair if r is not None)

    rows = [at(t) for t in CALIBRATION_GRID]
    rows = [r for r in rows if r[0]["precision"] is not None]
    if not rows:
        whole, part = at(CALIBRATION_GRID[-1])
        return {**whole, "subset": part, "target": target, "reached": False}
    good = [r for r in rows if worst(r) >= target]
    whole, part = good[0] if good else max(rows, key=lambda r: (worst(r), -r[0]["threshold"]))
    return {**whole, "subset": part, "target": target, "reached": bool(good)}
