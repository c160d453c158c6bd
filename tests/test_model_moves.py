"""Genres that follow the model: a new model updates what musictag itself wrote (and nobody edited),
takes it back where it is unsure, never touches the user's own genres; a track unlike every training
track is left uncertain; a model folder whose genres or threshold are malformed is refused in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from musictag.analysis.backbone import DEFAULT_BACKBONE, find_backbone
from musictag.analysis.familiarity import Familiarity, nearest_distances
from musictag.analysis.heads import make_head
from musictag.library.database import Library
from musictag.library.restore import restore
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from musictag.tags.tagfile import TagFile, read_genres
from musictag.training.model_folders import save_head_model
from tests import audiogen
from tests.cli_checks import one_line_error, run_musictag

GENRES = ["calm", "loud"]


def _head_model(folder: Path, sign: float, familiarity: Familiarity | None = None) -> Path:
    """A linear head with two made-up genres on the shipped backbone; ``sign`` -1 flips every decision."""
    rng = np.random.default_rng(0)
    kernel = rng.normal(0, 1e-3, (200, 2))  # small: scores near 0.5, so a high threshold leaves tracks uncertain
    head = make_head("linear", {"shift": np.zeros(200), "scale": np.ones(200),
                                "kernel": sign * np.stack([kernel[:, 0], -kernel[:, 0]], axis=1),
                                "bias": np.zeros(2)})
    meta = save_head_model(folder, head, "linear", GENRES, find_backbone(DEFAULT_BACKBONE), {}, {})
    if familiarity is not None:
        meta["familiarity"] = familiarity.save(folder)
        (folder / "model.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pristine")
    audiogen.write_audio(folder / "ours.flac", audiogen.sweep(4.0, seed=1), 44100, "flac")
    audiogen.write_audio(folder / "theirs.mp3", audiogen.sweep(4.0, seed=2), 44100, "mp3")
    TagFile(folder / "theirs.mp3").write(["Jazz"])
    return folder


@pytest.fixture()
def music(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "music"))


def test_a_new_model_updates_musictags_genre_and_restore_stays_exact(music, tmp_path):
    a, b = _head_model(tmp_path / "a", 1.0), _head_model(tmp_path / "b", -1.0)
    db = tmp_path / "library.db"
    first = scan([music], db, ScanOptions(model_dir=a, min_confidence=0.0, jobs=1))
    assert (first.tagged, first.kept) == (1, 1)
    wrote = read_genres(music / "ours.flac")
    assert len(wrote) == 1 and wrote[0].lower() in GENRES

    second = scan([music], db, ScanOptions(model_dir=b, min_confidence=0.0, jobs=1))
    assert (second.rescored, second.analysed) == (2, 0)  # nothing decoded
    assert (second.tagged, second.updated, second.kept) == (1, 1, 1)
    now = read_genres(music / "ours.flac")
    assert now != wrote and now[0].lower() in GENRES
    assert read_genres(music / "theirs.mp3") == ["Jazz"]  # the user's own genre: never touched

    report = restore(db=db)
    assert [r["path"] for r in report.restored] == [str(music / "ours.flac")]
    assert read_genres(music / "ours.flac") == []  # exactly as before musictag's first write
    assert read_genres(music / "theirs.mp3") == ["Jazz"]


def test_an_unsure_model_takes_musictags_genre_back(music, tmp_path):
    a, b = _head_model(tmp_path / "a", 1.0), _head_model(tmp_path / "b", -1.0)
    db = tmp_path / "library.db"
    scan([music], db, ScanOptions(model_dir=a, min_confidence=0.0, jobs=1))
    assert read_genres(music / "ours.flac")
    unsure = scan([music], db, ScanOptions(model_dir=b, min_confidence=0.9, jobs=1))
    assert (unsure.withdrawn, unsure.uncertain, unsure.tagged, unsure.kept) == (1, 1, 0, 1)
    assert read_genres(music / "ours.flac") == []
    assert read_genres(music / "theirs.mp3") == ["Jazz"]
    with Library(db) as lib:
        assert lib.backups() == {}  # nothing of musictag's left in the file: nothing to restore
        states = {Path(r.path).name: r.tag_state for r in lib.tracks()}
    assert states == {"ours.flac": "uncertain", "theirs.mp3": "kept"}  # unsure, but it has the user's own genre


def test_a_genre_edited_since_musictag_wrote_it_is_the_users(music, tmp_path):
    a, b = _head_model(tmp_path / "a", 1.0), _head_model(tmp_path / "b", -1.0)
    db = tmp_path / "library.db"
    scan([music], db, ScanOptions(model_dir=a, min_confidence=0.0, jobs=1))
    TagFile(music / "ours.flac").write(["Ambient"])  # the user's edit
    report = scan([music], db, ScanOptions(model_dir=b, min_confidence=0.0, jobs=1))
    assert (report.updated, report.withdrawn, report.tagged) == (0, 0, 0)
    assert read_genres(music / "ours.flac") == ["Ambient"]
    unsure = scan([music], db, ScanOptions(model_dir=a, min_confidence=0.9, jobs=1))
    assert unsure.withdrawn == 0 and read_genres(music / "ours.flac") == ["Ambient"]


def test_a_track_unlike_every_training_track_is_left_uncertain(music, tmp_path):
    db = tmp_path / "library.db"
    plain = _head_model(tmp_path / "plain", 1.0)
    scan([music], db, ScanOptions(model_dir=plain, write_tags=False, jobs=1))
    with Library(db) as lib:
        ids = {Path(r.path).name: r.id for r in lib.tracks()}
        ours = lib.embedding(ids["ours.flac"])
    # a reference that holds only the opposite of this track: it is as far from it as can be
    far = Familiarity(-ours[None, :], max_distance=0.5)
    assert nearest_distances(ours[None, :], far.reference)[0] > 1.9
    model = _head_model(tmp_path / "far", 1.0, far)
    report = scan([music / "ours.flac"], db, ScanOptions(model_dir=model, min_confidence=0.0, jobs=1))
    assert (report.uncertain, report.tagged) == (1, 0)
    assert report.uncertain_tracks[0]["unfamiliar"] is True
    assert read_genres(music / "ours.flac") == []
    listed = run_musictag("list", "--uncertain", "--db", str(db))
    line = next(x for x in listed.stdout.splitlines() if "ours.flac" in x)
    assert line.startswith("uncertain") and "unlike every track the model learned from" in line
    assert "style: " in line  # the backbone's strongest style tags, so the user sees why

    near = _head_model(tmp_path / "near", 1.0, Familiarity(ours[None, :], max_distance=0.5))
    tagged = scan([music / "ours.flac"], db, ScanOptions(model_dir=near, min_confidence=0.0, jobs=1))
    assert tagged.tagged == 1 and read_genres(music / "ours.flac")


@pytest.mark.parametrize(("field", "value", "words"), [
    ("recommended_min_confidence", "high", ["recommended_min_confidence"]),
    ("recommended_min_confidence", 1.5, ["recommended_min_confidence"]),
    ("genres", "ABCDEFG", ["genres"]),
    ("genres", [], ["genres"]),
    ("genres", ["rock", ""], ["genres"]),
    ("genres", ["rock", "rock"], ["genres"]),
    ("genres", None, ["genres"]),
])
def test_a_malformed_model_description_is_one_line(tmp_path, field, value, words):
    model = _head_model(tmp_path / "bad", 1.0)
    meta = json.loads((model / "model.json").read_text())
    meta[field] = value
    (model / "model.json").write_text(json.dumps(meta))
    clip = audiogen.write_audio(tmp_path / "clip.wav", audiogen.sweep(3.5), 22050, "wav")
    one_line_error(run_musictag("info", str(clip), "--model", str(model)), "model.json", *words)


def test_a_broken_familiarity_is_one_line(tmp_path):
    model = _head_model(tmp_path / "bad", 1.0, Familiarity(np.eye(200, dtype=np.float32)[:3], 0.3))
    (model / "reference.npz").write_bytes(b"PK\x03\x04 not a zip")
    clip = audiogen.write_audio(tmp_path / "clip.wav", audiogen.sweep(3.5), 22050, "wav")
    one_line_error(run_musictag("info", str(clip), "--model", str(model)), "reference.npz")
    meta = json.loads((model / "model.json").read_text())
    meta["familiarity"] = {"max_distance": "far"}
    (model / "model.json").write_text(json.dumps(meta))
    one_line_error(run_musictag("info", str(clip), "--model", str(model)), "familiarity")


def test_scan_help_reads_the_shipped_models_calibration():
    from musictag.shipped import DEFAULT_MODEL_NAME, shipped_models_dir

    meta = json.loads((shipped_models_dir() / DEFAULT_MODEL_NAME / "model.json").read_text())
    res = run_musictag("scan", "--help", env={"COLUMNS": "400"})
    assert res.returncode == 0
    text = " ".join(res.stdout.split())
    cal = meta["metrics"]["calibration"]
    assert f"{meta['recommended_min_confidence']:.3g} for the shipped model" in text
    assert f"{cal['precision']:.0%} of the tracks reaching it were right" in text
