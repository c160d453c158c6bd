"""The library at a glance: a 2-D UMAP projection of its embeddings, coloured by predicted genre,
as a picture (PNG) or an interactive page (HTML, :mod:`musictag.map.page`).

UMAP (``umap-learn``) is an optional extra: ``pip install 'musictag[map]'``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from musictag.errors import UsageError
from musictag.library.database import Library
from musictag.library.rows import TrackRow
from musictag.map.page import MapPoint, page_html
from musictag.output_files import write_output_file
from musictag.paths import display_path, key_to_path, printable
from musictag.tags.fields import artist_title, display_name

INSTALL_HINT = "the map needs umap-learn: pip install 'musictag[map]'"
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


def palette(genres: list[str]) -> dict[str, str]:
    """A colour (``#rrggbb``) for each genre, in order: tab10, or tab20 past ten genres."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["tab10" if len(genres) <= 10 else "tab20"]  # tab20 pairs look-alike shades
    return {genre: to_hex(cmap(i % cmap.N)) for i, genre in enumerate(genres)}


def draw_map(library: Library, out: str | os.PathLike, title: str = "musictag library map",
             stage: Callable[[str], None] = lambda line: None) -> int:
    """Project the library's embeddings with UMAP and write the map to ``out``: a picture (``.png``)
    or an interactive page (``.html``, see :mod:`musictag.map.page`). Return the track count.

    ``stage`` is told, in a line, each stage as it starts (reading, the projection and how long it
    took, drawing): the projection alone can take a minute of silence otherwise.
    """
    stage("reading the library's embeddings")
    ids, vectors = library.all_embeddings()
    if len(ids) < MIN_TRACKS:
        raise UsageError(f"the map needs at least {MIN_TRACKS} analysed tracks, the library has {len(ids)}: "
                         "run musictag scan first")
    stage(f"projecting {len(ids)} tracks to 2-D with UMAP (this takes a while: ~10 s to start, "
          "a minute or more for a large library)")
    started = time.monotonic()
    xy = project(np.asarray(vectors, np.float32))
    stage(f"projected in {time.monotonic() - started:.0f} s; drawing {display_path(Path(out))}")
    rows = {r.id: r for r in library.tracks()}
    labels = [display_name(rows[i].genre) if rows[i].genre else "Unknown" for i in ids.tolist()]
    colours = palette(sorted(set(labels)))
    if Path(out).suffix.lower() == ".html":
        points = [_point(rows[i], xy[n], labels[n]) for n, i in enumerate(ids.tolist())]
        page = page_html(points, colours, title).encode("utf-8")
        write_output_file(Path(out), "--out", lambda tmp: tmp.write_bytes(page))
    else:
        write_output_file(Path(out), "--out", lambda tmp: draw_png(tmp, xy, np.array(labels), colours, title),
                          suffix=".png")
    return len(ids)


def _point(row: TrackRow, xy: np.ndarray, genre: str) -> MapPoint:
    """A track's point, with the artist and title its file's tags give now (printable)."""
    path = key_to_path(row.path)
    artist, title = artist_title(path)
    return MapPoint(float(xy[0]), float(xy[1]), genre, row.confidence,
                    printable(artist) if artist else None, printable(title), display_path(path))


def literal_text(name: str) -> str:
    """A name from the user's files as matplotlib draws it literally: printable, no ``$`` read as mathematics."""
    return printable(name).replace("$", r"\$")


def draw_png(out: str | os.PathLike, xy: np.ndarray, labels: np.ndarray, colours: dict[str, str], title: str) -> None:
    """Draw 2-D points ``xy`` coloured by ``labels`` (keys of ``colours``) with a legend, as a PNG at ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 7), dpi=120)
    size = float(np.clip(3000 / len(labels), 1.0, 14.0))  # smaller dots for bigger libraries
    for genre, colour in colours.items():
        sel = labels == genre
        ax.scatter(xy[sel, 0], xy[sel, 1], s=size, alpha=0.8, color=colour,
                   label=f"{literal_text(genre)} ({sel.sum()})")
    ax.set_title(f"{title} — {len(labels)} tracks, UMAP of the embeddings")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8, markerscale=1.5)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
