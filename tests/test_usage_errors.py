"""Every wrong command line gets musictag's one error style, ``musictag: error: <what>`` on one line
and exit 2, whether click noticed it (a bad value, a missing argument, an unknown option) or musictag did."""

from __future__ import annotations

import pytest

from tests.cli_checks import one_line_error, run_musictag

CASES = {
    "bad value": (["scan", ".", "--min-confidence", "2"], ["--min-confidence", "2"]),
    "not a number": (["scan", ".", "--jobs", "many"], ["--jobs", "many"]),
    "missing argument": (["scan"], ["missing argument", "DIRS"]),
    "unknown option": (["stats", "--bogus"], ["no such option", "--bogus"]),
    "unknown command": (["scna"], ["no such command", "scna"]),
    "extra argument": (["stats", "surplus"], ["unexpected extra argument", "surplus"]),
    "no model folder": (["scan", ".", "--model", "no-such-model"], ["--model", "no model folder at no-such-model"]),
    "bad choice": (["train", ".", "--head", "nope", "--out", "m"], ["--head", "nope"]),
}


@pytest.mark.parametrize("case", CASES)
def test_every_usage_error_is_one_musictag_line(case: str, tmp_path) -> None:
    args, words = CASES[case]
    res = run_musictag(*args, "--db", str(tmp_path / "lib.db"), cwd=tmp_path, timeout=120)
    one_line_error(res, *words)
    assert "Usage:" not in res.stderr and "Error:" not in res.stderr, res.stderr
    assert len(res.stderr.splitlines()) == 1, res.stderr
    assert not (tmp_path / "lib.db").exists()


def test_train_without_out_is_refused_and_writes_no_model_folder_here(tmp_path) -> None:
    (tmp_path / "rock").mkdir()
    res = run_musictag("train", str(tmp_path), cwd=tmp_path, timeout=120)
    one_line_error(res, "give --out FOLDER: where to write the model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rock"]


def test_no_command_still_shows_the_help() -> None:
    res = run_musictag(timeout=120)
    assert "Commands:" in res.stdout + res.stderr and "musictag: error" not in res.stderr
