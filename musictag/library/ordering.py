"""An order for a playlist that moves smoothly from song to song: short steps between neighbours.

A step is the cosine distance (``1 - cos``) between the unit embeddings of two consecutive tracks,
the first step from the start (the seed the playlist grows from). :func:`smooth_order` builds the
path greedily (each time the nearest track not yet used), then shortens it with 2-opt moves (a
stretch of the path reversed wherever that makes the two steps at its ends shorter), starting both
from the greedy path and from the order given, and keeps the shorter: its total is never longer
than the order given. Pure NumPy, no library.
"""

from __future__ import annotations

import numpy as np

#: The most tracks --order path puts in order: its distance matrix is n² float32 (5,000: 100 MB).
MAX_PATH_TRACKS = 5000
#: Tracks up to which the greedy path is shortened by 2-opt (a pass is n vector operations of size n).
TWO_OPT_TRACKS = 1000
_MAX_PASSES = 100


def steps(start: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """The cosine distance of each step of a path: ``start`` to ``vectors[0]``, then row to row (unit vectors)."""
    path = np.vstack([start[None, :], vectors]).astype(np.float64)
    return np.clip(1.0 - np.sum(path[:-1] * path[1:], axis=1), 0.0, 2.0)


def smooth_order(start: np.ndarray, vectors: np.ndarray) -> list[int]:
    """An order of the rows of ``vectors`` (unit vectors) whose steps from ``start`` are short: a permutation."""
    n = len(vectors)  # at most MAX_PATH_TRACKS
    if n < 2:
        return list(range(n))
    points = np.vstack([start[None, :], vectors]).astype(np.float32)
    dist = np.zeros((n + 2, n + 2), np.float32)  # node 0: the start; 1..n: the tracks; n + 1: a free end
    dist[: n + 1, : n + 1] = np.clip(1.0 - points @ points.T, 0.0, 2.0)
    tries = [[0, *_greedy(dist[: n + 1, : n + 1]), n + 1], list(range(n + 2))]
    if n <= TWO_OPT_TRACKS:
        tries = [_two_opt(dist, path) for path in tries]
    best = min(tries, key=lambda path: float(dist[path[:-1], path[1:]].sum()))
    return [node - 1 for node in best[1:-1]]


def _greedy(dist: np.ndarray) -> list[int]:
    """From node 0, each time the nearest node not yet visited: the nodes 1..n in that order."""
    left = np.ones(len(dist), bool)
    left[0] = False
    at, out = 0, []
    for _ in range(len(dist) - 1):
        at = int(np.argmin(np.where(left, dist[at], np.inf)))
        left[at] = False
        out.append(at)
    return out


def _two_opt(dist: np.ndarray, path: list[int]) -> list[int]:
    """``path`` (both ends fixed) shortened by reversing stretches until no reversal shortens it."""
    p = np.asarray(path)
    for _ in range(_MAX_PASSES):
        improved = False
        for i in range(1, len(p) - 2):
            a, b = p[i - 1], p[i]
            c, d = p[i + 1: -1], p[i + 2:]  # every end j > i of the stretch p[i..j], and the node after it
            gain = dist[a, b] + dist[c, d] - dist[a, c] - dist[b, d]
            j = int(np.argmax(gain))
            if gain[j] > 1e-7:
                j += i + 1
                p[i: j + 1] = p[i: j + 1][::-1].copy()
                improved = True
        if not improved:
            break
    return p.tolist()
