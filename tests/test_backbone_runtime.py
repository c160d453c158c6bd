"""What runs the backbone: OpenVINO where it works, LiteRT otherwise (one line says why), the precision
chosen on purpose, both reported, and the library's model id the same whichever ran."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from tests import audiogen
from tests.cli_checks import one_line_error, run_musictag


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    return audiogen.write_audio(folder / "clip.flac", audiogen.sweep(4.0, seed=4), 44100, "flac")


def test_info_says_which_runtime_and_precision_ran(clip):
    res = run_musictag("info", str(clip), "--json", env={"MUSICTAG_RUNTIME": "", "MUSICTAG_PRECISION": ""})
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["runtime"] == {"runtime": "openvino", "precision": "f32", "note": None}
    res = run_musictag("info", str(clip), "--json", env={"MUSICTAG_RUNTIME": "litert"})
    assert json.loads(res.stdout)["runtime"]["runtime"] == "litert"


def test_a_broken_openvino_falls_back_to_litert_in_one_line(clip, tmp_path):
    broken = tmp_path / "site" / "openvino"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('libopenvino.so.2026: cannot open shared object file')\n")
    res = run_musictag("info", str(clip), "--json", env={"PYTHONPATH": str(tmp_path / "site")})
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert json.loads(res.stdout)["runtime"]["runtime"] == "litert"
    lines = [line for line in res.stderr.splitlines() if "OpenVINO" in line]
    assert len(lines) == 1 and "cannot open shared object file" in lines[0] and "LiteRT" in lines[0]


def test_a_precision_or_runtime_that_does_not_exist_is_one_line(clip):
    one_line_error(run_musictag("info", str(clip), env={"MUSICTAG_PRECISION": "fp8"}), "MUSICTAG_PRECISION", "fp8")
    one_line_error(run_musictag("info", str(clip), env={"MUSICTAG_RUNTIME": "cuda"}), "MUSICTAG_RUNTIME", "cuda")


def test_the_model_id_does_not_change_with_the_runtime(clip, tmp_path, monkeypatch):
    db = tmp_path / "library.db"
    monkeypatch.setenv("MUSICTAG_RUNTIME", "litert")
    first = scan([clip.parent], db, ScanOptions(write_tags=False, jobs=1))
    assert first.analysed == 1 and first.runtime == "litert f32"
    monkeypatch.setenv("MUSICTAG_RUNTIME", "openvino")
    again = scan([clip.parent], db, ScanOptions(write_tags=False, jobs=1))
    assert (again.analysed, again.rescored, again.skipped) == (0, 0, 1)  # a rescan re-analyses nothing
    # the workers follow this scan's choice, not the environment the fork server started under (litert)
    audiogen.write_audio(clip.parent / "new.wav", audiogen.sweep(3.5, seed=5), 22050, "wav")
    new = scan([clip.parent], db, ScanOptions(write_tags=False, jobs=1))
    assert new.analysed == 1 and new.runtime == "openvino f32"
