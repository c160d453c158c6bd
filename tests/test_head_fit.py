"""Fitting every head kind: it learns clustered data, on patch sub-sequences and on whole segments."""

from __future__ import annotations

import numpy as np
import pytest

from musictag.analysis.heads import HEADS
from musictag.training.head_fit import fit_head


def _data(segments: bool, seed: int = 0, n_per: int = 20, dim: int = 8, genres: int = 3):
    """Sequences around one centre per genre: 3-7 steps (patch embeddings) or, as segments, 12 steps each."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.5, (genres, dim))
    seqs, labels = [], []
    for g in range(genres):
        for _ in range(n_per):
            n = 12 if segments else int(rng.integers(3, 8))
            seqs.append((centres[g] + rng.normal(0, 1, (n, dim))).astype(np.float32))
            labels.append(g)
    return seqs, labels


@pytest.mark.filterwarnings("ignore:You are using a softmax over axis 1")
@pytest.mark.parametrize("segments", [False, True], ids=["patches", "segments"])
@pytest.mark.parametrize("kind", HEADS)
def test_head_learns_clusters(kind, segments):
    if kind not in ("linear", "rf"):
        pytest.importorskip("keras")
    seqs, labels = _data(segments)
    epochs = []
    head, history = fit_head(kind, seqs[::2], labels[::2], 3, epochs=12, batch_size=8, learning_rate=1e-2,
                             on_epoch=lambda e, logs: epochs.append(e), lengths=None if segments else (2, 8))
    assert head.kind == kind
    assert epochs == ([] if kind in ("linear", "rf") else list(range(1, 13)))
    assert len(history.get("loss", [])) == len(epochs)
    predicted = [int(head.track_probabilities(s).argmax()) for s in seqs[1::2]]
    assert np.mean(np.equal(predicted, labels[1::2])) > 0.8  # chance: 1/3


def test_unequal_segments_are_cropped_to_the_shortest_of_their_batch():
    pytest.importorskip("keras")
    seqs, labels = _data(segments=True)
    seqs = [s[: 5 + i % 7] for i, s in enumerate(seqs)]
    head, _ = fit_head("cnn1d", seqs, labels, 3, epochs=2, batch_size=8, lengths=None)
    assert head.track_probabilities(seqs[0]).shape == (3,)


@pytest.mark.parametrize("kind", ["rf", "cnn1d"])
def test_fit_is_reproducible(kind):
    pytest.importorskip("sklearn" if kind == "rf" else "keras")
    seqs, labels = _data(segments=True)
    a, _ = fit_head(kind, seqs, labels, 3, epochs=2, batch_size=8, seed=7, lengths=None)
    b, _ = fit_head(kind, seqs, labels, 3, epochs=2, batch_size=8, seed=7, lengths=None)
    for name, value in a.w.items():
        np.testing.assert_array_equal(b.w[name], value, err_msg=name)
