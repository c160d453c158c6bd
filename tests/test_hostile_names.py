"""Names and tags from a user's folder are untrusted: never markup, never control codes, never extra lines."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
from mutagen.flac import FLAC

from musictag.paths import display_path, printable
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from tests.audiogen import sweep, tone, write_audio
from tests.cli_checks import run_musictag

SR = 22050
#: The attack's hostile genre spellings: rich markup that would be drawn, a bidirectional override that
#: reads the rest backwards, an escape sequence (no "/": a genre value is split there; the artist tag
#: above carries the closing-tag markup that breaks a table).
GENRE_A = "[italic]Rock\u202eevil"
GENRE_B = "[bold]Jazz[not markup\x1b[2J"


def _musictag(*args: str) -> subprocess.CompletedProcess:
    return run_musictag(*args, env={"COLUMNS": "200"})  # tables wide enough for long names


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A scanned library whose tags and names try markup, escape codes and line breaks."""
    root = tmp_path_factory.mktemp("hostile")
    music = root / "music"
    music.mkdir()
    query = write_audio(music / "query.flac", tone(440, 6), SR, "flac")
    other = write_audio(music / "other.flac", tone(445, 6), SR, "flac")
    tags = FLAC(other)
    tags["artist"], tags["title"] = "[/bold][link=http://evil]x[/link]", "Song\n/etc/passwd\n\x1b[31mred"
    tags.save()
    third = write_audio(music / "third.flac", sweep(6, SR), SR, "flac")
    for path, genre in ((query, GENRE_A), (other, GENRE_A), (third, GENRE_B)):
        tags = FLAC(path)
        tags["genre"] = [genre]
        tags.save()
    latin1 = os.fsencode(music) + b"/caf\xe9.flac"  # a recording of its own: copies are listed once
    fourth = write_audio(music / "fourth.flac", sweep(6, SR, seed=1), SR, "flac")
    tags = FLAC(fourth)
    tags["genre"] = [GENRE_B]
    tags.save()
    os.rename(fourth, latin1)
    report = scan([music], root / "library.db", ScanOptions(min_confidence=1.0, jobs=1))
    assert report.failed == 0, report.errors
    return root / "library.db", query


def test_printable_escapes_controls_and_undecodable_bytes():
    assert printable("a\nb\x1b[31mc\x7f\x85") == "a\\x0ab\\x1b[31mc\\x7f\\x85"
    assert printable("a\u202eb\u2066c\u2028d\u200f") == "a\\u202eb\\u2066c\\u2028d\\u200f"  # bidi, separators
    assert printable("Café – ok") == "Café – ok"
    assert display_path(b"/m/caf\xe9.mp3") == "/m/caf\\xe9.mp3"


def test_similar_prints_tag_text_as_text(hostile):
    db, query = hostile
    res = _musictag("similar", str(query), "--db", str(db), "-n", "3")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr and "MarkupError" not in res.stderr
    assert "[/bold][link=http://evil]x[/link]" in res.stdout  # shown literally, not rendered
    assert "\x1b[31m" not in res.stdout and "\\x1b[31mred" in res.stdout


def test_m3u_cannot_be_given_extra_entries_by_a_title(hostile, tmp_path):
    db, query = hostile
    playlist = tmp_path / "p.m3u8"
    res = _musictag("similar", str(query), "--db", str(db), "-n", "3", "--m3u", str(playlist), "--json")
    assert res.returncode == 0, res.stderr
    text = playlist.read_bytes().decode("utf-8")  # an M3U8 playlist is UTF-8 throughout
    entries = [line for line in text.split("\n") if line and not line.startswith("#")]
    assert len(entries) == 4  # the query and its three neighbours, nothing else
    assert "/etc/passwd" not in entries
    named = [os.fsencode(e) if not e.startswith("file://") else unquote_to_bytes(e[len("file://"):])
             for e in entries]
    assert all(os.path.exists(name) for name in named)  # the name that is not UTF-8 as a URI of its exact bytes
    assert sum(e.startswith("file://") for e in entries) == 1


def test_json_gives_a_name_that_is_not_utf8_exactly(hostile):
    db, query = hostile
    res = _musictag("similar", str(query), "--db", str(db), "-n", "3", "--json")
    matches = json.loads(res.stdout)
    latin1 = [m for m in matches if "path_bytes" in m]
    assert len(latin1) == 1
    assert bytes.fromhex(latin1[0]["path_bytes"]).endswith(b"/caf\xe9.flac")
    assert os.path.exists(bytes.fromhex(latin1[0]["path_bytes"]))


def test_a_failed_file_with_a_line_break_in_its_name_is_one_line(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    (music / "bad\n\x1b[2Jname.mp3").write_bytes(b"not audio" * 100)
    res = _musictag("scan", str(music), "--db", str(tmp_path / "l.db"))
    assert res.returncode == 1
    failed = [line for line in res.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1 and "bad\\x0a\\x1b[2Jname.mp3" in failed[0], res.stderr
    assert "\x1b" not in res.stderr


def test_scan_json_gives_exact_names_of_failed_and_tagged_files(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    good = os.fsencode(music) + b"/caf\xe9.flac"
    os.rename(write_audio(music / "plain.flac", sweep(6, SR), SR, "flac"), good)
    broken = os.fsencode(music) + b"/bad\nname\xff.mp3"
    with open(broken, "wb") as f:
        f.write(b"not audio at all" * 100)
    res = _musictag("scan", str(music), "--db", str(tmp_path / "l.db"), "--min-confidence", "0", "--json")
    assert res.returncode == 1, res.stderr
    report = json.loads(res.stdout)
    assert [bytes.fromhex(e["path_bytes"]) for e in report["errors"]] == [broken]
    assert [bytes.fromhex(c["path_bytes"]) for c in report["changes"]] == [good]
    assert "\n" not in report["errors"][0]["path"]


def _shown_literally(res: subprocess.CompletedProcess, *expected: str) -> None:
    """Output with the hostile genres drawn as written: no markup rendered, no control character raw."""
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr and "MarkupError" not in res.stderr
    for stream in (res.stdout, res.stderr):
        assert "\u202e" not in stream and "\x1b" not in stream
    for text in expected:
        assert text in res.stdout, res.stdout


def test_every_printing_command_shows_hostile_genres_as_text(hostile, tmp_path):
    db, query = hostile
    a, b = printable(GENRE_A), printable(GENRE_B)
    assert a == "[italic]Rock\\u202eevil" and b == "[bold]Jazz[not markup\\x1b[2J"
    _shown_literally(_musictag("stats", "--db", str(db)), a, b)
    _shown_literally(_musictag("list", "--db", str(db)), a, b)
    _shown_literally(_musictag("info", str(query)), a)
    model = tmp_path / "[bold]mine\u202e"
    learned = _musictag("train", "--from-library", "--db", str(db), "--min-tracks", "2", "--folds", "2",
                        "--out", str(model))
    _shown_literally(learned, a, b)  # the per-genre table, genre names as the user spelled them
    rescored = _musictag("scan", str(query.parent), "--db", str(db), "--model", str(model), "--dry-run")
    _shown_literally(rescored, "[bold]mine\\u202e")  # the model's name in the report table
