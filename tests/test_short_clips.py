"""Short files (issue 25 item 2): a clip shorter than one 3 s patch is never tagged, is left out of `similar`'s
results (it can still be a seed), and `info` shows its windows within its real length. Real files in real formats
through the real CLI and the shipped model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from musictag.analysis.duration_floor import MIN_TAG_SECONDS, too_short
from musictag.library.rows import TrackRow
from musictag.scan.plan import PlanRules
from musictag.scan.tag_decision import decide_tag, genre_choice
from tests import audiogen
from tests.cli_checks import run_musictag

SHORT = ("flac", "mp3", "ogg", "wav")


def _drum_hit(seconds: float, sr: int = 44100, seed: int = 0) -> np.ndarray:
    """A noise burst with a fast decay and a low thump: a one-shot sample."""
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    y = 0.6 * rng.standard_normal(len(t)) * np.exp(-t * 30) + 0.8 * np.sin(2 * np.pi * 60 * t) * np.exp(-t * 12)
    return np.clip(y, -1, 1).astype(np.float32)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("short")
    music = root / "music"
    (music / "Samples").mkdir(parents=True)
    for i, fmt in enumerate(SHORT):
        audiogen.write_audio(music / "Samples" / f"hit{i}{audiogen.FORMATS[fmt][0]}", _drum_hit(1.0, seed=i), 44100,
                             fmt)
    for i in range(3):
        audiogen.write_audio(music / f"song{i}.flac", audiogen.sweep(8.0, seed=10 + i), 44100, "flac")
    db = root / "lib.db"
    # --min-confidence 0: every track long enough is tagged, so only the length can leave the clips untagged
    res = run_musictag("scan", str(music), "--db", str(db), "--min-confidence", "0", "--json")
    return {"music": music, "db": db, "scan": res, "report": json.loads(res.stdout)}


def test_a_one_second_clip_is_never_tagged_and_says_why(library):
    res, report = library["scan"], library["report"]
    assert res.returncode == 0, res.stderr
    assert report["tagged"] == 3 and report["uncertain"] == 4 and report["too_short"] == 4
    why = {Path(t["path"]).name: t["why"] for t in report["uncertain_tracks"]}
    assert set(why) == {f"hit{i}{audiogen.FORMATS[f][0]}" for i, f in enumerate(SHORT)}
    assert all(w == f"shorter than {MIN_TAG_SECONDS:g} s: too short to tell its genre" for w in why.values())
    for clip in (library["music"] / "Samples").iterdir():
        assert audiogen.raw_genres(clip) is None, clip  # nothing written into the file
    for i in range(3):
        assert audiogen.raw_genres(library["music"] / f"song{i}.flac")
    listed = run_musictag("list", "--db", str(library["db"]), "--uncertain")
    lines = [line for line in listed.stdout.splitlines() if line.startswith("uncertain")]
    assert len(lines) == 4 and all("too short to tell its genre" in line for line in lines), listed.stdout
    text = run_musictag("scan", str(library["music"]), "--db", str(library["db"]), "--min-confidence", "0",
                        "--dry-run")
    assert text.returncode == 0 and "skipped, unchanged" in text.stdout  # a rescan does not tag them either
    assert not any(line.startswith("would tag") for line in text.stdout.splitlines())


def test_similar_leaves_short_clips_out_and_a_short_seed_still_works(library):
    db, music = str(library["db"]), library["music"]
    res = run_musictag("similar", str(music / "song0.flac"), "--db", db, "--json")
    assert res.returncode == 0, res.stderr
    found = [Path(m["path"]).name for m in json.loads(res.stdout)]
    assert sorted(found) == ["song1.flac", "song2.flac"]  # the four clips never, though they are in the library
    res = run_musictag("similar", str(music / "Samples" / "hit0.flac"), "--db", db, "--json")
    assert res.returncode == 0, res.stderr
    assert sorted(Path(m["path"]).name for m in json.loads(res.stdout)) == ["song0.flac", "song1.flac", "song2.flac"]
    assert "is 1.0 s long, shorter than 3 s" in res.stderr


def test_info_windows_end_at_the_end_of_a_short_file(library):
    clip = library["music"] / "Samples" / "hit3.wav"
    res = run_musictag("info", str(clip), "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["duration"] == pytest.approx(1.0, abs=0.01)
    assert [(w["start"], w["end"]) for w in out["windows"]] == [(0.0, pytest.approx(1.0, abs=0.01))]
    text = run_musictag("info", str(clip)).stdout
    assert "00:00.0-00:01.0" in text and "00:03" not in text
    assert "shorter than 3 s: too short to tell its genre: scan leaves it uncertain" in text


def test_a_short_track_musictag_tagged_before_is_decided_again_and_put_back():
    rules = PlanRules(model_id="m1", backbone_id="b1", min_confidence=0.99)
    row = TrackRow(id=1, path="/m/hit.wav", status="ok", model_id="m1", tag_state="written", duration=1.0,
                   confidence=1.0)
    assert rules.wants_retag(row)
    assert not rules.wants_retag(replace(row, duration=3.0))
    chosen, state = genre_choice({"jazz": 1.0, "rock": 0.0}, 0.99, 1, True, 1.0)
    assert (chosen, state) == ([], "short")
    assert decide_tag(["Jazz"], chosen, ours=True, overwrite=False).action == "withdraw"
    assert decide_tag(["Jazz"], chosen, ours=False, overwrite=False).action == "keep"  # the user's own stays
    assert genre_choice({"jazz": 1.0, "rock": 0.0}, 0.99, 1, True, 2.98) == (["jazz"], "uncertain")  # one patch
    assert too_short(2.9) and not too_short(None)
