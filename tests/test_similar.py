"""``musictag similar`` over a scanned library of real audio files, and ``musictag map``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote_to_bytes

import mutagen
import numpy as np
import pytest
from mutagen.flac import FLAC
from mutagen.id3 import TIT2, TPE1

import musictag.cli
from musictag.errors import UsageError
from musictag.library import similar
from musictag.library.database import Library
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from musictag.tags.fields import artist_title, display_name
from tests.audiogen import FORMATS, sweep, tone, write_audio

SR = 22050
HEAVY = ("librosa", "numba", "tensorflow", "keras", "ai_edge_litert", "soundfile", "av", "sklearn")


def _signals() -> dict[str, np.ndarray]:
    noise = np.random.default_rng(0).normal(0, 0.2, SR * 6).astype(np.float32)
    return {"low.wav": tone(110, 6), "mid.flac": tone(440, 6), "high.mp3": tone(2500, 6),
            "sweep0.flac": sweep(6, SR, seed=0), "sweep1.wav": sweep(6, SR, seed=1), "noise.flac": noise,
            "chord.ogg": tone(220, 6) + tone(330, 6) + tone(440, 6)}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A library of seven scanned files: ``(db path, music folder)``."""
    root = tmp_path_factory.mktemp("similar")
    music = root / "music"
    music.mkdir()
    for name, y in _signals().items():
        write_audio(music / name, y, SR, Path(name).suffix[1:])
    tagged = FLAC(music / "mid.flac")
    tagged["artist"], tagged["title"] = "Test Artist", "Concert A"
    tagged.save()
    report = scan([music], root / "library.db", ScanOptions(jobs=1))
    assert report.analysed == 7 and report.failed == 0, report.errors
    return root / "library.db", music


@pytest.fixture
def lib(library: tuple[Path, Path]) -> Library:
    with Library(library[0]) as opened:
        yield opened


def run_cli(args: list[str], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run ``musictag ARGS`` in this process; return (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["musictag", *map(str, args)])
    with pytest.raises(SystemExit) as done:
        musictag.cli.main()
    out, err = capsys.readouterr()
    return done.value.code, out, err


_PROBE = """
import json, sys
import musictag.cli
heavy = sys.argv[1].split(",")
sys.argv = ["musictag", "similar", "--json", "-n", "3", *sys.argv[2:]]
try:
    musictag.cli.main()
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "heavy": sorted(m for m in heavy if m in sys.modules)}), file=sys.stderr)
"""


def test_in_library_track_needs_no_model_decoder_or_librosa(library: tuple[Path, Path]) -> None:
    db, music = library
    done = subprocess.run([sys.executable, "-c", _PROBE, ",".join(HEAVY), str(music / "sweep0.flac"), "--db", str(db)],
                          capture_output=True, text=True, timeout=60)
    probe = json.loads(done.stderr.strip().splitlines()[-1])
    assert probe == {"code": 0, "heavy": []}, done.stderr
    rows = json.loads(done.stdout)
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert str(music / "sweep0.flac") not in [r["path"] for r in rows]


def test_the_query_is_never_among_its_results(library: tuple[Path, Path], lib: Library) -> None:
    _, music = library
    for path in sorted(music.iterdir()):
        query = similar.resolve_query(lib, path)
        assert query.track_id == lib.track_by_path(path).id
        matches = similar.build_playlist(lib, [query], count=50).matches
        assert len(matches) == 6 and query.track_id not in [m.track_id for m in matches]
        sims = [m.similarity for m in matches]
        assert sims == sorted(sims, reverse=True) and all(0.0 <= s <= 1.0 for s in sims)
        assert [m.rank for m in matches] == list(range(1, 7))


def test_a_copy_elsewhere_is_recognised_by_content(library: tuple[Path, Path], lib: Library, tmp_path: Path) -> None:
    _, music = library
    copy = shutil.copy2(music / "noise.flac", tmp_path / "renamed.flac")
    query = similar.resolve_query(lib, copy)
    original = lib.track_by_path(music / "noise.flac").id
    assert query.track_id == original and original in query.exclude
    assert original not in [m.track_id for m in similar.build_playlist(lib, [query], count=10).matches]


def test_an_external_file_is_analysed_ranked_and_not_added(lib: Library, tmp_path: Path) -> None:
    outside = write_audio(tmp_path / "outside.wav", tone(450, 6), SR, "wav")
    tracks, generation = lib.db["tracks"].count, lib.meta_get("index_generation")
    query = similar.resolve_query(lib, outside)
    assert query.track_id is None and query.exclude == set()
    matches = similar.build_playlist(lib, [query], count=3).matches
    assert [m.rank for m in matches] == [1, 2, 3]
    assert matches[0].similarity >= matches[1].similarity >= matches[2].similarity
    assert (lib.db["tracks"].count, lib.meta_get("index_generation")) == (tracks, generation)


def test_a_changed_file_is_analysed_again_and_still_excluded(library: tuple[Path, Path], tmp_path: Path) -> None:
    db = shutil.copy2(library[0], tmp_path / "copy.db")
    with Library(db) as lib:
        row = lib.track_by_path(library[1] / "low.wav")
        lib.update_track(row.id, mtime_ns=row.mtime_ns - 1, quick_hash="stale")  # as if edited since
        query = similar.resolve_query(lib, library[1] / "low.wav")
        assert query.track_id is None and query.exclude == {row.id}
        assert row.id not in [m.track_id for m in similar.build_playlist(lib, [query], count=10).matches]


def test_an_external_file_needs_the_librarys_model(library: tuple[Path, Path], tmp_path: Path) -> None:
    db = shutil.copy2(library[0], tmp_path / "copy.db")
    outside = write_audio(tmp_path / "outside.wav", tone(450, 6), SR, "wav")
    with Library(db) as lib:
        lib.db.execute("UPDATE tracks SET model_id = 'other-0123456789'")
        with pytest.raises(UsageError, match="analysed with model other-0123456789"):
            similar.resolve_query(lib, outside)


def test_genre_filter_accepts_key_or_display_name(library: tuple[Path, Path], lib: Library) -> None:
    _, music = library
    genre = lib.db.execute("SELECT genre FROM tracks WHERE status = 'ok' AND genre IS NOT NULL "
                           "GROUP BY genre ORDER BY COUNT(*) DESC, genre").fetchone()[0]
    query = similar.resolve_query(lib, music / "low.wav")
    for spelling in (genre, genre.upper(), display_name(genre)):
        matches = similar.build_playlist(lib, [query], count=10, genre=spelling).matches
        assert matches and all(m.genre_key == genre for m in matches)
    with pytest.raises(UsageError, match="no track in the library has the genre 'zydeco'"):
        similar.build_playlist(lib, [query], count=10, genre="zydeco")


def test_artist_and_title_from_tags_else_the_file_name(library: tuple[Path, Path]) -> None:
    _, music = library
    assert artist_title(music / "mid.flac") == ("Test Artist", "Concert A")
    assert artist_title(music / "low.wav") == (None, "low")
    assert artist_title(music / "missing.mp3") == (None, "missing")


def test_json_rows_and_m3u_playlist(library: tuple[Path, Path], tmp_path: Path, capsys, monkeypatch) -> None:
    db, music = library
    playlist = tmp_path / "mix.m3u8"
    code, out, _ = run_cli(["similar", music / "low.wav", "--db", db, "-n", "6", "--json", "--m3u", playlist],
                           capsys, monkeypatch)
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 6 and {"rank", "similarity", "path", "genre", "artist", "title"} <= set(rows[0])
    assert {"Test Artist", None} == {r["artist"] for r in rows}
    lines = playlist.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U" and lines[1].startswith("#EXTINF:6,low")
    assert lines[2::2] == [str(music / "low.wav")] + [r["path"] for r in rows]
    assert "#EXTINF:6,Test Artist – Concert A" in lines


def test_table_output(library: tuple[Path, Path], capsys, monkeypatch) -> None:
    db, music = library
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run_cli(["similar", music / "sweep1.wav", "--db", db, "-n", "2"], capsys, monkeypatch)
    assert code == 0 and "similarity" in out and "from the library" in out
    assert out.count("│ 1 ") + out.count("│ 2 ") >= 2


@pytest.mark.parametrize("make, reason, exit_code", [
    (lambda p: p / "gone.mp3", "no such file", 2),  # a usage error, as for scan
    (lambda p: (p / "text.mp3").write_text("hello, not audio") and p / "text.mp3", "not an audio file", 1),
])
def test_an_unreadable_file_gives_its_decode_reason(library, tmp_path, capsys, monkeypatch, make, reason,
                                                    exit_code) -> None:
    code, out, err = run_cli(["similar", make(tmp_path), "--db", library[0]], capsys, monkeypatch)
    assert code == exit_code and out == ""
    assert reason in err and len(err.strip().splitlines()) == 1


def test_no_library_or_an_empty_one_says_scan_first(library, tmp_path, capsys, monkeypatch) -> None:
    missing = tmp_path / "none.db"
    code, _, err = run_cli(["similar", library[1] / "low.wav", "--db", missing], capsys, monkeypatch)
    assert code == 2 and "run musictag scan first" in err and not missing.exists()
    Library(tmp_path / "empty.db").close()
    code, _, err = run_cli(["similar", library[1] / "low.wav", "--db", tmp_path / "empty.db"], capsys, monkeypatch)
    assert code == 2 and "run musictag scan first" in err


def test_index_command_reports_and_rebuilds(library, capsys, monkeypatch) -> None:
    code, out, _ = run_cli(["index", "--db", library[0]], capsys, monkeypatch)
    assert code == 0 and "7 tracks" in out and "up to date" in out
    code, out, err = run_cli(["index", "--db", library[0], "--rebuild"], capsys, monkeypatch)
    assert code == 0 and "rebuilt" in err and "up to date" in out


def test_map_without_umap_says_how_to_install(library, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "umap", None)
    code, out, err = run_cli(["map", "--db", library[0], "--out", "unused.png"], capsys, monkeypatch)
    lines = err.strip().splitlines()  # the stages that ran (progress lines), then the one-line error
    assert code == 2 and "pip install 'musictag[map]'" in lines[-1] and "Traceback" not in err
    assert all(line.startswith("musictag: map: ") for line in lines[:-1])


def test_map_draws_every_track_coloured_by_genre(library, tmp_path, monkeypatch) -> None:
    pytest.importorskip("matplotlib")
    from musictag.map import plot as mapplot

    monkeypatch.setattr(mapplot, "project", lambda v: v[:, :2])  # UMAP itself: the slow test below
    with Library(library[0]) as lib:
        assert mapplot.draw_map(lib, tmp_path / "map.png") == 7
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_umap_projection(library, tmp_path) -> None:
    pytest.importorskip("umap")
    from musictag.map.plot import project

    with Library(library[0]) as lib:
        _, vectors = lib.all_embeddings()
    xy = project(vectors)
    assert xy.shape == (7, 2) and np.isfinite(xy).all()


def test_a_file_name_that_is_not_utf8(library, tmp_path, capsys, monkeypatch) -> None:
    name = os.fsdecode(b"caf\xe9.wav")  # Latin-1 bytes: a lone surrogate in Python
    outside = tmp_path / name
    write_audio(tmp_path / "plain.wav", tone(300, 6), SR, "wav").rename(outside)
    playlist = tmp_path / "mix.m3u8"
    code, out, _ = run_cli(["similar", outside, "--db", library[0], "-n", "2", "--m3u", playlist], capsys, monkeypatch)
    assert code == 0 and "caf\\xe9" in out
    entry = playlist.read_bytes().decode("utf-8").splitlines()[2]  # an M3U8 playlist is UTF-8 throughout
    assert entry.startswith("file://") and unquote_to_bytes(entry[7:]) == os.fsencode(outside)  # the exact bytes
    code, out, _ = run_cli(["similar", outside, "--db", library[0], "-n", "2", "--json"], capsys, monkeypatch)
    assert code == 0 and len(json.loads(out)) == 2


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_artist_and_title_in_every_format(fmt: str, tmp_path: Path) -> None:
    path = write_audio(tmp_path / f"untitled{FORMATS[fmt][0]}", tone(440, 1), SR, fmt)
    assert artist_title(path) == (None, "untitled")
    audio = mutagen.File(path)
    if audio.tags is None:
        audio.add_tags()
    if fmt in ("wav", "aiff", "mp3"):
        audio.tags.add(TPE1(encoding=3, text=["Ann", "Bob"]))
        audio.tags.add(TIT2(encoding=3, text=["Song"]))
    else:
        artist, title = {"aac": ("\xa9ART", "\xa9nam"), "alac": ("\xa9ART", "\xa9nam"),
                         "wma": ("Author", "Title")}.get(fmt, ("artist", "title"))
        audio.tags[artist], audio.tags[title] = ["Ann", "Bob"], ["Song"]
    audio.save()
    assert artist_title(path) == ("Ann, Bob", "Song")
