"""``musictag similar`` as a playlist maker: several seeds, a playlist as seeds, copies once, a smooth
order, a length in minutes; over a real library of two clusters of synthesised sound (tones, noise)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from musictag.library import ordering
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from tests.audiogen import tone, write_audio
from tests.test_similar import SR, run_cli

TONES = [f"tones/t{f}.flac" for f in (200, 300, 400, 500, 600)]
NOISE = [f"noise/n{s}.flac" for s in range(5)]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Five tones, five noises, a copy of t300 and of t200 under other names, and a silent file, scanned:
    ``(db, music folder)``."""
    root = tmp_path_factory.mktemp("playlists")
    music = root / "music"
    for folder in ("tones", "noise", "copies"):
        (music / folder).mkdir(parents=True)
    for name in TONES:
        write_audio(music / name, tone(int(Path(name).stem[1:]), 6), SR, "flac")
    for seed, name in enumerate(NOISE):
        noise = np.random.default_rng(seed).normal(0, 0.1 + 0.03 * seed, SR * 6).astype(np.float32)
        write_audio(music / name, noise, SR, "flac")
    shutil.copyfile(music / "tones/t300.flac", music / "copies/t300-again.flac")
    shutil.copyfile(music / "tones/t200.flac", music / "copies/t200-copy.flac")
    write_audio(music / "silent.wav", np.zeros(SR * 6, np.float32), SR, "wav")
    report = scan([music], root / "library.db", ScanOptions(jobs=1))
    assert (report.analysed, report.silent, report.failed) == (13, 1, 0), report.errors
    return root / "library.db", music


def _similar(library: tuple[Path, Path], args: list, capsys, monkeypatch) -> list[dict]:
    """The JSON rows of ``musictag similar ARGS --json`` on the library (exit 0)."""
    code, out, err = run_cli(["similar", *args, "--db", library[0], "--json"], capsys, monkeypatch)
    assert code == 0, err
    return json.loads(out)


def _names(rows: list[dict], music: Path) -> list[str]:
    return [Path(r["path"]).relative_to(music).as_posix() for r in rows]


def test_several_seeds_give_tracks_like_each_never_a_seed(library, capsys, monkeypatch) -> None:
    music = library[1]
    seeds = [music / TONES[0], music / NOISE[0]]
    names = _names(_similar(library, [*seeds, "-n", "4"], capsys, monkeypatch), music)
    assert len(names) == 4 and not {TONES[0], NOISE[0], "copies/t200-copy.flac"} & set(names)
    assert sum(n in NOISE for n in names) == 2, names  # two of each: each seed in turn adds its nearest
    mean = _names(_similar(library, [*seeds, "-n", "4", "--combine", "mean"], capsys, monkeypatch), music)
    assert len(mean) == 4 and not {TONES[0], NOISE[0], "copies/t200-copy.flac"} & set(mean)


def test_copies_of_one_recording_appear_once_and_a_seeds_copy_never(library, capsys, monkeypatch) -> None:
    music = library[1]
    names = _names(_similar(library, [music / TONES[4], "-n", "50"], capsys, monkeypatch), music)
    assert len(names) == len(set(names)) == 9  # 12 analysed, less the seed and one of each pair of copies
    assert sum(n in ("tones/t300.flac", "copies/t300-again.flac") for n in names) == 1
    assert sum(n in ("tones/t200.flac", "copies/t200-copy.flac") for n in names) == 1
    names = _names(_similar(library, [music / "copies/t200-copy.flac", "-n", "50"], capsys, monkeypatch), music)
    assert len(names) == 9 and not {"tones/t200.flac", "copies/t200-copy.flac"} & set(names)


def test_a_playlist_as_seeds_relative_entries_and_missing_ones(library, tmp_path, capsys, monkeypatch) -> None:
    music = library[1]
    lists = tmp_path / "lists"
    lists.mkdir()
    playlist = lists / "mine.m3u8"
    relative = os.path.relpath(music / TONES[0], lists)
    playlist.write_bytes("\n".join(["\ufeff#EXTM3U", "#EXTINF:6,first", relative, "", "# a comment",
                                    str(music / NOISE[0]), "gone.flac", "\x1b[31mred.flac", "http://host/x.mp3",
                                    relative]).encode() + b"\r\n")
    monkeypatch.chdir(tmp_path)  # relative entries are read from the playlist's folder, not from here
    out = tmp_path / "more.m3u8"
    code, stdout, err = run_cli(["similar", "--from-playlist", playlist, "-n", "4", "--db", library[0], "--json",
                                 "--m3u", out], capsys, monkeypatch)
    assert code == 0, err
    names = _names(json.loads(stdout), music)
    assert len(names) == 4 and sum(n in NOISE for n in names) == 2 and TONES[0] not in names
    skipped = err.strip().splitlines()
    assert len(skipped) == 3, err
    assert "line 7 (no such file): gone.flac" in skipped[0] and "\\x1b[31mred.flac" in skipped[1]
    assert "\x1b" not in err and "line 9 (not a local file)" in skipped[2]
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[2::2] == [str(music / TONES[0]), str(music / NOISE[0]), *[str(music / n) for n in names]]
    assert lines[1] == "#EXTINF:6,t200"


def test_order_path_steps_shorter_than_the_ranked_list(library, capsys, monkeypatch) -> None:
    music = library[1]
    seeds = [music / TONES[0], music / NOISE[0]]
    ranked = _similar(library, [*seeds, "-n", "8"], capsys, monkeypatch)
    path = _similar(library, [*seeds, "-n", "8", "--order", "path"], capsys, monkeypatch)
    assert sorted(r["track_id"] for r in path) == sorted(r["track_id"] for r in ranked)
    assert [r["rank"] for r in path] == list(range(1, 9))
    mean_path, mean_ranked = np.mean([r["step"] for r in path]), np.mean([r["step"] for r in ranked])
    assert mean_path < mean_ranked / 2, (mean_path, mean_ranked)
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run_cli(["similar", *seeds, "-n", "8", "--order", "path", "--db", library[0]], capsys, monkeypatch)
    assert code == 0 and f"mean step {mean_path:.3f} (path order)" in out and "step" in out


def test_smooth_order_is_a_permutation_never_longer_than_the_order_given() -> None:
    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 5, 40):
        vectors = rng.normal(size=(n, 16)).astype(np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        start = vectors[0] if n else rng.normal(size=16).astype(np.float32)
        order = ordering.smooth_order(start, vectors)
        assert sorted(order) == list(range(n))
        assert ordering.steps(start, vectors[order]).sum() <= ordering.steps(start, vectors).sum() + 1e-6


def test_minutes_stop_at_the_track_that_reaches_them(library, tmp_path, capsys, monkeypatch) -> None:
    music = library[1]
    out = tmp_path / "quarter.m3u8"
    rows = _similar(library, [music / TONES[0], "--minutes", "0.25", "--m3u", out], capsys, monkeypatch)
    assert [r["duration"] for r in rows] == [6.0, 6.0, 6.0]  # 12 s < 15 s, 18 s reaches it
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 9 and all(line.startswith("#EXTINF:6,") for line in lines[1::2])
    assert len(_similar(library, [music / TONES[0], "--minutes", "0.25", "--length", "2"], capsys, monkeypatch)) == 2
    assert len(_similar(library, [music / TONES[0], "--minutes", "60"], capsys, monkeypatch)) == 9  # every one, not 10


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("args, words", [
    (lambda m, t: [m / TONES[0], t / "gone.mp3"], "no such file or folder"),
    (lambda m, t: [], "give a seed"),
    (lambda m, t: ["--from-playlist", t / "none.m3u"], "no such playlist"),
    (lambda m, t: ["--from-playlist", t], "cannot read the playlist"),
    (lambda m, t: ["--from-playlist", _write(t / "empty.m3u", b"#EXTM3U\n#EXTINF:3,x\n\n")], "an empty playlist"),
    (lambda m, t: ["--from-playlist", _write(t / "gone.m3u", b"gone.mp3\n")], "none of its 1 entries is a file"),
    (lambda m, t: ["--from-playlist", _write(t / "bin.m3u", b"ID3\x00\x00binary")], "not a text playlist"),
    (lambda m, t: ["--from-playlist", _write(t / "hush.m3u", os.fsencode(m / "silent.wav"))],
     "no entry is a seed that can be used"),
    (lambda m, t: [m / TONES[0], "--minutes", "0"], "--minutes 0: give a number of minutes above 0"),
    (lambda m, t: [m / TONES[0], "--minutes", "-2"], "--minutes -2"),
    (lambda m, t: [m / TONES[0], "--minutes", "nan"], "--minutes nan"),
    (lambda m, t: [m / TONES[0], "-n", "0"], "-n/--length 0: give 1 or more"),
    (lambda m, t: [m / TONES[0], m / "silent.wav"], "silent.wav: digital silence"),  # the library's verdict
    (lambda m, t: [write_audio(t / "hush.flac", np.zeros(SR * 4, np.float32), SR, "flac")],
     "hush.flac: digital silence"),  # analysed now
])
def test_each_bad_input_is_one_line_exit_2(library, tmp_path, capsys, monkeypatch, args, words) -> None:
    code, out, err = run_cli(["similar", *args(library[1], tmp_path), "--db", library[0]], capsys, monkeypatch)
    errors = [line for line in err.splitlines() if line.startswith("musictag: error: ")]
    assert code == 2 and out == "" and len(errors) == 1 and words in errors[0], err
    assert all(line.startswith("musictag: ") for line in err.splitlines()), err
