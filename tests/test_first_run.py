"""The first run after an install (issue 25 item 8): a model computed with librosa waits for numba to
compile librosa's kernels once; the scan says so in one line before the wait, only that time, and the
shipped model, which never imports librosa, pays nothing and says nothing.

A fresh install is an empty ``$NUMBA_CACHE_DIR`` (numba's first place for its cache)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from musictag.analysis.librosa_warmup import NOTICE
from musictag.shipped import shipped_models_dir
from tests.audiogen import tone, write_audio
from tests.cli_checks import run_musictag

LINE = f"musictag: {NOTICE}"


@pytest.fixture
def fresh(tmp_path: Path) -> dict:
    """A folder of two short tracks and an empty numba cache."""
    music = tmp_path / "music"
    music.mkdir()
    for i in range(2):
        write_audio(music / f"t{i}.wav", tone(220 + 110 * i, 6), 22050, "wav")
    cache = tmp_path / "numba"
    cache.mkdir()
    return {"music": music, "db": tmp_path / "library.db", "env": {"NUMBA_CACHE_DIR": str(cache)}, "cache": cache}


def _missing(env: dict) -> list[str]:
    code = "import json, musictag.analysis.librosa_warmup as w; print(json.dumps(w.missing_kernels()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}).stdout
    return json.loads(out)


def test_the_shipped_model_never_compiles_librosa(fresh) -> None:
    res = run_musictag("scan", str(fresh["music"]), "--db", str(fresh["db"]), "--no-write", env=fresh["env"])
    assert res.returncode == 0, res.stderr
    assert LINE not in res.stderr
    assert not list(fresh["cache"].rglob("*.nbi"))  # numba cached nothing: nothing was compiled


@pytest.mark.slow
def test_a_librosa_model_says_its_first_run_once(fresh) -> None:
    assert _missing(fresh["env"])  # the fresh install: nothing compiled
    model = shipped_models_dir() / "gtzan-crnn"  # the first version's network on the 44 features
    args = ("scan", str(fresh["music"]), "--no-write", "--jobs", "2", "--model", str(model))
    first = run_musictag(*args, "--db", str(fresh["db"]), env=fresh["env"])
    assert first.returncode == 0, first.stderr
    lines = first.stderr.splitlines()
    assert lines.count(LINE) == 1 and lines.index(LINE) < lines.index("musictag: analysing 2 tracks")
    assert _missing(fresh["env"]) == []  # compiled (by the workers) and cached
    again = run_musictag(*args, "--db", str(fresh["db"].with_name("second.db")), env=fresh["env"])  # all analysed again
    assert again.returncode == 0 and "analysing 2 tracks" in again.stderr and LINE not in again.stderr, again.stderr
