"""Training end to end on a tiny synthetic dataset, the splits, and the model folder round trip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from musictag.training import splits
from musictag.training.config import TrainConfig
from musictag.training.from_folder import Trainer, write_outputs
from musictag.training.labelled_tree import find_labelled_tracks
from tests.audiogen import write_audio

SR = 22050


def _timbre(genre: str, seed: int, seconds: float = 6.0) -> np.ndarray:
    """Three clearly different synthetic 'genres': bass pulses, noise hats, bright chords."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    if genre == "pulse":
        f = rng.uniform(50, 90)
        y = np.sin(2 * np.pi * f * t) * (np.sin(2 * np.pi * rng.uniform(1.5, 2.5) * t) > 0)
    elif genre == "hats":
        y = rng.normal(size=len(t)) * (np.mod(t, rng.uniform(0.1, 0.2)) < 0.02)
        y = np.diff(y, prepend=0.0)
    else:
        f = rng.uniform(400, 700)
        y = sum(np.sin(2 * np.pi * f * r * t) for r in (1, 1.25, 1.5, 2, 3))
    y = y / (np.max(np.abs(y)) + 1e-9) * 0.5
    return y.astype(np.float32)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    for genre in ("pulse", "hats", "chords"):
        (root / genre).mkdir()
        for i in range(8):
            write_audio(root / genre / f"{genre}.{i:05d}.wav", _timbre(genre, 100 * i + len(genre)), SR, "wav", 1)
    (root / "hats" / "hats.broken.flac").write_bytes(b"fLaC" + bytes(200))  # corrupt: skipped and listed
    return root


@pytest.fixture(scope="module")
def tiny_model(tiny_dataset, tmp_path_factory):
    cfg = TrainConfig(input="features44", arch="crnn-stats", epochs=40, patience=10, augment=("mp3",), seed=1)
    log: list[str] = []
    trainer = Trainer(cfg, log=log.append)
    fs = trainer.load(tiny_dataset, tmp_path_factory.mktemp("cache"))
    result = trainer.run(fs, "random")
    out = tmp_path_factory.mktemp("model") / "tiny"
    meta = write_outputs(out, trainer, result, fs, tiny_dataset, 0.0)
    return out, meta, fs, log


@pytest.mark.slow
def test_tiny_dataset_trains_above_90_percent(tiny_model):
    out, meta, _, log = tiny_model
    assert meta["metrics"]["track_accuracy"] > 0.9
    assert meta["genres"] == ["chords", "hats", "pulse"]
    assert any("epoch" in line for line in log)  # one line per epoch


def test_corrupt_file_is_skipped_and_listed(tiny_model):
    out, meta, fs, log = tiny_model
    assert [p.name for p, _ in fs.skipped] == ["hats.broken.flac"]
    assert meta["training"]["skipped"][0]["path"].endswith("hats.broken.flac")
    assert any("hats.broken.flac" in line for line in log)


def test_outputs_beside_the_model(tiny_model):
    out, meta, _, _ = tiny_model
    for name in ("model.keras", "model.tflite", "model.json", "metrics.json", "confusion.png", "curves.png"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("track_accuracy", "segment_accuracy", "per_genre", "confusion", "genres", "n_tracks", "split"):
        assert key in metrics
    assert len(meta["feature_min"]) == len(meta["feature_max"]) == 44
    assert (out / "confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_keras_and_litert_agree(tiny_model):
    import keras

    from musictag.analysis.models import load_model
    from musictag.analysis.scaling import Scaler

    out, meta, fs, _ = tiny_model
    windows = fs.windows[0]
    keras_model = keras.saving.load_model(out / "model.keras")
    expected = keras_model.predict(Scaler.from_json(meta["scaling"]).apply(windows), verbose=0)
    probs, emb = load_model(out).predict(windows)
    np.testing.assert_allclose(probs, expected, atol=1e-4)
    assert emb.shape == (len(windows), meta["embedding_dim"])


def test_litert_inference_never_imports_tensorflow(tiny_model, tiny_dataset):
    out = tiny_model[0]
    clip = next((tiny_dataset / "pulse").glob("*.wav"))
    code = (
        "import sys; from musictag.analysis.models import load_model; "
        f"m = load_model({str(out)!r}); a = m.analyse({str(clip)!r}); "
        "print(m.genres[int(a.scores.argmax())]); "
        "print(sorted(k for k in ('tensorflow', 'keras') if k in sys.modules))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    genre, loaded = res.stdout.split("\n")[:2]
    assert genre == "pulse"
    assert loaded == "[]"


def test_model_with_other_feature_version_is_refused(tiny_model, tmp_path):
    from musictag.analysis.models import load_model
    from musictag.errors import UsageError

    out = tiny_model[0]
    copy = tmp_path / "old"
    copy.mkdir()
    (copy / "model.tflite").write_bytes((out / "model.tflite").read_bytes())
    meta = json.loads((out / "model.json").read_text())
    meta["features"]["version"] = 999
    (copy / "model.json").write_text(json.dumps(meta))
    with pytest.raises(UsageError, match="feature version 999"):
        load_model(copy)


# --- splits -----------------------------------------------------------------------------------


LABELS = [i // 7 for i in range(70)]


def test_random_split_is_disjoint_stratified_and_seeded():
    train, val, test = splits.random_split(LABELS, seed=3)
    assert not set(train) & set(val) and not set(train) & set(test) and not set(val) & set(test)
    assert sorted(train + val + test) == list(range(70))
    assert (len(train), len(val), len(test)) == (50, 10, 10)
    assert splits.random_split(LABELS, seed=3) == (train, val, test)
    assert {LABELS[i] for i in test} == set(range(10))


def test_kfold_tests_each_track_exactly_once():
    folds = splits.kfold(LABELS, 5, seed=0)
    seen = [i for _, test in folds for i in test]
    assert sorted(seen) == list(range(70))
    for trval, test in folds:
        assert not set(trval) & set(test)
        assert len(test) == 14
        train, val = splits.validation_split(trval, LABELS, seed=0)
        assert not set(train) & set(val) and sorted(train + val) == trval


def test_filtered_split_counts_443_197_290():
    genres = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]
    keys = [f"{g}/{g}.{i:05d}.wav" for g in genres for i in range(100)]
    train, val, test = splits.filtered_split(keys)
    assert (len(train), len(val), len(test)) == (443, 197, 290)
    assert not set(train) & set(val) and not set(train) & set(test) and not set(val) & set(test)


def test_filtered_split_on_real_files_when_present():
    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan-mini"
    if not root.is_dir():
        pytest.skip("../shared/data/gtzan-mini is not here")
    keys = [t.key for t in find_labelled_tracks(root)]
    in_lists = {k for ks in splits.filtered_lists().values() for k in ks}
    train, val, test = splits.filtered_split(keys)
    assert len(train) + len(val) + len(test) == sum(k in in_lists for k in keys)
