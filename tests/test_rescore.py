"""A new head on the same backbone re-scores stored tracks from the library, decoding nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from musictag.analysis.backbone import DEFAULT_BACKBONE, find_backbone, shipped_models_dir
from musictag.analysis.heads import make_head
from musictag.analysis.models import load_model
from musictag.library.database import Library
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from musictag.training.model_folders import save_head_model
from tests import audiogen


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("music")
    for i, fmt in enumerate(("wav", "mp3", "flac")):
        audiogen.write_audio(folder / f"t{i}{audiogen.FORMATS[fmt][0]}", audiogen.sweep(4.0 + i, seed=i), 44100, fmt)
    return folder


@pytest.fixture(scope="module")
def other_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A head with two made-up genres on the shipped backbone."""
    rng = np.random.default_rng(0)
    head = make_head("linear", {"shift": np.zeros(200), "scale": np.ones(200),
                                "kernel": rng.normal(0, 1, (200, 2)), "bias": np.zeros(2)})
    out = tmp_path_factory.mktemp("models") / "calm-loud"
    save_head_model(out, head, "linear", ["calm", "loud"], find_backbone(DEFAULT_BACKBONE), {}, {})
    return out


def _predictions(db: Path) -> dict[str, dict[str, float]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT t.path, p.genre, p.score FROM predictions p JOIN tracks t ON t.id = p.track_id")
        out: dict[str, dict[str, float]] = {}
        for path, genre, score in rows:
            out.setdefault(Path(path).name, {})[genre] = score
    return out


def test_new_head_rescores_without_decoding(music, other_head, tmp_path):
    db = tmp_path / "library.db"
    first = scan([music], db, ScanOptions(min_confidence=1.0, jobs=1))
    assert first.analysed == 3 and first.rescored == 0
    with Library(db) as lib:
        for row in lib.tracks():
            summary = lib.summary(row.id)
            assert summary is not None and summary.patches.dtype == np.float16
            assert summary.patches.shape[1] == 200 and summary.tags.shape == (50,)
        embeddings_before = lib.all_embeddings()

    second = scan([music], db, ScanOptions(model_dir=other_head, min_confidence=1.0, jobs=1))
    assert (second.analysed, second.rescored, second.skipped) == (0, 3, 0)
    assert second.worker_peak_rss == 0  # no worker ever ran: nothing was decoded
    stored = _predictions(db)
    model = load_model(other_head)
    for path in music.iterdir():
        assert set(stored[path.name]) == {"calm", "loud"}
        analysed = model.analyse(path).scores  # the same numbers as decoding it again
        np.testing.assert_allclose([stored[path.name][g] for g in model.genres], analysed, atol=1e-5)
    with Library(db) as lib:
        assert {r.model_id for r in lib.tracks()} == {model.model_id}
        ids, vectors = lib.all_embeddings()
        np.testing.assert_array_equal(vectors, embeddings_before[1])  # same backbone, same embedding

    third = scan([music], db, ScanOptions(model_dir=other_head, min_confidence=1.0, jobs=1))
    assert (third.analysed, third.rescored, third.skipped) == (0, 0, 3)


def test_another_backbone_reanalyses(music, tmp_path):
    db = tmp_path / "library.db"
    scan([music], db, ScanOptions(min_confidence=1.0, jobs=1))
    windows = shipped_models_dir() / "gtzan-crnn"
    report = scan([music], db, ScanOptions(model_dir=windows, min_confidence=1.0, jobs=1))
    assert (report.analysed, report.rescored) == (3, 0)
    with Library(db) as lib:
        assert all(lib.summary(r.id) is None for r in lib.tracks())  # a window network keeps none


def test_rescored_tracks_are_tagged(music, other_head, tmp_path):
    import shutil

    copy = tmp_path / "music"
    shutil.copytree(music, copy)
    db = tmp_path / "library.db"
    scan([copy], db, ScanOptions(min_confidence=1.0, jobs=1))  # analysed, left untagged (uncertain)
    report = scan([copy], db, ScanOptions(model_dir=other_head, min_confidence=0.0, jobs=1))
    assert report.rescored == 3 and report.tagged == 3
    from musictag.tags.tagfile import read_genres

    assert all(read_genres(p)[0] in ("Calm", "Loud") for p in copy.iterdir())


def test_scan_uses_the_models_recommended_confidence(music, other_head, tmp_path):
    import json
    import shutil

    model = tmp_path / "models" / "recommends"
    shutil.copytree(other_head, model)
    db = tmp_path / "library.db"
    assert scan([music], db, ScanOptions(model_dir=model, jobs=1)).min_confidence == 0.6  # recommends none
    meta = json.loads((model / "model.json").read_text())
    meta["recommended_min_confidence"] = 0.75
    (model / "model.json").write_text(json.dumps(meta))
    assert scan([music], db, ScanOptions(model_dir=model, jobs=1)).min_confidence == 0.75
    assert scan([music], db, ScanOptions(model_dir=model, jobs=1, min_confidence=0.3)).min_confidence == 0.3
