"""Model folders that cannot be used are refused in one line: damaged, missing or mismatched backbones."""

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
