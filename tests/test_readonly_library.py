"""A library in a place that cannot be written (a read-only share): reading commands work, writing ones say why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from musictag.library.database import Library
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from tests import audiogen
from tests.cli_checks import run_musictag

ROOT = os.geteuid() == 0


def _prefix() -> list[str]:
    """Root writes anywhere: drop the capabilities that allow it, so the read-only folder is real."""
    if not ROOT:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: a read-only folder cannot be tested")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


def _musictag(*args: str) -> subprocess.CompletedProcess:
    return run_musictag(*args, prefix=_prefix())


@pytest.fixture
def readonly_library(tmp_path: Path):
    music = tmp_path / "music"
    music.mkdir()
    for i in range(4):
        audiogen.write_audio(music / f"t{i}.flac", audiogen.sweep(4.0, seed=i), 22050, "flac", 1)
    share = tmp_path / "share"
    share.mkdir()
    db = share / "library.db"
    scan([music], db, ScanOptions(min_confidence=1.0, jobs=1))
    with Library(db) as library:  # the index no longer matches: it would need a rebuild
        library.db.execute("UPDATE meta SET value = '99' WHERE key = 'index_generation'")
    for p in share.iterdir():
        p.chmod(0o444)
    share.chmod(0o555)
    yield db, music
    share.chmod(0o755)


def test_reading_commands_work(readonly_library):
    db, music = readonly_library
    for command in (["stats"], ["errors"]):
        res = _musictag(*command, "--db", str(db))
        assert res.returncode == 0, (command, res.stderr)
    res = _musictag("similar", str(music / "t0.flac"), "--db", str(db), "-n", "2", "--json")
    assert res.returncode == 0, res.stderr
    assert "searching an index built in memory" in res.stderr
    assert len(json.loads(res.stdout)) == 2
    res = _musictag("index", "--db", str(db))
    assert res.returncode == 0, res.stderr
    assert "cannot be written here: not rebuilt" in res.stderr and "out of date" in res.stdout


@pytest.mark.parametrize("command", [["scan", "{music}"], ["restore"], ["index", "--rebuild"]])
def test_writing_commands_say_the_place_is_read_only(readonly_library, command):
    db, music = readonly_library
    res = _musictag(*[c.format(music=music) for c in command], "--db", str(db))
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "cannot be written here" in lines[0] or "a place musictag cannot write" in lines[0], res.stderr
    assert "Traceback" not in res.stderr
