"""Heads on patch embeddings: the NumPy forward passes, fitting, saving, and the model folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musictag.heads import GruAttentionHead, LinearHead, gru_sequence, load_head, softmax
from musictag.training.head_fit import fit_linear
from musictag.training.metrics import recommended_min_confidence


def _clusters(n_per: int = 12, dim: int = 16, genres: int = 3, seed: int = 0):
    """Tracks of 3-7 patches around one centre per genre."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (genres, dim))
    seqs, labels = [], []
    for g in range(genres):
        for _ in range(n_per):
            seqs.append((centres[g] + rng.normal(0, 1, (int(rng.integers(3, 8)), dim))).astype(np.float32))
            labels.append(g)
    return seqs, labels


def test_softmax_is_stable_and_normalised():
    p = softmax(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0]])


def test_linear_head_learns_and_generalises():
    seqs, labels = _clusters()
    head = fit_linear(seqs[::2], labels[::2], 3)
    test_seqs, test_labels = seqs[1::2], labels[1::2]
    predicted = [int(head.track_probabilities(s).argmax()) for s in test_seqs]
    assert np.mean(np.equal(predicted, test_labels)) > 0.9
    probs = head.patch_probabilities(test_seqs[0])
    assert probs.shape == (len(test_seqs[0]), 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_linear_head_without_signal_is_near_uniform():
    rng = np.random.default_rng(1)
    seqs = [rng.normal(0, 1, (4, 8)).astype(np.float32) for _ in range(30)]
    head = fit_linear(seqs, [i % 3 for i in range(30)], 3, l2=100.0)
    assert head.track_probabilities(seqs[0]).max() < 0.6


def test_head_saves_and_loads(tmp_path):
    seqs, labels = _clusters()
    head = fit_linear(seqs, labels, 3)
    head.save(tmp_path / "head.npz")
    again = load_head("linear", tmp_path / "head.npz")
    assert isinstance(again, LinearHead)
    np.testing.assert_array_equal(again.track_probabilities(seqs[5]), head.track_probabilities(seqs[5]))


def test_gru_sequence_matches_the_equations():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, (3, 4)).astype(np.float32)
    kernel, recurrent = rng.normal(0, 0.5, (4, 6)), rng.normal(0, 0.5, (2, 6))
    bias = rng.normal(0, 0.1, (2, 6))
    out = gru_sequence(x, kernel, recurrent, bias)
    h = np.zeros(2)
    for t in range(3):
        xs, hs = x[t] @ kernel + bias[0], h @ recurrent + bias[1]
        z = 1 / (1 + np.exp(-(xs[:2] + hs[:2])))
        r = 1 / (1 + np.exp(-(xs[2:4] + hs[2:4])))
        h = z * h + (1 - z) * np.tanh(xs[4:] + r * hs[4:])
        np.testing.assert_allclose(out[t], h, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:You are using a softmax over axis 1")  # length 1: attention is trivially 1
def test_gru_attention_numpy_equals_keras():
    """The head scan runs (NumPy) gives Keras' own probabilities for any sequence length."""
    pytest.importorskip("keras")
    from musictag.training.head_fit import build_gru_attention, keras_to_head

    model = build_gru_attention(dim=16, n_genres=3)
    rng = np.random.default_rng(3)
    for w in model.weights:  # away from the initial zeros of the biases
        w.assign(rng.normal(0, 0.3, w.shape).astype(np.float32))
    head = keras_to_head(model, np.zeros(16, np.float32), np.ones(16, np.float32))
    assert isinstance(head, GruAttentionHead)
    for length in (1, 5, 8):
        x = rng.normal(0, 1, (length, 16)).astype(np.float32)
        want = model.predict(x[None], verbose=0)[0]
        np.testing.assert_allclose(head.track_probabilities(x), want, rtol=1e-4, atol=1e-5)


def test_recommended_min_confidence():
    table = [{"threshold": t, "coverage": c, "accuracy": a}
             for t, c, a in ((0.0, 1.0, 0.8), (0.5, 0.7, 0.88), (0.6, 0.5, 0.93), (0.7, 0.4, 1.0))]
    assert recommended_min_confidence(table) == 0.6
    assert recommended_min_confidence(table[:2]) is None


def test_save_head_model_references_the_backbone(tmp_path):
    from musictag.backbone import DEFAULT_BACKBONE, find_backbone
    from musictag.runtime import ModelInfo
    from musictag.training.model_folders import save_head_model

    seqs, labels = _clusters(dim=200)
    head = fit_linear(seqs, labels, 3)
    backbone = find_backbone(DEFAULT_BACKBONE)
    out = tmp_path / "models" / "mine"
    meta = save_head_model(out, head, "linear", ["a", "b", "c"], backbone, {}, {"confidence": []})
    assert meta["backbone"] == {"name": "musicnn-msd", "sha256": backbone.sha256}
    assert json.loads((out / "model.json").read_text())["genres"] == ["a", "b", "c"]
    info = ModelInfo.read(out)  # found: the shipped backbone (none beside the model)
    assert info.kind == "head" and info.backbone.dir == backbone.dir
    assert info.model_id.startswith("mine-")
