"""The library at a glance: a 2-D UMAP projection of its embeddings, coloured by predicted genre.

UMAP (``umap-learn``) and matplotlib are an optional extra: ``pip install 'musictag[map]'``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import numpy as np

from musictag.errors import UsageError
from musictag.tags import display_name

if TYPE_CHECKING:
    from musictag.library import Library

INSTALL_HINT = "the map needs umap-learn and matplotlib: pip install 'musictag[map]'"
MIN_TRACKS = 5


def project(vectors: np.ndarray, seed: int = 42) -> np.ndarray:
    """2-D UMAP coordinates ``(n, 2)`` of L2-normalised ``vectors``.

    On unit vectors the euclidean metric ranks neighbours exactly as cosine does, and numba
    compiles it faster. The first projection in a process spends ~10 s compiling.
    """
    # umap imports its TensorFlow-based ParametricUMAP when TensorFlow is installed: ~5 s and a
    # screen of log lines for a class never used here. A None entry makes that import fail fast.
    sys.modules.setdefault("umap.parametric_umap", None)
    try:
        import umap
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    n = len(vectors)
    reducer = umap.UMAP(n_components=2, n_neighbors=max(2, min(15, n - 1)), metric="euclidean",
                        random_state=seed, n_jobs=1, init="spectral" if n > 16 else "random")
    return reducer.fit_transform(vectors)


def genres_of(library: Library, ids: np.ndarray) -> list[str]:
    """The display name of each track's predicted genre (``Unknown`` when it has none)."""
    genre = {int(r["id"]): r["genre"] for r in library.db.query("select id, genre from tracks")}
    return [display_name(genre[i]) if genre.get(i) else "Unknown" for i in ids.tolist()]


def draw_map(library: Library, out: str | os.PathLike, title: str = "musictag library map") -> int:
    """Project the library's embeddings with UMAP and save the picture to ``out``; return the track count."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    ids, vectors = library.all_embeddings()
    if len(ids) < MIN_TRACKS:
        raise UsageError(f"the map needs at least {MIN_TRACKS} analysed tracks, the library has {len(ids)}: "
                         "run musictag scan first")
    xy = project(np.asarray(vectors, np.float32))
    labels = np.array(genres_of(library, ids))
    fig, ax = plt.subplots(figsize=(9, 7), dpi=120)
    genres = sorted(set(labels.tolist()))
    cmap = plt.get_cmap("tab10" if len(genres) <= 10 else "tab20")  # tab20 pairs look-alike shades
    size = float(np.clip(3000 / len(ids), 1.0, 14.0))  # smaller dots for bigger libraries
    for i, genre in enumerate(genres):
        sel = labels == genre
        ax.scatter(xy[sel, 0], xy[sel, 1], s=size, alpha=0.8, color=cmap(i % cmap.N), label=f"{genre} ({sel.sum()})")
    ax.set_title(f"{title} — {len(ids)} tracks, UMAP of the embeddings")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8, markerscale=1.5)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return len(ids)
