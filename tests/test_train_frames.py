"""``musictag train --input mel|mfcc|cqt|features44 --head``: trained on real and synthetic audio, the model folder
it writes, and that folder through ``scan``, ``evaluate`` and ``info``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from musictag.analysis.frame_inputs import FRAME_INPUTS, settings
from musictag.cli import cli
from musictag.errors import UsageError
from musictag.training.config import TrainConfig
from musictag.training.from_folder import Trainer, write_outputs
from tests import audiogen
from tests.scan_checks import track_rows

GTZAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan-mini"
SR = 22050


def _clip(genre: str, seed: int) -> np.ndarray:
    """3 s of a low hum with a pulse, or of bright noise bursts: two 'genres' every input tells apart."""
    rng = np.random.default_rng(seed)
    t = np.arange(3 * SR) / SR
    if genre == "hum":
        y = np.sin(2 * np.pi * rng.uniform(60, 120) * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    else:
        y = np.diff(rng.normal(size=len(t)) * (np.mod(t, rng.uniform(0.1, 0.2)) < 0.03), prepend=0.0)
    return (0.5 * y / np.max(np.abs(y))).astype(np.float32)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    for genre in ("hum", "hiss"):
        (root / genre).mkdir()
        for i in range(3):
            audiogen.write_audio(root / genre / f"{genre}{i}.wav", _clip(genre, 10 * i + len(genre)), SR, "wav", 1)
    return root


def _train(tiny: Path, out: Path, name: str) -> tuple[dict, Trainer]:
    trainer = Trainer(TrainConfig(input=name, head="linear", augment=()), log=lambda _: None)
    fs = trainer.load(tiny, None)
    result = trainer.run(fs, "kfold", folds=2)
    return write_outputs(out, trainer, result, fs, tiny, 0.0), trainer


@pytest.mark.parametrize("name", FRAME_INPUTS)
def test_each_frame_input_trains_a_linear_head_into_a_model_folder(tiny, tmp_path, name, monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # umap-learn missing: no map, no error
    meta, _ = _train(tiny, tmp_path / name, name)
    out = tmp_path / name
    assert {p.name for p in out.iterdir()} == {"head.npz", "model.json", "metrics.json", "confusion.png",
                                               "heldout.json"}
    assert (meta["format"], meta["input"], meta["head"]) == (3, name, "linear")
    assert meta["frames"] == settings(name) and meta["embedding_dim"] == settings(name)["dim"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["umap_png"] is False and metrics["n_tracks"] == 6
    assert metrics["track_accuracy"] >= 5 / 6, metrics  # held out, out-of-fold
    assert metrics["split"]["folds"] == 2


def test_a_frame_model_is_loaded_as_one_and_refused_after_a_settings_change(tiny, tmp_path):
    from musictag.analysis.models import FrameModel, ModelInfo, load_model

    out = tmp_path / "m"
    _train(tiny, out, "mel")
    model = load_model(out)
    assert isinstance(model, FrameModel) and ModelInfo.read(out).kind == "frames"
    a = model.analyse(next((tiny / "hiss").iterdir()))
    assert model.genres[int(a.scores.argmax())] == "hiss" and a.summary is None
    assert a.window_seconds == 3.0 and a.window_scores.shape == (1, 2)
    np.testing.assert_allclose(a.scores, a.window_scores.mean(axis=0), rtol=1e-6)
    assert np.linalg.norm(a.embedding) == pytest.approx(1.0, abs=1e-5)
    meta = json.loads((out / "model.json").read_text())
    meta["frames"]["version"] = 0
    (out / "model.json").write_text(json.dumps(meta))
    with pytest.raises(UsageError, match="retrain it with `musictag train --input mel --head linear`"):
        load_model(out)


def test_held_out_embeddings_are_drawn_with_umap_when_installed(tiny, tmp_path):
    pytest.importorskip("umap")
    meta, _ = _train(tiny, tmp_path / "m", "mfcc")
    assert meta["metrics"]["umap_png"] is True
    assert (tmp_path / "m" / "umap.png").read_bytes()[:4] == b"\x89PNG"


def test_learners_embed_held_out_tracks_as_the_scan_would(tiny):
    from musictag.analysis.models import segment_analysis

    trainer = Trainer(TrainConfig(input="cqt", head="linear", augment=()), log=lambda _: None)
    fs = trainer.load(tiny, None)
    result = trainer.run(fs, "kfold", folds=2)
    assert result.heldout_embeddings.shape == (6, 84) and sorted(result.heldout_labels) == [0, 0, 0, 1, 1, 1]
    np.testing.assert_allclose(np.linalg.norm(result.heldout_embeddings, axis=1), 1.0, rtol=1e-5)
    final = trainer.learner.embed(result.fitted, fs.windows[:1])[0]
    np.testing.assert_allclose(final, segment_analysis(result.fitted, fs.windows[0])[1])


def test_musicnn_held_out_embeddings_are_the_vectors_a_scan_stores(tiny, tmp_path):
    from musictag.analysis.models import load_model

    trainer = Trainer(TrainConfig(input="musicnn", head="linear", augment=()), log=lambda _: None)
    fs = trainer.load(tiny, None)
    result = trainer.run(fs, "kfold", folds=2)
    write_outputs(tmp_path / "m", trainer, result, fs, tiny, 0.0)
    assert json.loads((tmp_path / "m" / "model.json").read_text())["format"] == 2  # as before frame inputs
    assert result.heldout_embeddings.shape == (6, 200)
    model = load_model(tmp_path / "m")
    scanned = np.stack([model.analyse(t.path).embedding for t in fs.tracks])
    gaps = np.abs(scanned[:, None, :] - result.heldout_embeddings[None, :, :]).max(axis=2)
    # the same six vectors: OpenVINO (2026.4) picks other float32 kernels for the training batch than for a scan's
    # one-patch shape, ~1e-5 apart on a unit vector; any other track is ~1e-1 away
    assert sorted(gaps.argmin(axis=1)) == list(range(6)) and gaps.min(axis=1).max() < 5e-5


@pytest.mark.parametrize(("args", "why"), [
    (["--input", "musicnn", "--head", "cnn2d"], "200 embedding dimensions have no order"),
])
def test_senseless_pairs_are_refused_in_one_line(tiny, tmp_path, args, why):
    res = subprocess.run([sys.executable, "-m", "musictag", "train", str(tiny), *args, "--out", str(tmp_path / "m")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and why in lines[0] and f"--head cnn2d does not fit {args[0]} {args[1]}" in lines[0]
    assert not (tmp_path / "m").exists()


# --- a frame model on real music, through the commands -------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A mel / linear model trained by ``musictag train`` on 3 + 3 real clips; a folder of two other clips to scan."""
    if not GTZAN.is_dir():
        pytest.skip("../shared/data/gtzan-mini is not here")
    base = tmp_path_factory.mktemp("real")
    train, music = base / "train", base / "music"
    for genre in ("classical", "metal"):
        (train / genre).mkdir(parents=True)
        for i in range(3):
            shutil.copy(GTZAN / genre / f"{genre}.0000{i}.wav", train / genre)
        music.mkdir(exist_ok=True)
        shutil.copy(GTZAN / genre / f"{genre}.00004.wav", music)
    res = CliRunner().invoke(cli, ["train", str(train), "--input", "mel", "--head", "linear", "--split", "kfold",
                                   "--folds", "2", "--augment", "none", "--cache", "none", "--out", str(base / "mel")])
    assert res.exit_code == 0, res.output
    return base / "mel", music, train


def test_scan_with_a_frame_model_tags_real_files_and_stores_its_embeddings(real, tmp_path):
    from musictag.library.database import Library
    from musictag.tags.tagfile import read_genres

    model, music, _ = real
    db = tmp_path / "lib.db"
    res = CliRunner().invoke(cli, ["scan", str(music), "--model", str(model), "--db", str(db), "--min-confidence",
                                   "0", "--jobs", "1"])
    assert res.exit_code == 0, res.output
    assert read_genres(music / "classical.00004.wav") == ["Classical"]
    assert read_genres(music / "metal.00004.wav") == ["Metal"]
    rows = track_rows(db)
    assert {r.genre for r in rows.values()} == {"classical", "metal"}
    with Library(db, readonly=True) as lib:
        _, vectors = lib.all_embeddings()
    assert vectors.shape == (2, json.loads((model / "model.json").read_text())["embedding_dim"]) == (2, 80)


def test_evaluate_and_info_use_a_frame_model(real):
    model, music, train = real
    res = CliRunner().invoke(cli, ["evaluate", str(train), "--json", "--model", str(model)])
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert m["n_tracks"] == 6 and m["model"].startswith("mel-") and m["n_segments"] >= 6 * 5  # clips of 15 s and more
    res = CliRunner().invoke(cli, ["info", str(music / "metal.00004.wav"), "--json", "--model", str(model)])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["genres"][0]["genre"] == "metal" and info["style_tags"] == []
    starts = [w["start"] for w in info["windows"]]
    assert len(starts) == int(info["duration"] // 3.0) >= 5 and starts == [3.0 * i for i in range(len(starts))]
    assert all(w["end"] - w["start"] == 3.0 for w in info["windows"])


#: Every head through train -> model folder -> scan, each on another input so that every input is covered too.
EVERY_HEAD = [("rf", "features44"), ("mlp", "mfcc"), ("lstm-attention", "cqt"), ("gru-attention", "mel"),
              ("cnn1d", "musicnn"), ("cnn2d", "mel"), ("transformer", "musicnn"), ("linear", "cqt")]


@pytest.mark.parametrize(("head", "name"), EVERY_HEAD)
def test_every_head_trains_and_tags_files_through_scan(tiny, tmp_path, head, name):
    """``musictag train --head H --input I`` writes a folder ``scan --model`` runs (without TensorFlow: scan's
    workers never import it); every file gets a genre of the model, the library holds its embeddings."""
    from musictag.analysis.models import ModelInfo
    from musictag.library.database import Library
    from musictag.tags.tagfile import read_genres

    out, music, db = tmp_path / "model", tmp_path / "music", tmp_path / "lib.db"
    res = CliRunner().invoke(cli, ["train", str(tiny), "--input", name, "--head", head, "--epochs", "3",
                                   "--augment", "none", "--cache", "none", "--out", str(out)])
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "model.json").read_text())
    assert (meta["input"], meta["head"]) == (name, head)
    shutil.copytree(tiny, music)
    res = CliRunner().invoke(cli, ["scan", str(music), "--model", str(out), "--db", str(db), "--min-confidence", "0",
                                   "--jobs", "1"])
    assert res.exit_code == 0, res.output
    files = sorted(music.rglob("*.wav"))
    assert all(read_genres(f) and read_genres(f)[0].lower() in {"hum", "hiss"} for f in files)
    assert {r.model_id for r in track_rows(db).values()} == {ModelInfo.read(out).model_id}
    with Library(db, readonly=True) as lib:
        _, vectors = lib.all_embeddings()
    assert vectors.shape == (len(files), meta["embedding_dim"])
