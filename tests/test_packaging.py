"""A non-editable install carries the shipped model and the split lists."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Every package of the source tree (folders with an __init__.py under musictag/, models/ aside): all must ship.
_PACKAGES = sorted(str(p.parent.relative_to(ROOT / "musictag")) for p in (ROOT / "musictag").rglob("__init__.py")
                   if p.parent != ROOT / "musictag")


def test_wheel_contains_the_default_model_and_split_lists(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, cwd=tmp_path)
    wheel = next(tmp_path.glob("musictag-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("musictag/models/genres-musicnn/head.npz", "musictag/models/genres-musicnn/model.json",
                 "musictag/models/genres-musicnn/reference.npz", "musictag/models/genres-musicnn/heldout.json",
                 "musictag/models/gtzan-musicnn/head.npz", "musictag/models/gtzan-musicnn/model.json",
                 "musictag/models/musicnn-msd/backbone.tflite", "musictag/models/musicnn-msd/manifest.json",
                 "musictag/models/musicnn-msd/LICENSE", "musictag/models/musicnn-msd/NOTICE",
                 "musictag/models/gtzan-crnn/model.tflite", "musictag/models/gtzan-crnn/model.json",
                 "musictag/data/gtzan-split/train_filtered.txt", "musictag/cli/__init__.py",
                 *(f"musictag/{package}/__init__.py" for package in _PACKAGES)):
        assert name in names, name
    assert "musictag/models/gtzan-crnn/model.keras" in names  # for further training
    # the beets plugin, in beets' namespace package: no __init__.py, which would hide beets' own plugins
    assert "beetsplug/musictag.py" in names and "beetsplug/__init__.py" not in names
    assert not any(name.startswith("musictag/") and name.count("/") == 1 and name.endswith(".py")
                   and name[len("musictag/"):-3] in {"cli", "scan", "audio", "library", "tags"} for name in names)


def test_default_model_is_found_without_flags():
    from musictag.analysis.models import HeadModel, load_model

    model = load_model()
    assert isinstance(model, HeadModel)
    assert model.dir.name == "genres-musicnn"
    assert model.info.backbone.name == "musicnn-msd"
    assert "electronic" in model.genres and len(model.genres) == 11  # GTZAN's ten and Electronic
    assert model.info.familiarity is not None
