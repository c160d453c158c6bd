"""What a long command prints while it works when its stderr is redirected (issue 25 item 8): a stage
over many tracks says how far it is every tenth or half-minute, never a line per track, and ``map``
names its stages, UMAP's projection among them."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from musictag.cli.common import Pacer, StageProgress
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from tests.audiogen import sweep, tone, write_audio
from tests.cli_checks import run_musictag

SR = 22050


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _run(total: int, seconds_each: float) -> None:
    clock = Clock()
    with StageProgress(total, "features", clock=clock) as bar:
        for _ in range(total):
            clock.now += seconds_each
            bar.update()


def test_a_long_stage_says_how_far_it_is_every_tenth(capsys) -> None:
    _run(700, 0.2)  # 140 s: a tenth every 14 s
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "musictag: features: 700 tracks" and err[-1] == "musictag: features: 700 done in 140 s"
    assert err[1:-1] == [f"musictag: features: {70 * k}/700 tracks, {14 * k} s" for k in range(1, 10)]


def test_a_quick_stage_is_two_lines_and_a_slow_one_a_line_each_half_minute(capsys) -> None:
    _run(5000, 0.0005)  # 2.5 s in all: the tenths come too fast to be worth a line
    assert len(capsys.readouterr().err.splitlines()) == 2
    _run(4, 40.0)  # each track longer than the half-minute
    err = capsys.readouterr().err.splitlines()
    assert err[1:-1] == ["musictag: features: 1/4 tracks, 40 s", "musictag: features: 2/4 tracks, 80 s",
                         "musictag: features: 3/4 tracks, 120 s"]


def test_training_features_report_progress_when_redirected(tmp_path, capsys, monkeypatch) -> None:
    """The real stage: features of ten synthesised tracks through the trainer, as ``musictag train``
    drives it (the gap between lines shortened so that a test's few seconds show them)."""
    from musictag.training.config import TrainConfig
    from musictag.training.from_folder import Trainer

    for i in range(10):
        folder = tmp_path / "tree" / ("low" if i % 2 else "high")
        folder.mkdir(parents=True, exist_ok=True)
        write_audio(folder / f"t{i}.wav", tone(220 * (1 + i % 2) + 10 * i, 4), SR, "wav")
    monkeypatch.setattr(Pacer, "MIN_GAP_S", 0.0)
    trainer = Trainer(TrainConfig(input="musicnn", head="linear", augment=()), log=lambda _: None)
    with StageProgress(10, "features") as bar:
        fs = trainer.load(tmp_path / "tree", None, progress=lambda _: bar.update())
    assert len(fs.tracks) == 10
    err = capsys.readouterr().err.splitlines()
    assert [line.rsplit(",", 1)[0] for line in err[1:-1]] == [f"musictag: features: {k}/10 tracks"
                                                            for k in range(1, 10)]


@pytest.mark.slow
def test_a_redirected_map_names_its_stages(tmp_path) -> None:
    pytest.importorskip("umap")
    music = tmp_path / "music"
    music.mkdir()
    for i in range(6):
        write_audio(music / f"s{i}.flac", sweep(4, SR, seed=i), SR, "flac")
    db = tmp_path / "library.db"
    assert scan([music], db, ScanOptions(jobs=1, write_tags=False)).analysed == 6
    out = tmp_path / "map.html"
    res = run_musictag("map", "--db", str(db), "--out", str(out))
    assert res.returncode == 0 and Path(out).is_file(), res.stderr
    stages = [line for line in res.stderr.splitlines() if line.startswith("musictag: map: ")]
    assert [line.split(":")[2].split()[0] for line in stages] == ["reading", "projecting", "projected"]
    assert "with UMAP (this takes a while" in stages[1] and stages[2].endswith(f"drawing {out}")


def test_a_redirected_scan_says_how_far_its_analysis_is(capsys, monkeypatch) -> None:
    cli_scan = importlib.import_module("musictag.cli.scan")  # the module (musictag.cli.scan is also the command)
    clock = Clock()
    monkeypatch.setattr(cli_scan.time, "monotonic", clock)
    with cli_scan._progress_bar() as progress:
        progress("finding", 0, 0)
        progress("starting", 0, 100)
        for done in range(101):
            progress("analysing", done, 100)
            clock.now += 1.0
    err = capsys.readouterr().err.splitlines()
    assert err == ["musictag: starting 100 tracks", "musictag: analysing 100 tracks",
                   *(f"musictag: analysing: {10 * k}/100 tracks, {10 * k} s" for k in range(1, 10))]
