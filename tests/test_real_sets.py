"""Training on GTZAN-like folders and real recordings together: ``LABELS.tsv`` packages kept on one side of
every fold, a package repeated by a later folder taken once, each held-out track's prediction kept beside
the model (by quick hash) for ``bench/bench_real.py``, the threshold calibrated so that the held-out tracks
it would tag, the real ones among them too, are 95 % right; and the bench's one-line refusals."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from musictag.hashing import quick_hash
from musictag.training.config import TrainConfig
from musictag.training.from_folder import HELDOUT_FILE, Trainer, write_outputs
from musictag.training.labelled_tree import find_in_trees, find_labelled_tracks
from musictag.training.metrics import calibrate
from tests import audiogen
from tests.test_train_frames import SR, _clip

ROOT = Path(__file__).resolve().parents[1]
GTZAN = ROOT.parent / "shared" / "data" / "gtzan-mini"


def _dev_set(root: Path, packages: dict[str, tuple[str, int]], seed: int = 0) -> Path:
    """A labelled tree of real-set shape: ``<label>/<package>__<n>.wav`` and a LABELS.tsv naming each package."""
    lines = ["path\tlabel\tpackage\tevidence\tsource\tduration_s"]
    for package, (label, count) in packages.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            rel = f"{label}/{package}__{i}.wav"
            audiogen.write_audio(root / rel, _clip(label, seed + 7 * i + len(package)), SR, "wav", 1)
            lines.append(f"{rel}\t{label}\t{package}\tmade by the test\t{rel}\t3.0")
    (root / "LABELS.tsv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("trees")
    plain = base / "plain"
    for genre in ("hum", "hiss"):
        (plain / genre).mkdir(parents=True)
        for i in range(3):
            audiogen.write_audio(plain / genre / f"{genre}{i}.wav", _clip(genre, 100 + 10 * i + len(genre)), SR, "wav",
                                 1)
    real = _dev_set(base / "real", {"pkg-a": ("hum", 3), "pkg-b": ("hiss", 3), "pkg-c": ("hum", 2),
                                    "pkg-d": ("hiss", 2)})
    more = _dev_set(base / "more", {"pkg-a": ("hum", 2), "pkg-e": ("hiss", 2)}, seed=50)
    return plain, real, more


def test_labels_tsv_names_each_tracks_package_and_a_repeated_package_is_taken_once(trees):
    plain, real, more = trees
    assert {t.group for t in find_labelled_tracks(plain)} == {None}
    assert {t.group for t in find_labelled_tracks(real)} == {"pkg-a", "pkg-b", "pkg-c", "pkg-d"}
    kept, repeated = find_in_trees([plain, real, more])
    assert len(kept) == 6 + 10 + 2 and {t.group for t in repeated} == {"pkg-a"} and len(repeated) == 2
    assert {t.tree for t in kept} == {str(plain), str(real), str(more)}
    kept, _ = find_in_trees([plain, real], skip_labels=["hiss"])
    assert {t.label for t in kept} == {"hum"}


def test_folds_keep_packages_apart_and_the_model_keeps_its_heldout_predictions(trees, tmp_path):
    plain, real, more = trees
    tracks, _ = find_in_trees([plain, real, more])
    trainer = Trainer(TrainConfig(input="mel", head="linear", augment=()), log=lambda _: None)
    fs = trainer.load("trees", None, tracks=tracks)
    result = trainer.run(fs, "kfold", folds=3)
    assert result.metrics["split"]["grouped_by"]
    held = result.heldout
    assert len(held) == len(tracks)  # every track held out exactly once
    by_hash = {quick_hash(t.path): t for t in tracks}
    assert {h["quick_hash"] for h in held} == set(by_hash)
    # one package = one album: never on both sides, so its tracks were held out by one fold together
    fold_of = {i: part for part, test in enumerate(_test_parts(fs, trainer)) for i in test}
    for group in {t.group for t in fs.tracks if t.group}:
        assert len({fold_of[i] for i, t in enumerate(fs.tracks) if t.group == group}) == 1, group
    assert set(result.metrics["by_tree"]) == {str(plain), str(real), str(more)}
    cal = result.metrics["calibration"]
    assert cal["subset"]["n_tracks"] == 12  # the real recordings are held to the target on their own too
    meta = write_outputs(tmp_path / "model", trainer, result, fs, "trees", 0.0)
    assert meta["recommended_min_confidence"] == cal["threshold"]
    saved = json.loads((tmp_path / "model" / HELDOUT_FILE).read_text())
    assert saved == held and all(len(h["scores"]) == 2 and h["distance"] >= 0 for h in saved)


def _test_parts(fs, trainer) -> list[list[int]]:
    """The test indices of each fold, as Trainer.run drew them (same labels, groups, folds and seed)."""
    from musictag.training import splits

    genres = sorted({t.label for t in fs.tracks})
    lab = [genres.index(t.label) for t in fs.tracks]
    return [test for _, test in splits.grouped_kfold(lab, [t.group for t in fs.tracks], 3, trainer.cfg.seed)]


def test_calibration_needs_the_target_on_the_subset_too():
    truth = np.array([0, 0, 0, 0, 1, 1])
    prob = np.array([[0.99, 0.01], [0.95, 0.05], [0.9, 0.1], [0.8, 0.2], [0.97, 0.03], [0.1, 0.9]])
    whole = calibrate(truth, prob, target=0.75)
    assert whole["reached"] and whole["threshold"] == 0.3  # 5 of 6 right at any threshold
    real = np.array([False, False, False, False, True, True])
    both = calibrate(truth, prob, target=0.75, also=real)
    assert both["reached"] and both["threshold"] == 0.98  # the wrong real track (0.97) must fall out
    assert both["subset"]["written"] == 0 or both["subset"]["precision"] >= 0.75
    never = calibrate(truth, np.array([[0.2, 0.8]] * 4 + [[0.9, 0.1]] * 2), target=0.9)
    assert not never["reached"]


def _bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "bench_real.py"), *args], capture_output=True,
                          text=True, timeout=600)


def test_bench_refuses_a_folder_without_labels_in_one_line(trees, tmp_path):
    plain, real, _ = trees
    res = _bench(str(plain))
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert res.stderr.strip().count("\n") == 0 and "no LABELS.tsv" in res.stderr and str(plain) in res.stderr
    moved = Path(shutil.copytree(real, tmp_path / "moved"))
    (moved / "LABELS.tsv").write_text((moved / "LABELS.tsv").read_text().replace("\thum\tpkg-a", "\tjazz\tpkg-a"))
    res = _bench(str(moved))
    assert res.returncode != 0 and "Traceback" not in res.stderr and res.stderr.strip().count("\n") == 0
    assert "labels that are not the track's folder" in res.stderr


def test_bench_judges_real_clips_and_takes_trained_tracks_from_cross_validation(tmp_path):
    if not GTZAN.is_dir():
        pytest.skip("../shared/data/gtzan-mini is not here")
    dev = tmp_path / "dev"
    lines = ["path\tlabel\tpackage\tevidence"]
    for genre in ("metal", "classical"):
        (dev / genre).mkdir(parents=True)
        shutil.copy(GTZAN / genre / f"{genre}.00001.wav", dev / genre)  # a clip the shipped model learned from
        lines.append(f"{genre}/{genre}.00001.wav\t{genre}\tgtzan-{genre}\tGTZAN's folder")
    (dev / "soundtrack").mkdir()
    audiogen.write_audio(dev / "soundtrack" / "film.wav", audiogen.sweep(8.0, seed=3), 44100, "wav")
    lines.append("soundtrack/film.wav\tsoundtrack\tfilm\tnot a style")
    (dev / "LABELS.tsv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "real.json"
    res = _bench(str(dev), "--json", str(out))
    assert res.returncode == 0, res.stderr
    assert "| metal | 1 |" in res.stdout and "soundtrack (no style of its own: not judged)" in res.stdout
    result = json.loads(out.read_text())[0]
    decided = {Path(d["path"]).name: d for d in result["decisions"]}
    assert decided["metal.00001.wav"]["from_cv"] and decided["classical.00001.wav"]["from_cv"]
    assert not decided["film.wav"]["from_cv"]  # a track the model did not learn from is analysed
    assert result["judged_tracks"] == 2 and result["labels"]["soundtrack"]["judged"] is False
    assert result["gtzan"]["track_accuracy"] > 0.5
