"""`musictag evaluate` and `musictag info` with the shipped model, on real audio."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from musictag.cli import cli
from tests import audiogen
from tests.cli_checks import one_line_error, run_musictag

GTZAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan-mini"


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Path:
    if not GTZAN.is_dir():
        pytest.skip("../shared/data/gtzan-mini is not here")
    root = tmp_path_factory.mktemp("labelled")
    for genre in ("classical", "metal", "reggae"):
        (root / genre).mkdir()
        shutil.copy(GTZAN / genre / f"{genre}.00000.wav", root / genre)
    (root / "polka").mkdir()  # a label the model does not know: skipped with a reason
    audiogen.write_audio(root / "polka" / "p.wav", audiogen.sweep(3.0), 22050, "wav", 1)
    return root


def test_evaluate_json_has_the_promised_keys(labelled):
    res = CliRunner().invoke(cli, ["evaluate", str(labelled), "--json"])
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    for key in ("track_accuracy", "segment_accuracy", "per_genre", "confusion", "genres", "n_tracks"):
        assert key in m
    assert m["n_tracks"] == 3
    assert len(m["confusion"]) == len(m["genres"]) == 11  # GTZAN's ten and electronic
    assert m["left_out"] == [{"folder": "polka", "tracks": 1}] and m["n_left_out"] == 1 and m["skipped"] == []


def test_evaluate_reads_folders_whatever_their_case_and_punctuation(tmp_path):
    for i, name in enumerate(["Rock", "Rock", "HipHop", "Hip-Hop", "Polka", "Polka"]):
        (tmp_path / name).mkdir(exist_ok=True)
        audiogen.write_audio(tmp_path / name / f"t{i}.wav", audiogen.sweep(3.0, seed=i), 22050, "wav", 1)
    res = CliRunner().invoke(cli, ["evaluate", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert m["n_tracks"] == 4 and m["n_left_out"] == 2 and m["left_out"] == [{"folder": "Polka", "tracks": 2}]
    assert m["folders"] == {"Hip-Hop": "hiphop", "HipHop": "hiphop", "Polka": None, "Rock": "rock"}
    assert sum(m["per_genre"][g]["support"] for g in ("rock", "hiphop")) == 4
    res = CliRunner().invoke(cli, ["evaluate", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert res.stderr.splitlines()[-1] == "left out folder Polka (2 tracks): no genre of this model"
    assert res.stdout.splitlines()[0].endswith("(4 tracks; 2 tracks more left out: 1 folder naming no genre of "
                                               "the model)")
    (tmp_path / "Rock").rename(tmp_path / "Polka2")
    for name in ("HipHop", "Hip-Hop"):
        shutil.rmtree(tmp_path / name)
    one_line_error(run_musictag("evaluate", str(tmp_path)), "no folder names a genre of this model (folders: Polka, "
                   "Polka2; the model's genres: blues, classical")


def test_evaluate_works_with_a_window_network_too(labelled):
    from musictag.analysis.backbone import shipped_models_dir

    windows = shipped_models_dir() / "gtzan-crnn"
    res = CliRunner().invoke(cli, ["evaluate", str(labelled), "--json", "--model", str(windows)])
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert m["n_tracks"] == 3 and m["model"].startswith("gtzan-crnn-")
    assert m["n_segments"] > m["n_tracks"]  # 5 s windows, several per clip


def test_evaluate_text_puts_track_accuracy_first(labelled):
    res = CliRunner().invoke(cli, ["evaluate", str(labelled)])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0].startswith("track accuracy")


def test_info_lists_genres_and_windows_over_time(labelled):
    clip = labelled / "metal" / "metal.00000.wav"
    res = CliRunner().invoke(cli, ["info", str(clip), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    scores = [g["score"] for g in info["genres"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    starts = [w["start"] for w in info["windows"]]
    assert starts == sorted(starts) and starts[0] == 0.0
    assert all(abs(w["end"] - w["start"] - 2.992) < 1e-6 for w in info["windows"])  # 3 s patches of the backbone
    assert info["current_genre_tag"] == []
    tags = info["style_tags"]
    assert len(tags) == 5 and [t["score"] for t in tags] == sorted((t["score"] for t in tags), reverse=True)
    assert {"rock", "metal", "hard rock", "heavy metal"} & {t["tag"] for t in tags}  # a metal clip sounds like one


def test_info_text_shows_style_tags(labelled):
    res = CliRunner().invoke(cli, ["info", str(labelled / "classical" / "classical.00000.wav")])
    assert res.exit_code == 0, res.output
    line = next(s for s in res.stdout.splitlines() if s.startswith("style tags: "))
    assert len(line.split(", ")) == 5


def test_info_with_a_window_network_has_no_style_tags(labelled):
    from musictag.analysis.backbone import shipped_models_dir

    clip = labelled / "metal" / "metal.00000.wav"
    res = CliRunner().invoke(cli, ["info", str(clip), "--json", "--model", str(shipped_models_dir() / "gtzan-crnn")])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["style_tags"] == [] and all(w["end"] - w["start"] == 5.0 for w in info["windows"])


def test_info_on_a_bad_file_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "notes.mp3"
    bad.write_text("not audio")
    res = subprocess.run([sys.executable, "-m", "musictag", "info", str(bad)], capture_output=True, text=True)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [f"musictag: error: {bad}: not an audio file: it holds text"]  # as scan
