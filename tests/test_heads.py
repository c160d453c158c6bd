"""Heads on sequences: the NumPy forward passes (equal to Keras' and scikit-learn's), saving and loading,
the linear head's fit, and the model folder. Fitting the other heads: test_head_fit.py."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from musictag.analysis.heads import HEADS, VECTOR_HEADS, LinearHead, gru_sequence, load_head, softmax
from musictag.errors import UsageError
from musictag.training.head_fit import fit_linear
from musictag.training.head_networks import KERAS_HEADS
from musictag.training.metrics import recommended_min_confidence

#: Sequence lengths every forward pass is checked on: one step, even and odd.
LENGTHS = (1, 2, 5, 8, 13)


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
    assert probs.shape == (len(test_seqs[0]), 3) and head.outputs == 3
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
@pytest.mark.parametrize("kind", KERAS_HEADS)
def test_keras_head_numpy_equals_keras(kind, tmp_path):
    """The head scan runs (NumPy) gives Keras' own probabilities and penultimate vector for any length,
    and survives a save and load."""
    keras = pytest.importorskip("keras")
    from musictag.training.head_networks import build_head_network, keras_to_head

    model = build_head_network(kind, dim=16, n_genres=3)
    rng = np.random.default_rng(3)
    for w in model.weights:  # away from the initial zeros of the biases
        w.assign(rng.normal(0, 0.3, w.shape).astype(np.float32))
    shift, scale = rng.normal(0, 1, 16).astype(np.float32), rng.uniform(0.5, 2, 16).astype(np.float32)
    head = keras_to_head(model, shift, scale)
    assert head.kind == kind
    head.save(tmp_path / "head.npz")
    again = load_head(kind, tmp_path / "head.npz")
    penultimate = keras.Model(model.input, model.get_layer("embedding").output)
    for length in LENGTHS:
        x = rng.normal(0, 1, (length, 16)).astype(np.float32)
        scaled = ((x - shift) * scale)[None]  # Keras reads standardised sequences
        want = np.asarray(model(scaled, training=False))[0]
        np.testing.assert_allclose(head.track_probabilities(x), want, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(head.embed(x), np.asarray(penultimate(scaled, training=False))[0],
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(again.logits(x), head.logits(x))


def _forest_data(seed: int = 4):
    """Overlapping clusters of genres 0, 1 and 3 of 4 (genre 2 has no tracks), so trees are deep."""
    seqs, labels = _clusters(n_per=40, dim=6, genres=3, seed=seed)
    noisy = [s + np.random.default_rng(i).normal(0, 4, s.shape).astype(np.float32) for i, s in enumerate(seqs)]
    return noisy, [(0, 1, 3)[g] for g in labels]


def test_forest_head_numpy_equals_sklearn(tmp_path):
    """The exported trees give scikit-learn's predict_proba, with a column of zeros for the absent genre."""
    pytest.importorskip("sklearn")
    from sklearn.ensemble import RandomForestClassifier

    from musictag.training.forest_fit import forest_to_head
    from musictag.training.standardise import standardiser

    seqs, labels = _forest_data()
    means = np.stack([s.mean(axis=0) for s in seqs])
    shift, scale = standardiser([means])
    forest = RandomForestClassifier(50, random_state=0).fit((means - shift) * scale, labels)
    head = forest_to_head(forest, shift, scale, n_genres=4)
    assert int(head.w["depth"]) > 3
    head.save(tmp_path / "head.npz")
    again = load_head("rf", tmp_path / "head.npz")
    assert again.outputs == 4  # what a model folder's genres are checked against
    rng = np.random.default_rng(5)
    queries = [s[: rng.integers(1, len(s) + 1)] for s in seqs[::3]] + [rng.normal(0, 4, (n, 6)) for n in LENGTHS]
    for x in queries:
        x = np.asarray(x, np.float32)
        want = np.zeros(4)
        want[[0, 1, 3]] = forest.predict_proba(head.embed(x)[None])[0]
        np.testing.assert_allclose(head.track_probabilities(x), want, atol=1e-6)
        np.testing.assert_array_equal(again.track_probabilities(x), head.track_probabilities(x))


@pytest.mark.parametrize("kind", HEADS)
def test_load_head_names_a_missing_weight(kind, tmp_path):
    from musictag.analysis.heads import _WEIGHTS

    dropped = sorted(_WEIGHTS[kind])[0]
    np.savez(tmp_path / "head.npz", **{name: np.zeros(2) for name in _WEIGHTS[kind] - {dropped}})
    with pytest.raises(UsageError, match=f"no {dropped}"):
        load_head(kind, tmp_path / "head.npz")


def test_every_head_has_a_class_and_is_trained_somewhere():
    from musictag.analysis.heads import _KINDS

    assert set(_KINDS) == set(HEADS) == {*KERAS_HEADS, "rf", "linear"}
    assert set(VECTOR_HEADS) < set(HEADS)


def test_importing_heads_loads_no_training_library():
    code = ("import sys, musictag.analysis.heads, musictag.training.head_networks; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'sklearn'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_recommended_min_confidence():
    table = [{"threshold": t, "coverage": c, "accuracy": a}
             for t, c, a in ((0.0, 1.0, 0.8), (0.5, 0.7, 0.88), (0.6, 0.5, 0.93), (0.7, 0.4, 1.0))]
    assert recommended_min_confidence(table) == 0.6
    assert recommended_min_confidence(table[:2]) is None


def test_save_head_model_references_the_backbone(tmp_path):
    from musictag.analysis.backbone import DEFAULT_BACKBONE, find_backbone
    from musictag.analysis.models import ModelInfo
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
