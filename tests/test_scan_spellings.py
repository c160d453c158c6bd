"""The spelling a scan writes (``--map``'s, else the library's own, else the model's), ``--overwrite`` on a field
that already names the genre, and ``stats`` counting the spellings of one genre together: real files, the
shipped model, tags read back with mutagen."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3, TCON

from musictag.cli import cli
from musictag.library.labels import genre_key, group_key, spelling_counts
from musictag.library.listing import TrackView, genre_counts
from musictag.scan.spelling import Spelling
from musictag.scan.tag_decision import decide_overwrite
from tests import audiogen
from tests.cli_checks import one_line_error, run_musictag
from tests.scan_checks import require_model

require_model()


# --- as functions of data --------------------------------------------------------------------


def test_a_few_other_names_of_the_shipped_genres_are_that_genre_and_no_more():
    assert genre_key("Classical Music") == genre_key("classical") == "classical"
    assert genre_key("Country & Western") == genre_key("Country and Western") == genre_key("Country") == "country"
    assert genre_key("Hip Hop") == genre_key("Hip-Hop") == "hiphop"
    assert group_key("Classical Music") != group_key("Classical")  # group_key (train's) is left as it was
    for other in ("Rap", "Heavy Metal", "Electronica", "Rock & Roll", "Western"):
        assert genre_key(other) not in ("hiphop", "metal", "electronic", "rock", "country"), other


def test_the_name_written_is_the_maps_else_the_librarys_most_used_else_the_models():
    own = spelling_counts([["Hip Hop"], ["Hip Hop", "Funk"], ["hip-hop"], ["Classical Music; Opera"]])
    spelling = Spelling(own=own)
    assert [spelling.name(g) for g in ("hiphop", "classical", "rock")] == ["Hip Hop", "Classical Music", "Rock"]
    assert spelling.renamed(["hiphop", "classical", "rock"]) == {"Hip-Hop": "Hip Hop", "Classical": "Classical Music"}
    mapped = Spelling(mapping={"hiphop": "Rap", "classicalmusic": "Klassik"}, own=own)
    assert [mapped.name(g) for g in ("hiphop", "classical")] == ["Rap", "Klassik"]  # the library's, through --map
    assert mapped.names(["hiphop", "classical"], ["hip hop"]) == ["hip hop", "Klassik"]  # the field's own spelling
    assert Spelling(mapping={"disco": "Pop"}).names(["pop", "disco"]) == ["Pop"]  # one name per genre


def test_a_model_learned_from_the_library_writes_its_own_names_as_they_are():
    own = spelling_counts([["Classical Music"], ["Classical Music"], ["classical"]])
    learned = Spelling.for_model(SimpleNamespace(meta={"labels": "library"}), {"chanson": "Chanson française"})
    learned.own = own  # what a scan would find: not used for a learned model's names
    assert [learned.name(g) for g in ("Classical", "Classical Music", "chanson")] == [
        "Classical", "Classical Music", "Chanson française"]
    assert learned.key("Classical Music") != learned.key("Classical")  # two genres it learned apart
    shipped = Spelling.for_model(SimpleNamespace(meta={}))
    assert shipped.name("hiphop") == "Hip-Hop" and not shipped.learned


@pytest.mark.parametrize(("current", "wanted", "ours", "action", "state"), [
    (["Hip Hop"], ["Hip-Hop"], False, "keep", "kept"),  # the same genre, another spelling: left as it is
    (["Jazz; Blues"], ["Jazz"], False, "keep", "kept"),  # the genre is there: the other value stays
    (["Blues", "jazz"], ["Jazz"], False, "keep", "kept"),
    (["Jazz"], ["Jazz", "Blues"], False, "write", "written"),  # a genre wanted is missing: replaced
    (["Rock; Blues"], ["Jazz"], False, "write", "written"),  # another genre: the whole field is the model's
    (["Hip-Hop"], ["Hip Hop"], True, "write", "written"),  # musictag's own write follows the spelling
    (["Hip Hop"], [], False, "keep", "kept"),
])
def test_overwrite_replaces_only_a_field_that_does_not_name_the_genre(current, wanted, ours, action, state):
    decision = decide_overwrite(current, wanted, ours, True, Spelling().holds)
    assert (decision.action, decision.state) == (action, state)


def test_stats_counts_the_spellings_of_one_genre_as_one():
    views = [TrackView(f"/m/{i}.mp3", state, "classical", 0.9, genres, 30.0, None)
             for i, (state, genres) in enumerate([("kept", ["Classical Music"]), ("kept", ["Classical Music"]),
                                                  ("tagged", ["Classical"]), ("kept", ["classical; Opera"]),
                                                  ("kept", ["Classical Music", "Classical"])])]
    files, _ = genre_counts(views)
    assert files == [("Classical Music", 5, 1, ["Classical Music", "Classical", "classical"]),
                     ("Opera", 1, 0, ["Opera"])]


# --- real files, the shipped model -----------------------------------------------------------


def _sweep(path: Path, seed: int, genres: list[str] | None = None) -> Path:
    """A 6 s sweep (the shipped model's best genre for every seed used here is the same one), its genre field
    set to ``genres`` as a tag editor writes it (an ID3 frame of several values for an MP3)."""
    audiogen.write_audio(path, audiogen.sweep(6.0, seed=seed), 44100, "flac" if path.suffix == ".flac" else "mp3")
    if genres and path.suffix == ".mp3":
        tags = ID3()
        tags.add(TCON(encoding=3, text=genres))
        tags.save(path)
    elif genres:
        audiogen.edit_tags(path, genre=genres[0])
    return path


@pytest.fixture(scope="module")
def model_genre(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The name the shipped model writes for the sweeps (seeds 0-7), as a plain scan writes it."""
    music = tmp_path_factory.mktemp("probe")
    for seed in range(8):
        _sweep(music / f"{seed}.flac", seed)
    result = CliRunner().invoke(cli, ["scan", str(music), "--db", str(music / "lib.db"), "--dry-run", "--json",
                                      "--min-confidence", "0", "-j", "1"])
    assert result.exit_code == 0, result.output
    written = {tuple(change["new"]) for change in json.loads(result.stdout)["changes"]}
    assert len(written) == 1, written  # the tests below rely on one genre for all
    return written.pop()[0]


def _scan(music: Path, db: Path, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["scan", str(music), "--db", str(db), "--json", "--min-confidence", "0", "-j",
                                      "1", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_first_scan_writes_the_spelling_the_library_already_uses(tmp_path: Path, model_genre: str) -> None:
    mine, other = model_genre.lower(), model_genre.upper()  # the user's spellings, not the model's
    music = tmp_path / "music"
    music.mkdir()
    empty = [_sweep(music / "0-empty.flac", 0), _sweep(music / "1-empty.mp3", 1)]  # analysed first (by name)
    _sweep(music / "5-mine.flac", 5, [mine]), _sweep(music / "6-mine.mp3", 6, [mine])
    _sweep(music / "7-other.flac", 7, [other])
    report = _scan(music, tmp_path / "lib.db")
    assert report["tagged"] == 2 and report["kept"] == 3
    assert [audiogen.raw_genres(path) for path in empty] == [[mine], [mine]]
    assert report["spellings"] == {model_genre: mine}
    stats = json.loads(CliRunner().invoke(cli, ["stats", "--db", str(tmp_path / "lib.db"), "--json"]).stdout)
    assert stats["in_files"] == [{"genre": mine, "tracks": 5, "written_by_musictag": 2, "spellings": [mine, other]}]


def test_overwrite_leaves_a_field_naming_the_genre_and_its_other_values(tmp_path: Path, model_genre: str) -> None:
    mine = model_genre.lower()
    music = tmp_path / "music"
    music.mkdir()
    alone = {"one value": _sweep(music / "a.flac", 0, [f"{mine}; Polka"]),
             "two values": _sweep(music / "b.mp3", 1, ["Polka", model_genre.upper()]),
             "same": _sweep(music / "c.flac", 2, [mine])}
    before = {name: path.read_bytes() for name, path in alone.items()}
    other = _sweep(music / "d.flac", 3, ["Polka; Rock"])
    report = _scan(music, tmp_path / "lib.db", "--overwrite")
    assert {name: path.read_bytes() == before[name] for name, path in alone.items()} == dict.fromkeys(alone, True)
    assert (report["kept"], report["tagged"]) == (3, 1)
    assert audiogen.raw_genres(other) == [mine]  # another genre: the field becomes the model's, in your spelling
    assert CliRunner().invoke(cli, ["restore", str(other), "--db", str(tmp_path / "lib.db")]).exit_code == 0
    assert audiogen.raw_genres(other) == ["Polka; Rock"]


def test_scan_map_names_the_genre_written(tmp_path: Path, model_genre: str) -> None:
    music = tmp_path / "music"
    music.mkdir()
    empty = _sweep(music / "empty.flac", 0)
    own = _sweep(music / "own.flac", 1, [model_genre.lower()])
    genre_map = tmp_path / "map.json"
    genre_map.write_text(json.dumps({model_genre: "Smooth Sounds"}), encoding="utf-8")
    result = CliRunner().invoke(cli, ["scan", str(music), "--db", str(tmp_path / "lib.db"), "--min-confidence", "0",
                                      "-j", "1", "--overwrite", "--map", str(genre_map)])
    assert result.exit_code == 0, result.output
    assert f"{model_genre} → Smooth Sounds" in result.stdout  # the summary says which names it wrote
    assert audiogen.raw_genres(empty) == ["Smooth Sounds"]
    assert audiogen.raw_genres(own) == [model_genre.lower()]  # the map merges it: nothing to overwrite
    genre_map.write_text("[1, 2]", encoding="utf-8")
    one_line_error(run_musictag("scan", str(music), "--db", str(tmp_path / "lib.db"), "--map", str(genre_map)),
                   "--map", "map.json", "expected a table")


def test_spelling_counts_count_every_value_of_every_field() -> None:
    assert spelling_counts([["Jazz"], ["jazz; Blues", "JAZZ"], ["(8)"]]) == {
        "jazz": Counter({"Jazz": 2, "jazz": 1, "JAZZ": 1}), "blues": Counter({"Blues": 1})}  # ID3v1 8: Jazz
