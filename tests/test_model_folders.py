"""Model folders that cannot be used are refused in one line: damaged, missing or mismatched backbones, a
model.json of the wrong shape, head weights that are unreadable or score other genres than model.json names."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from musictag.analysis.backbone import BackboneInfo, shipped_models_dir
from musictag.analysis.models import ModelInfo
from musictag.errors import UsageError
from tests.cli_checks import one_line_error, run_musictag

SHIPPED = shipped_models_dir()


@pytest.fixture
def models(tmp_path: Path) -> Path:
    """A copy of the shipped head and its backbone, side by side, to damage."""
    for name in ("gtzan-musicnn", "musicnn-msd"):
        shutil.copytree(SHIPPED / name, tmp_path / name)
    return tmp_path


def test_copy_is_usable_and_uses_the_backbone_beside_it(models):
    info = ModelInfo.read(models / "gtzan-musicnn")
    assert info.backbone.dir == models / "musicnn-msd"


def test_damaged_backbone_is_refused(models):
    weights = models / "musicnn-msd" / "backbone.tflite"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(UsageError, match=r"backbone\.tflite: damaged or replaced"):
        BackboneInfo.read(models / "musicnn-msd")


def test_missing_backbone_file_is_refused(models):
    (models / "musicnn-msd" / "NOTICE").unlink()
    with pytest.raises(UsageError, match="NOTICE: backbone file missing"):
        ModelInfo.read(models / "gtzan-musicnn")


def test_head_for_another_backbone_is_refused(models):
    meta_path = models / "gtzan-musicnn" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta["backbone"]["sha256"] = "0" * 64
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(UsageError, match="trained on another musicnn-msd backbone"):
        ModelInfo.read(models / "gtzan-musicnn")


def test_unknown_backbone_name_is_refused(models):
    meta_path = models / "gtzan-musicnn" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta["backbone"]["name"] = "no-such-backbone"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(UsageError, match="backbone 'no-such-backbone' not found"):
        ModelInfo.read(models / "gtzan-musicnn")


def test_scan_with_a_damaged_backbone_says_so_in_one_line(models, tmp_path):
    (models / "musicnn-msd" / "manifest.json").write_text("{not json")
    music = tmp_path / "music"
    music.mkdir()
    res = subprocess.run([sys.executable, "-m", "musictag", "scan", str(music), "--db", str(tmp_path / "l.db"),
                          "--model", str(models / "gtzan-musicnn")], capture_output=True, text=True)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "manifest.json: unreadable backbone manifest" in lines[0], res.stderr
    assert "Traceback" not in res.stderr


def test_damaged_head_weights_are_refused_in_one_line(models, tmp_path):
    (models / "gtzan-musicnn" / "head.npz").write_bytes(b"PK\x03\x04 not really a zip")
    clip = tmp_path / "tone.wav"
    from tests import audiogen

    audiogen.write_audio(clip, audiogen.tone(440, 4.0), 22050, "wav", 1)
    res = subprocess.run([sys.executable, "-m", "musictag", "info", str(clip), "--model",
                          str(models / "gtzan-musicnn")], capture_output=True, text=True)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "head.npz: unreadable head weights" in lines[0], res.stderr


# --- model folders refused through `musictag scan`: one line naming the file and the field, exit 2 ---------------


@pytest.fixture(scope="module")
def tiny_music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of one 3 s WAV."""
    from tests import audiogen

    folder = tmp_path_factory.mktemp("tiny-music")
    audiogen.write_audio(folder / "tone.wav", audiogen.sweep(3.0, sr=22050), 22050, "wav", 1)
    return folder


def _edited_copy(name: str, where: Path, edit) -> Path:
    """A copy of the shipped model folder ``name`` in ``where``, its model.json replaced by ``edit(meta)``."""
    folder = where / name
    shutil.copytree(SHIPPED / name, folder)
    meta_path = folder / "model.json"
    meta_path.write_text(json.dumps(edit(json.loads(meta_path.read_text()))))
    return folder


def _without(field: str):
    return lambda meta: {k: v for k, v in meta.items() if k != field}


def _one_line(res: subprocess.CompletedProcess, *words: str) -> None:
    """``res`` exited 2 with one line on stderr, ``musictag: error: ...`` holding each of ``words``."""
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and "Traceback" not in res.stderr, (res.returncode, res.stderr)
    assert lines[0].startswith("musictag: error: ") and all(w in lines[0] for w in words), res.stderr


BAD_DESCRIPTIONS = {  # case: (edit of gtzan-musicnn's model.json, the field the line names)
    "threshold as text": (lambda m: {**m, "recommended_min_confidence": "high"}, "recommended_min_confidence"),
    "threshold above 1": (lambda m: {**m, "recommended_min_confidence": 1.5}, "recommended_min_confidence"),
    "a list": (lambda m: [], "a JSON object"),
    "null": (lambda m: None, "a JSON object"),
    "backbone as text": (lambda m: {**m, "backbone": "musicnn-msd"}, "backbone"),
    "backbone checksum a number": (lambda m: {**m, "backbone": {**m["backbone"], "sha256": 5}}, "backbone.sha256"),
    "no backbone": (_without("backbone"), "backbone"),
    "genres a number": (lambda m: {**m, "genres": 10}, "genres"),
    "genres missing": (_without("genres"), "genres"),
    "genres nested": (lambda m: {**m, "genres": [m["genres"]]}, "genres"),
    "genres one short of the head": (lambda m: {**m, "genres": m["genres"][:-1]}, "genres"),
    "genres one more than the head": (lambda m: {**m, "genres": [*m["genres"], "polka"]}, "genres"),
    "genres with an empty name": (lambda m: {**m, "genres": [*m["genres"][:-1], " "]}, "genres"),
    "genres repeated": (lambda m: {**m, "genres": [*m["genres"][:-1], m["genres"][0]]}, "genres"),
    "genres a text of ten letters": (lambda m: {**m, "genres": "ABCDEFGHIJ"}, "genres"),
    "name a number": (lambda m: {**m, "name": 7}, "name"),
    "head a list": (lambda m: {**m, "head": [m["head"]]}, "head"),
    "labels a list": (lambda m: {**m, "labels": ["library"]}, "labels"),
    "embedding_dim as text": (lambda m: {**m, "embedding_dim": "200"}, "embedding_dim"),
    "familiarity distance of 400 digits": (lambda m: {**m, "familiarity": {"max_distance": 10**400}},
                                           "familiarity.max_distance"),
}


@pytest.mark.parametrize("case", BAD_DESCRIPTIONS)
def test_scan_refuses_a_bad_model_description_in_one_line(case, tiny_music, tmp_path):
    edit, field = BAD_DESCRIPTIONS[case]
    model = _edited_copy("gtzan-musicnn", tmp_path, edit)
    res = run_musictag("scan", str(tiny_music), "--db", str(tmp_path / "l.db"), "--model", str(model), "--no-write")
    _one_line(res, str(model / "model.json"), field)


def test_scan_refuses_a_window_network_scoring_other_genres(tiny_music, tmp_path):
    """The 44-feature network's genres are checked against its LiteRT output, in the worker that loads it."""
    model = _edited_copy("gtzan-crnn", tmp_path, lambda m: {**m, "genres": m["genres"][:-1]})
    res = run_musictag("scan", str(tiny_music), "--db", str(tmp_path / "l.db"), "--model", str(model), "--no-write",
                       "-j", "1")
    one_line_error(res, str(model / "model.json"), "genres lists 9 names", "model.tflite scores 10")  # after "starting"


def test_a_broken_head_is_exit_2_on_a_fresh_scan_and_when_re_scoring(tiny_music, tmp_path):
    model = _edited_copy("gtzan-musicnn", tmp_path, lambda m: m)
    (model / "head.npz").write_bytes(b"PK\x03\x04 not really a zip")
    fresh = run_musictag("scan", str(tiny_music), "--db", str(tmp_path / "fresh.db"), "--model", str(model),
                         "--no-write")
    _one_line(fresh, "head.npz: unreadable head weights")
    db = str(tmp_path / "rescore.db")
    first = run_musictag("scan", str(tiny_music), "--db", db, "--no-write")  # the shipped model, same backbone
    assert first.returncode == 0, first.stderr
    _one_line(run_musictag("scan", str(tiny_music), "--db", db, "--model", str(model), "--no-write"),
              "head.npz: unreadable head weights")


def test_a_remembered_model_broken_since_is_named_with_the_way_back(tiny_music, tmp_path):
    model = _edited_copy("gtzan-musicnn", tmp_path, lambda m: m)
    db = str(tmp_path / "l.db")
    good = run_musictag("scan", str(tiny_music), "--db", db, "--model", str(model), "--no-write")
    assert good.returncode == 0, good.stderr
    meta_path = model / "model.json"
    meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "recommended_min_confidence": "high"}))
    res = run_musictag("scan", str(tiny_music), "--db", db, "--no-write")
    _one_line(res, f"the model at {model}", "recommended_min_confidence", "--model default")
    back = run_musictag("scan", str(tiny_music), "--db", db, "--no-write", "--model", "default")
    assert back.returncode == 0, back.stderr
