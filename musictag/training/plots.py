"""The training pictures: confusion matrix, learning curves and the held-out tracks' UMAP map (matplotlib, Agg
backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_shading(confusion: np.ndarray) -> np.ndarray:
    """Each row of a confusion matrix as fractions of its true genre's tracks (an empty row stays 0)."""
    rows = confusion.sum(axis=1, keepdims=True)
    return np.divide(confusion, rows, out=np.zeros(confusion.shape), where=rows > 0)


#: The confusion picture shows at most this many genres (those with the most held-out tracks): a
#: picture of thousands of genres is unreadable and does not fit in memory. metrics.json has them all.
CONFUSION_GENRES_SHOWN = 40


def plot_confusion(confusion: np.ndarray, genres: list[str], out: Path) -> None:
    """Save the track-level confusion matrix (true genre in rows) as a PNG: each cell shaded by the
    share of its row (recall on the diagonal), with the track count written in; beyond
    :data:`CONFUSION_GENRES_SHOWN` genres, only the largest are drawn (the title says so)."""
    plt = _pyplot()
    confusion = np.asarray(confusion)
    shares, title = confusion_shading(confusion), "held-out tracks"
    if len(genres) > CONFUSION_GENRES_SHOWN:
        shown = np.sort(np.argsort(-confusion.sum(axis=1), kind="stable")[:CONFUSION_GENRES_SHOWN])
        title += f" of the {CONFUSION_GENRES_SHOWN} largest of {len(genres)} genres"
        cells = np.ix_(shown, shown)
        confusion, shares, genres = confusion[cells], shares[cells], [genres[i] for i in shown]
    from musictag.map.plot import literal_text

    labels = [literal_text(g) for g in genres]
    fig, ax = plt.subplots(figsize=(1.6 + 0.6 * len(genres), 0.8 + 0.55 * len(genres)))
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true genre's tracks")
    ax.set_xticks(range(len(genres)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(genres)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), v in np.ndenumerate(confusion):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", color="white" if shares[i, j] > 0.5 else "black")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def best_epoch(history: dict) -> int | None:
    """The epoch (from 1) with the lowest validation loss: the one early stopping restores; None without one."""
    losses = history.get("val_loss")
    return int(np.argmin(losses)) + 1 if losses else None


def plot_curves(history: dict, out: Path, title: str = "") -> None:
    """Save loss and accuracy per epoch, training against validation, as a PNG; the restored best
    epoch (lowest validation loss) is marked."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    if title:
        fig.suptitle(title)
    best = best_epoch(history)
    for ax, key in zip(axes, ("loss", "accuracy"), strict=True):
        for prefix, style in (("", "-"), ("val_", "--")):
            if prefix + key in history:
                ax.plot(range(1, len(history[prefix + key]) + 1), history[prefix + key], style,
                        label="validation" if prefix else "training (mixup)")
        if best is not None:
            ax.axvline(best, color="grey", linestyle=":", label=f"restored: epoch {best}")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_embedding_map(vectors: np.ndarray, labels: np.ndarray, genres: list[str], out: Path) -> bool:
    """Draw held-out tracks' L2-normalised embeddings ``(n, dim)``, projected by UMAP and coloured by their
    true genre (``labels``: indices into ``genres``), as a PNG at ``out``.

    UMAP is the optional ``map`` extra, slow to import: without it (or with fewer than
    :data:`musictag.map.plot.MIN_TRACKS` tracks) nothing is drawn. Returns whether ``out`` was written.
    """
    import importlib.util

    from musictag.map.plot import MIN_TRACKS, draw_png, palette, project

    if importlib.util.find_spec("umap") is None or len(vectors) < MIN_TRACKS:
        return False
    try:
        xy = project(np.asarray(vectors, np.float32))
    except Exception:  # noqa: BLE001 - umap-learn found but broken: the picture is optional, the model is not
        return False
    names = np.array([genres[i] for i in labels])
    draw_png(out, xy, names, palette(genres), "held-out tracks")
    return True
