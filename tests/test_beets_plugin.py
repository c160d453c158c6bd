"""musictag as a beets plugin (beetsplug/musictag.py) on a real beets library in a temporary folder: real
audio files, analysed by musictag's engine, their genres set on the beets items and written by beets,
checked by reading the files back; on import (``auto``); ``musictag-similar``; bad files and settings.

``min_confidence`` 0 gives every analysed track its best genre, whatever the model says (as in test_scan).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

pytest.importorskip("beets")

from beets.library import Item  # noqa: E402
from beets.test.helper import PluginTestHelper  # noqa: E402
from beets.ui import UserError  # noqa: E402
from mediafile import MediaFile  # noqa: E402

from musictag.library.database import Library  # noqa: E402
from musictag.scan.orchestration import scan  # noqa: E402
from musictag.scan.report import ScanOptions  # noqa: E402
from musictag.tags.fields import display_name  # noqa: E402
from tests import audiogen  # noqa: E402
from tests.scan_checks import require_model, track_rows  # noqa: E402

require_model()

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("flac", "mp3", "ogg", "aac")  # flac starts with Jazz, mp3 with Ambient and Dub (tests/conftest.py)


def _genres(item: Item) -> list[str]:
    from beetsplug.musictag import item_genres

    return item_genres(item)


@pytest.fixture(autouse=True)
def _beets_log_to_this_tests_stderr():
    """beets gives its logger one stream handler, on the stderr of the first command: each test gets its own."""
    log = logging.getLogger("beets")
    saved, log.handlers = log.handlers, []
    yield
    log.handlers = saved


class TestBeetsPlugin(PluginTestHelper):
    plugin: ClassVar[str] = "musictag"
    preload_plugin: ClassVar[bool] = False  # each test sets the config first (auto registers on load)
    db_on_disk: ClassVar[bool] = True

    def start(self, tagged_files: dict[str, Path], formats=FORMATS, write: bool = True, **config) -> list[Item]:
        """The plugin loaded with ``config``; one beets item per format, its file a copy in beets' folder."""
        self.db = self.temp_path / "musictag" / "lib.db"  # a folder not there yet: the plugin's scan makes it
        self.config["musictag"].set({"db": str(self.db), "min_confidence": 0.0, "jobs": 2, **config})
        self.config["import"]["write"] = write
        self.load_plugins()
        items = []
        for fmt in formats:
            path = self.lib_path / f"{fmt}{tagged_files[fmt].suffix}"
            shutil.copy(tagged_files[fmt], path)
            item = Item.from_path(path)
            item.title = f"Song {fmt}"
            item.add(self.lib)
            items.append(item)
        return items

    def fresh(self, item: Item) -> Item:
        return self.lib.get_item(item.id)

    def test_sets_empty_genres_beets_writes_them_and_musictag_writes_nothing(self, tagged_files, capsys):
        items = self.start(tagged_files)
        self.run_command("musictag")
        rows = track_rows(self.db)
        with Library(self.db, readonly=True) as library:
            assert library.db["tag_backups"].count == 0  # musictag wrote no tag of its own
        for item in map(self.fresh, items):
            path = os.fsdecode(item.path)
            row = rows[path]
            assert row.status == "ok" and row.tag_state is None
            own = {"flac": ["Jazz"], "mp3": ["Ambient", "Dub"]}.get(item.title.split()[-1])
            expected = own or [display_name(row.genre)]
            assert _genres(item) == expected
            assert audiogen.raw_genres(Path(path)) == expected  # written by beets, read back from the file
            assert item["musictag_genre"] == display_name(row.genre)
            assert item["musictag_confidence"] == pytest.approx(row.confidence, abs=1e-4)
            st = os.stat(path)
            assert (row.size, row.mtime_ns) == (st.st_size, st.st_mtime_ns)  # beets' write recorded
        assert "4 analysed, 0 unchanged, 2 genres set, 2 kept their genre, 0 uncertain, 0 failed" in \
            capsys.readouterr().out

        self.run_command("musictag")  # nothing changed: nothing analysed again, beets' writes included
        assert "0 analysed, 4 unchanged, 0 genres set, 2 kept their genre" in capsys.readouterr().out

    def test_overwrite_replaces_and_an_unsure_model_puts_back_what_was_there(self, tagged_files, capsys):
        mp3, ogg = self.start(tagged_files, formats=("mp3", "ogg"))  # the model has no Ambient nor Dub
        self.run_command("musictag", "--overwrite")
        row = track_rows(self.db)[os.fsdecode(mp3.path)]
        mp3, ogg = self.fresh(mp3), self.fresh(ogg)
        assert _genres(mp3) == [display_name(row.genre)]
        assert audiogen.raw_genres(Path(os.fsdecode(mp3.path))) == _genres(mp3)
        assert json.loads(mp3["musictag_original"]) == ["Ambient", "Dub"] and "musictag_original" not in ogg

        self.run_command("musictag", "--min-confidence", "1")  # unsure now: the genres it set follow it
        mp3, ogg = self.fresh(mp3), self.fresh(ogg)
        assert _genres(mp3) == ["Ambient", "Dub"] and _genres(ogg) == []
        assert audiogen.raw_genres(Path(os.fsdecode(mp3.path))) == ["Ambient", "Dub"]
        assert not audiogen.raw_genres(Path(os.fsdecode(ogg.path)))
        assert "musictag_written" not in mp3 and "musictag_original" not in mp3
        assert "0 genres set, 0 kept their genre, 2 uncertain, 2 put back as they were" in capsys.readouterr().out

    def test_without_import_write_beets_gets_the_genre_and_the_file_is_left_alone(self, tagged_files):
        (ogg,) = self.start(tagged_files, formats=("ogg",), write=False)
        before = Path(os.fsdecode(ogg.path)).read_bytes()
        self.run_command("musictag")
        assert _genres(self.fresh(ogg)) and Path(os.fsdecode(ogg.path)).read_bytes() == before

    def test_bad_and_missing_files_fail_in_one_line_and_the_rest_goes_on(self, tagged_files, capsys):
        ogg, flac, mp3 = self.start(tagged_files, formats=("ogg", "flac", "mp3"))
        Path(os.fsdecode(flac.path)).write_bytes(b"not audio " * 200)
        os.unlink(os.fsdecode(mp3.path))
        self.run_command("musictag")
        out, err = capsys.readouterr()
        failed = [line for line in err.splitlines() if line.startswith("musictag: failed: ")]
        assert len(failed) == 2 and "Traceback" not in err, err
        assert any(os.fsdecode(flac.path) in line for line in failed)
        assert any(os.fsdecode(mp3.path) in line and "no such file" in line for line in failed)
        assert _genres(self.fresh(ogg)) and _genres(self.fresh(flac)) == ["Jazz"]
        assert "1 genres set, 0 kept their genre, 0 uncertain, 2 failed" in out

    def test_auto_analyses_on_import(self, tagged_files):
        folder = self.temp_path / "incoming"
        folder.mkdir()
        shutil.copy(tagged_files["ogg"], folder / "new.ogg")
        self.start(tagged_files, formats=(), auto=True)
        self.config["import"].set({"copy": True, "write": True})
        self.run_command("import", "-A", "-s", "-q", str(folder))
        (item,) = self.lib.items()
        assert os.fsdecode(item.path).startswith(str(self.lib_path))  # in place: analysed where beets put it
        assert _genres(item) and audiogen.raw_genres(Path(os.fsdecode(item.path))) == _genres(item)
        assert os.fsdecode(item.path) in track_rows(self.db)

    def test_similar_prints_beets_items_and_writes_an_m3u(self, tagged_files, capsys):
        items = self.start(tagged_files)
        outsider = self.temp_path / "outside" / "other.flac"  # in musictag's library, not in beets'
        outsider.parent.mkdir()
        shutil.copy(tagged_files["wav"], outsider)
        scan([outsider], self.db, ScanOptions(write_tags=False, jobs=1))
        self.run_command("musictag")
        capsys.readouterr()
        m3u = self.temp_path / "mix.m3u8"
        self.run_command("musictag-similar", "title:Song flac", "-n", "2", "-f", "$title|$musictag_similarity",
                         "--m3u", str(m3u))
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 2 and all(line.split("|")[0] in {"Song mp3", "Song ogg", "Song aac"} for line in lines)
        assert 0 <= float(lines[1].split("|")[1]) <= float(lines[0].split("|")[1]) <= 1
        entries = [line for line in m3u.read_text().splitlines() if not line.startswith("#")]
        assert entries[0] == os.fsdecode(items[0].path) and len(entries) == 3 and str(outsider) not in entries

        with pytest.raises(UserError, match="no item matches"):
            self.run_command("musictag-similar", "title:nothing such")

    def test_bad_settings_are_one_line_errors(self, tagged_files):
        self.start(tagged_files, formats=("ogg",), min_confidence="high")
        with pytest.raises(UserError, match="min_confidence must be a number from 0 to 1"):
            self.run_command("musictag")
        with pytest.raises(UserError, match="no model folder at"):
            self.run_command("musictag", "--min-confidence", "0.5", "--model", str(self.temp_path / "none"))
        self.config["musictag"]["min_confidence"] = 0.5
        with pytest.raises(UserError, match="top_k must be a whole number of at least 1"):
            self.run_command("musictag", "--top-k", "0")
        with pytest.raises(UserError, match="no musictag library at .* run `beet musictag` first"):
            self.run_command("musictag-similar", "ogg")


def test_beet_in_a_real_process_gives_one_line_failures(tagged_files, tmp_path):
    """``beet`` itself (a subprocess, a config folder of its own): a file beets cannot find and a broken
    file are one line each, no traceback, and the good file gets its genre in the file."""
    music, config = tmp_path / "music", tmp_path / "beets"
    music.mkdir()
    config.mkdir()
    (config / "config.yaml").write_text(f"directory: {music}\nlibrary: {config / 'library.db'}\nplugins: musictag\n"
                                        f"import: {{write: yes, copy: yes}}\nmusictag: {{db: {tmp_path / 'mt.db'}, "
                                        "min_confidence: 0, jobs: 1}\n")
    for fmt, name in (("ogg", "good.ogg"), ("flac", "bad.flac")):
        shutil.copy(tagged_files[fmt], music / name)
        tags = MediaFile(music / name)
        tags.title = name  # not one track twice, for beets
        tags.save()
    env = {**os.environ, "BEETSDIR": str(config), "HOME": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

    def beet(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "beets", *args], capture_output=True, text=True, env=env,
                              timeout=300)

    assert beet("import", "-A", "-s", "-q", "-C", str(music)).returncode == 0
    assert len(beet("ls").stdout.splitlines()) == 2
    (music / "bad.flac").write_bytes(b"\x00" * 4000)
    res = beet("musictag")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    failed = [line for line in res.stderr.splitlines() if line.startswith("musictag: failed: ")]
    assert len(failed) == 1 and "bad.flac" in failed[0], res.stderr
    assert "1 genres set" in res.stdout and "1 failed" in res.stdout, res.stdout
    assert audiogen.raw_genres(music / "good.ogg")
