"""Learning the user's own genres from a real library: real files in several formats carrying the
user's genre tags (mixed spellings, multi-value, an ID3v1 number), scanned without writing, learned
from the library alone, then used to fill the untagged files in the user's spelling."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musictag.library.database import Library
from musictag.library.labels import build_labels, group_key, label_values, split_values
from musictag.library.rows import TagBackup
from musictag.training.splits import grouped_kfold
from tests import audiogen
from tests.cli_checks import one_line_error, run_musictag

GTZAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan-mini"
FORMATS = ["flac", "mp3", "ogg", "aac", "opus", "wav"]
#: GTZAN genre -> the spellings this user's tags use for it (cycled over its tagged tracks)
SPELLINGS = {
    "classical": ["Classical Music", "classical music", "Classical Music"],
    "metal": ["Heavy Metal", "heavy-metal", "Heavy Metal\x00Thrash"],  # the last one a two-value ID3 field
    "hiphop": ["Hip Hop", "hip-hop", "HipHop; Rap", "Hip Hop"],
    "rock": ["(17)", "Rock", "Rock / Indie"],  # an ID3v1 number: 17 is Rock
}
TAGGED_PER_GENRE = 6  # of 7 clips: the 7th is left untagged, for the model to fill


def _set_tags(path: Path, genre: str | None, album: str, artist: str) -> None:
    import mutagen
    from mutagen.id3 import ID3, TALB, TCON, TPE1
    from mutagen.mp4 import MP4

    f = mutagen.File(path)
    if f.tags is None:
        f.add_tags()
    if isinstance(f.tags, ID3):
        if genre is not None:
            f.tags.add(TCON(encoding=3, text=genre.split("\x00")))
        f.tags.add(TALB(encoding=3, text=[album]))
        f.tags.add(TPE1(encoding=3, text=[artist]))
    elif isinstance(f, MP4):
        if genre is not None:
            f.tags["\xa9gen"] = genre.split("\x00")
        f.tags["\xa9alb"], f.tags["\xa9ART"] = [album], [artist]
    else:
        if genre is not None:
            f.tags["genre"] = genre.split("\x00")
        f.tags["album"], f.tags["artist"] = [album], [artist]
    f.save()


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A scanned (--no-write) library: 4 genres x 7 clips in six formats, 6 tagged per genre, plus 2
    country clips under a rare genre; every file's bytes recorded before any scan."""
    if not GTZAN.is_dir():
        pytest.skip("../shared/data/gtzan-mini is not here")
    root = tmp_path_factory.mktemp("learn")
    music = root / "music"
    music.mkdir()
    files: dict[str, dict] = {}
    n = 0
    for genre, spellings in [*SPELLINGS.items(), ("country", ["Country & Western"])]:
        clips = sorted((GTZAN / genre).glob("*.wav"))[: 7 if genre != "country" else 2]
        for i, clip in enumerate(clips):
            fmt = "mp3" if spellings[i % len(spellings)].startswith("(") or "\x00" in spellings[i % len(spellings)] \
                else FORMATS[n % len(FORMATS)]
            n += 1
            y, sr = sf.read(clip, dtype="float32")
            path = audiogen.write_audio(music / f"{genre}-{i}{audiogen.FORMATS[fmt][0]}", y, sr, fmt, 1)
            tagged = genre == "country" or i < TAGGED_PER_GENRE
            _set_tags(path, spellings[i % len(spellings)] if tagged else None, f"{genre} album {i % 3}",
                      f"{genre} band {i % 3}")
            files[path.name] = {"genre": genre, "tagged": tagged, "path": path}
    db = root / "library.db"
    before = {name: f["path"].read_bytes() for name, f in files.items()}
    res = run_musictag("scan", str(music), "--db", str(db), "--no-write")
    assert res.returncode == 0, res.stderr
    assert "tags not written (--no-write)" in res.stdout
    return {"root": root, "music": music, "db": db, "files": files, "before": before}


def test_labels_group_spellings_split_values_and_name_id3v1_numbers():
    assert split_values(["(17)", "HipHop; Rap", "Drum & Bass/Jungle", "Metal\x00Thrash", "13"]) == [
        "Rock", "HipHop", "Rap", "Drum & Bass", "Jungle", "Metal", "Thrash", "Pop"]
    assert group_key("Hip Hop") == group_key("Hip-Hop") == group_key("hiphop") == "hiphop"
    assert group_key("Drum & Bass") == group_key("drum and bass")
    labels = build_labels({1: ["Hip Hop"], 2: ["hip-hop"], 3: ["Hip Hop"], 4: ["Chanson"], 5: [], 6: ["(17)"],
                           7: ["rock"]}, mapping={"chanson": "French Song"}, min_tracks=2)
    assert labels.genres == ["Hip Hop", "Rock"] and labels.unlabelled == [5]
    assert labels.rare == [("French Song", 1)]
    assert labels.spellings["Hip Hop"] == ["Hip Hop", "hip-hop"]


def _backup(original: dict, written: list[str]) -> TagBackup:
    return TagBackup(1, 1, "/m/a.mp3", "TCON", original, written, "2026-01-01T00:00:00Z")


def test_a_label_is_what_musictag_did_not_write():
    ours = [_backup({"present": True, "values": ["Chanson"]}, ["Jazz"])]
    assert label_values(["Jazz"], ours) == ["Chanson"]  # our own write: the backed-up original
    assert label_values(["My Own Genre"], ours) == ["My Own Genre"]  # edited by the user since
    assert label_values([], [_backup({"present": False}, ["Jazz"])]) == []
    assert label_values(["Blues"], []) == ["Blues"]


def test_grouped_kfold_keeps_each_album_on_one_side_and_stratifies():
    rng = np.random.default_rng(1)
    labels = [int(v) for v in rng.integers(0, 3, 300)]
    groups = [f"album{i // 4}" if i % 5 else None for i in range(300)]
    parts = grouped_kfold(labels, groups, 5)
    assert sorted(i for _, test in parts for i in test) == list(range(300))
    for train, test in parts:
        assert not {groups[i] for i in train if groups[i]} & {groups[i] for i in test if groups[i]}
        share = np.bincount([labels[i] for i in test], minlength=3) / len(test)
        assert np.all(np.abs(share - np.bincount(labels) / 300) < 0.08)


def test_no_write_scan_leaves_every_file_as_it_was(library):
    for name, data in library["before"].items():
        assert library["files"][name]["path"].read_bytes() == data, name
    with Library(library["db"], readonly=True) as lib:
        rows = list(lib.tracks())
    assert len(rows) == len(library["files"]) and all(r.tag_state is None for r in rows)
    tagged = [r.own_tags() for r in rows if Path(r.path).name == "metal-2.mp3"]
    assert tagged[0]["genres"] == ["Heavy Metal", "Thrash"] and tagged[0]["album"] == "metal album 2"


def test_learn_then_fill_the_untagged_files_in_the_users_spelling(library, tmp_path):
    model = tmp_path / "my-genres"
    res = run_musictag("train", "--from-library", "--db", str(library["db"]), "--min-tracks", "5", "--out", str(model))
    assert res.returncode == 0, res.stderr
    meta = json.loads((model / "model.json").read_text())
    assert meta["labels"] == "library" and meta["head"] == "linear"
    assert sorted(meta["genres"]) == ["Classical Music", "Heavy Metal", "Hip Hop", "Rock"]
    assert (model / "confusion.png").stat().st_size > 0 and (model / "metrics.json").is_file()
    for genre in meta["genres"]:
        assert genre in res.stdout  # the per-genre table
    assert "Country & Western (2)" in res.stdout  # under --min-tracks: listed
    assert meta["metrics"]["split"]["groups"] == "album"
    progress = res.stderr.splitlines()  # a line as each stage starts and as each fold ends
    assert any(line.startswith("cross-validating a linear head: 5 folds") for line in progress), res.stderr
    assert sum(line.startswith("fold ") for line in progress) >= 2
    assert any(line.startswith("fitting the model on all") for line in progress)

    res = run_musictag("scan", str(library["music"]), "--db", str(library["db"]), "--model", str(model),
                    "--min-confidence", "0", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["analysed"] == 0 and report["rescored"] == len(library["files"])  # nothing decoded again
    user_names = {"classical": "Classical Music", "metal": "Heavy Metal", "hiphop": "Hip Hop", "rock": "Rock"}
    filled = {Path(c["path"]).name: c["new"] for c in report["changes"]}
    untagged = [name for name, f in library["files"].items() if not f["tagged"]]
    assert sorted(filled) == sorted(untagged)  # only the untagged files were written
    right = sum(filled[name] == [user_names[library["files"][name]["genre"]]] for name in untagged)
    assert all(filled[name][0] in user_names.values() for name in untagged) and right >= 3, filled
    for name, f in library["files"].items():
        if f["tagged"]:
            assert f["path"].read_bytes() == library["before"][name], name  # the user's tags untouched
        else:
            assert audiogen.raw_genres(f["path"]) == filled[name]

    again = run_musictag("scan", str(library["music"]), "--db", str(library["db"]))  # remembers the model
    assert again.returncode == 0, again.stderr
    assert "my-genres (this library's; --model changes it)" in again.stdout


def test_learn_with_any_head_writes_that_head_and_scan_uses_it(library, tmp_path):
    """``--from-library --head rf``: the folder holds a forest (not another kind's weights) that scan re-scores with;
    a head that does not fit backbone embeddings is refused in one line."""
    from musictag.analysis.models import load_model

    model = tmp_path / "forest"
    res = run_musictag("train", "--from-library", "--db", str(library["db"]), "--min-tracks", "5", "--head", "rf",
                       "--out", str(model))
    assert res.returncode == 0, res.stderr
    assert json.loads((model / "model.json").read_text())["head"] == "rf"
    assert type(load_model(model).head).__name__ == "ForestHead"
    db = _copy(library, tmp_path)
    res = run_musictag("scan", str(library["music"]), "--db", str(db), "--model", str(model), "--no-write", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["rescored"] == len(library["files"])
    one_line_error(run_musictag("train", "--from-library", "--db", str(library["db"]), "--min-tracks", "5",
                                "--head", "cnn2d", "--out", str(tmp_path / "no")), "--head cnn2d does not fit")
    assert not (tmp_path / "no").exists()


def _copy(library: dict, tmp_path: Path) -> Path:
    db = tmp_path / "copy.db"
    with sqlite3.connect(library["db"]) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    return db


def test_too_few_genres_no_embeddings_or_another_backbone_each_getone_line_error(library, tmp_path):
    out = str(tmp_path / "m")
    one_line_error(run_musictag("train", "--from-library", "--db", str(library["db"]), "--out", out),
              "have at least 10 tracks", "--min-tracks")
    db = _copy(library, tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE track_summaries SET backbone = 'other-net-0123456789'")
    one_line_error(run_musictag("train", "--from-library", "--db", str(db), "--min-tracks", "5", "--out", out),
              "another backbone (other-net-0123456789)", "rescan")
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM track_summaries")
    one_line_error(run_musictag("train", "--from-library", "--db", str(db), "--min-tracks", "5", "--out", out),
              "no backbone embeddings", "rescan")
    assert not Path(out).exists()


def test_a_remembered_model_that_is_gone_is_named(library, tmp_path):
    db = _copy(library, tmp_path)
    model = tmp_path / "gone"
    shutil.copytree(Path(__file__).resolve().parents[1] / "models" / "gtzan-musicnn", model)
    with Library(db) as lib:
        lib.meta_set("model_dir", str(model))
    shutil.rmtree(model)
    one_line_error(run_musictag("scan", str(library["music"]), "--db", str(db)), "which is gone", "--model default")


def test_map_files_in_toml_and_json_and_a_bad_one(tmp_path):
    from musictag.errors import UsageError
    from musictag.library.labels import read_map

    toml = tmp_path / "map.toml"
    toml.write_text('"Hip-Hop" = "Rap"\n"Drum n Bass" = "Drum & Bass"\n', encoding="utf-8")
    assert read_map(toml) == {"hiphop": "Rap", "drumnbass": "Drum & Bass"}
    js = tmp_path / "map.json"
    js.write_text(json.dumps({"Chanson française": "Chanson"}), encoding="utf-8")
    assert read_map(js) == {"chansonfrançaise": "Chanson"}
    js.write_text("{not json", encoding="utf-8")
    with pytest.raises(UsageError, match="not valid JSON"):
        read_map(js)
    js.write_text(json.dumps({"a": 3}), encoding="utf-8")
    with pytest.raises(UsageError, match="text to text"):
        read_map(js)
    labels = build_labels({i: ["Drum n Bass" if i % 2 else "drum & bass"] for i in range(4)},
                          mapping=read_map(toml), min_tracks=2)
    assert labels.genres == ["Drum & Bass"]  # the map's spelling is the one written


def test_genres_all_on_one_album_are_named_with_why_their_figure_is_nothing(library, tmp_path):
    """A first library often has each genre from one album: held out by album, none can be right; say so."""
    db = _copy(library, tmp_path)
    with sqlite3.connect(db) as conn:  # every genre's tracks on one album of its own (the file name's first letters)
        conn.execute("UPDATE tracks SET file_tags = json_set(file_tags, '$.artist', 'One Band', '$.album', "
                     "substr(path, instr(path, '/music/') + 7, 4)) WHERE file_tags IS NOT NULL")
    res = run_musictag("train", "--from-library", "--db", str(db), "--min-tracks", "2", "--out",
                       str(tmp_path / "m"))
    assert res.returncode == 0, res.stderr
    line = [x for x in res.stdout.splitlines() if "all its tracks on one album" in x]
    assert len(line) == 1 and line[0].startswith("every genre has"), res.stdout
    assert "none of those tracks could be right" in line[0] and "Country & Western" in line[0]
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert sorted(meta["metrics"]["split"]["one_album_genres"]) == sorted(meta["genres"])


def test_the_too_few_genres_error_never_leaves_a_genre_out_silently(library, tmp_path):
    db = _copy(library, tmp_path)
    with sqlite3.connect(db) as conn:  # nine genres of 3 or 4 tracks each
        conn.execute("UPDATE tracks SET file_tags = json_set(file_tags, '$.genres', json_array('Genre ' || (id % 9))) "
                     "WHERE file_tags IS NOT NULL")
    res = run_musictag("train", "--from-library", "--db", str(db), "--out", str(tmp_path / "m"))
    one_line_error(res, "Genre 0 (", "and 1 more", "--min-tracks")
