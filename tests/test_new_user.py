"""What a new user meets first: help with examples, where the library went, what a scan did
(`list`, `scan -v`), honest `stats`, one wording for a bad file everywhere, quiet progress off a
terminal, and small things (map destination, info times, training pictures)."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import click
import numpy as np
import pytest

from musictag.audio.decode import format_time
from musictag.cli import cli
from musictag.cli.common import StageProgress
from musictag.training.plots import best_epoch, confusion_shading, plot_confusion, plot_curves
from tests import audiogen
from tests.cli_checks import one_line_error, run_musictag


def _examples(command: click.Command) -> list[str]:
    lines = (command.help or "").split("Examples:", 1)[1].splitlines() if "Examples:" in (command.help or "") else []
    return [line.split("#")[0].strip() for line in lines if line.strip().startswith("musictag ")]


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_examples_that_its_parser_accepts(name, tmp_path, monkeypatch):
    for folder in ("home/Music", "home/my-genres", "work/gtzan", "work/real-dev", "work/my-model"):  # examples name
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "home/Music/song.mp3").write_bytes(b"")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path / "work")
    command = cli.commands[name]
    examples = _examples(command)
    assert examples, f"{name} --help shows no example"
    for example in examples:
        words = [os.path.expanduser(w) for w in shlex.split(example.split("&&")[0])]
        assert words[:2] == ["musictag", name], example
        command.make_context(name, words[2:])  # raises on an unknown option or a missing argument
    assert all(p.help for p in command.params if isinstance(p, click.Option)), f"{name}: an option without help"


def test_top_level_help_is_not_cut_and_db_help_names_the_real_path(tmp_path):
    res = run_musictag("--help")
    listing = res.stdout.split("Commands:", 1)[1]
    assert res.returncode == 0 and "…" not in listing and "..." not in listing
    assert "musictag scan ~/Music" in res.stdout
    res = run_musictag("stats", "--help", env={"MUSICTAG_DB": str(tmp_path / "mine.db")})
    assert str(tmp_path / "mine.db") in "".join(res.stdout.split())  # wrapped lines joined


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("newuser")
    music = root / "music"
    music.mkdir()
    for i, fmt in enumerate(["flac", "mp3", "ogg", "wav"]):
        audiogen.write_audio(music / f"t{i}{audiogen.FORMATS[fmt][0]}", audiogen.sweep(4.0, seed=i), 22050, fmt, 1)
    (music / "noise.mp3").write_bytes(os.urandom(6000))
    db = root / "lib.db"
    res = run_musictag("scan", str(music), "--db", str(db), "--min-confidence", "0", "-v")
    return {"root": root, "music": music, "db": db, "first": res}


def test_the_first_scan_says_where_the_library_is_and_lists_each_change(scanned):
    res = scanned["first"]
    assert res.returncode == 1, res.stderr
    assert f"created a new library at {scanned['db']}" in res.stderr
    tagged = [line for line in res.stdout.splitlines() if line.startswith("tagged ")]
    assert len(tagged) == 4 and all("(no genre) -> " in line for line in tagged)
    again = run_musictag("scan", str(scanned["music"]), "--db", str(scanned["db"]))
    assert "created a new library" not in again.stderr


def test_scan_v_lists_each_move_and_prune_printably(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    for i, name in enumerate(["stays.wav", "moves.wav", "goes.wav"]):
        audiogen.write_audio(music / name, audiogen.sweep(4.0, seed=i), 22050, "wav", 1)
    db = str(tmp_path / "lib.db")
    assert run_musictag("scan", str(music), "--db", db, "--min-confidence", "0").returncode == 0
    (music / "sub").mkdir()
    (music / "moves.wav").rename(music / "sub" / "moved\x1b[31m.wav")  # a name with a terminal escape
    (music / "goes.wav").unlink()
    res = run_musictag("scan", str(music), "--db", db, "-v")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert f"moved        {music / 'moves.wav'} -> {music / 'sub'}/moved\\x1b[31m.wav" in lines, res.stdout
    assert f"pruned       {music / 'goes.wav'} (gone: not in its folder, nor found moved)" in lines, res.stdout
    assert "\x1b" not in res.stdout
    (music / "stays.wav").rename(music / "stays-too.wav")
    quiet = run_musictag("scan", str(music), "--db", db)  # without -v: counted in the table only
    assert quiet.returncode == 0
    assert not [line for line in quiet.stdout.splitlines() if line.startswith(("moved ", "pruned "))]


def test_list_filters_json_and_playlist(scanned, tmp_path):
    db = str(scanned["db"])
    res = run_musictag("list", "--db", db, "--json")
    views = {Path(v["path"]).name: v for v in json.loads(res.stdout)}
    assert {v["state"] for n, v in views.items() if n != "noise.mp3"} == {"tagged"}
    assert views["noise.mp3"]["state"] == "failed" and "not an audio file" in views["noise.mp3"]["reason"]
    genre = views["t0.flac"]["in_file"][0]
    res = run_musictag("list", "--db", db, "--tagged", "--genre", genre.lower().replace("-", " "),
                    "--m3u", str(tmp_path / "g.m3u8"))
    listed = [line for line in res.stdout.splitlines() if line.startswith("tagged")]
    assert listed and all(f"[{genre}" in line for line in listed)
    entries = [line for line in (tmp_path / "g.m3u8").read_text().splitlines() if line and line[0] != "#"]
    assert len(entries) == len(listed)
    failed = run_musictag("list", "--db", db, "--failed").stdout
    assert "noise.mp3" in failed and "t0.flac" not in failed
    assert run_musictag("list", "--db", db, "--uncertain").stdout == ""


def test_list_refuses_a_genre_no_track_has_and_counts_none_for_one_no_chosen_track_has(scanned):
    db = str(scanned["db"])
    views = json.loads(run_musictag("list", "--db", db, "--json").stdout)
    genre = next(v["in_file"][0] for v in views if v["in_file"])
    absent = run_musictag("list", "--db", db, "--genre", "Polka")
    one_line_error(absent, "no track in the library has the genre 'Polka'", genre)  # the genres it has, named
    assert absent.stdout == ""
    none_chosen = run_musictag("list", "--db", db, "--uncertain", "--genre", genre)  # no track is uncertain
    assert none_chosen.returncode == 0 and none_chosen.stdout == "", none_chosen.stderr
    assert "0 track(s)" in none_chosen.stderr.splitlines()
    similar = run_musictag("similar", "--db", db, "--genre", "Polka", str(scanned["music"] / "t0.flac"))
    one_line_error(similar, "no track in the library has the genre 'Polka'")  # the two commands agree
    spelt = f"{genre} Music"  # an equivalent spelling of a shipped genre (labels.EQUIVALENT): both take it
    assert run_musictag("list", "--db", db, "--genre", spelt).returncode == 0
    similar = run_musictag("similar", "--db", db, "--genre", spelt, "--json", str(scanned["music"] / "t0.flac"))
    assert similar.returncode == 0 and json.loads(similar.stdout), similar.stderr


def test_stats_counts_genres_in_files_apart_from_predictions(scanned, tmp_path):
    from musictag.library.database import Library

    db = tmp_path / "copy.db"
    import sqlite3

    with sqlite3.connect(scanned["db"]) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    with Library(db) as lib:  # one track left uncertain: predicted, but nothing written in its file
        lib.db.execute("UPDATE tracks SET tag_state = 'uncertain', file_tags = '{\"genres\": []}' "
                       "WHERE path LIKE '%t3.wav'")
    stats = json.loads(run_musictag("stats", "--db", str(db), "--json").stdout)
    assert (stats["analysed"], stats["failed"], stats["uncertain"]) == (4, 1, 1)
    assert sum(g["tracks"] for g in stats["in_files"]) == 3  # what players see
    assert sum(g["tracks"] for g in stats["genres"]) == 4 and sum(g["tagged"] for g in stats["genres"]) == 3
    text = run_musictag("stats", "--db", str(db)).stdout
    assert "4 tracks analysed · 1 failed · 1 uncertain" in text and "Genres in your files" in text


def test_a_bad_file_has_one_wording_and_a_missing_one_is_a_usage_error(scanned):
    noise = scanned["music"] / "noise.mp3"
    scan_reason = [line for line in scanned["first"].stderr.splitlines() if "noise.mp3" in line][0].split(": ", 2)[2]
    for command in (["similar", str(noise), "--db", str(scanned["db"])], ["info", str(noise)]):
        res = run_musictag(*command)
        assert res.returncode == 1 and "Traceback" not in res.stderr
        assert res.stderr.strip().endswith(scan_reason), (res.stderr, scan_reason)
    for command in (["similar", "/nope/x.mp3", "--db", str(scanned["db"])], ["info", "/nope/x.mp3"]):
        res = run_musictag(*command)
        assert res.returncode == 2 and "no such file" in res.stderr


def test_progress_off_a_terminal_is_a_line_per_stage(capsys):
    with StageProgress(3, "features") as bar:
        for _ in range(3):
            bar.update()
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "musictag: features: 3 tracks" and err[1].startswith("musictag: features: 3 done in")
    assert len(err) == 2


def test_map_refuses_a_destination_it_cannot_write_before_working(scanned):
    res = run_musictag("map", "--db", str(scanned["db"]), "--out", "/nonexistent/m.png")
    assert res.returncode == 2 and "no such folder" in res.stderr and "Traceback" not in res.stderr


def test_info_times_are_rounded_to_tenths():
    assert format_time(2.995, tenths=True) == "00:03.0"
    assert format_time(2.94, tenths=True) == "00:02.9"
    assert format_time(2.995) == "00:02"


def test_training_pictures_mark_the_best_epoch_and_shade_rows(tmp_path):
    assert best_epoch({"val_loss": [1.0, 0.5, 0.7]}) == 2 and best_epoch({"loss": [1.0]}) is None
    shares = confusion_shading(np.array([[3, 1], [0, 0]]))
    assert shares.tolist() == [[0.75, 0.25], [0.0, 0.0]]
    plot_curves({"loss": [1, 0.5, 0.4], "val_loss": [1, 0.6, 0.8], "accuracy": [0.1, 0.5, 0.6],
                 "val_accuracy": [0.1, 0.4, 0.3]}, tmp_path / "c.png")
    plot_confusion(np.array([[3, 1], [0, 2]]), ["a", "b"], tmp_path / "m.png")
    import matplotlib.image

    assert matplotlib.image.imread(tmp_path / "c.png").ndim == 3
    assert matplotlib.image.imread(tmp_path / "m.png").ndim == 3
