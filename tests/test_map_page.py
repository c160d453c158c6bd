"""``musictag map --out map.html``: one self-contained page, checked as text and in headless Chromium.

UMAP itself is replaced by a fixed spread of the points (its own test is in test_similar.py), so
each point can be hovered on its own. The browser test needs Debian's ``chromium`` and
``chromium-driver`` and the ``selenium`` package (``.ci/run`` installs them); it is skipped, with
the reason, where one is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from mutagen.flac import FLAC

import musictag.cli
from musictag.library.database import Library
from musictag.map import plot as mapplot
from musictag.scan.orchestration import scan
from musictag.scan.report import ScanOptions
from tests.audiogen import sweep, tone, write_audio

SR = 22050
HOSTILE_TITLE = '</script><script>document.title="owned"</script><!--'
HOSTILE_ARTIST = '<img src=x onerror="document.title=\'owned\'">'
LATIN1_NAME = os.fsdecode(b"caf\xe9.wav")


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scanned library of six files, one with hostile tags and one with a Latin-1 name; two
    tracks set to Jazz and the rest to Rock so the legend has two genres."""
    root = tmp_path_factory.mktemp("map")
    music = root / "music"
    music.mkdir()
    for i in range(4):
        write_audio(music / f"sweep{i}.flac", sweep(4, SR, seed=i), SR, "flac")
    write_audio(music / "tone.wav", tone(330, 4), SR, "wav").rename(music / LATIN1_NAME)
    write_audio(music / "low.mp3", tone(110, 4), SR, "mp3")
    tags = FLAC(music / "sweep0.flac")
    tags["artist"], tags["title"] = HOSTILE_ARTIST, HOSTILE_TITLE
    tags.save()
    tags = FLAC(music / "sweep1.flac")
    tags["artist"], tags["title"] = "Ann Example", "Night Drive"
    tags.save()
    db = root / "library.db"
    report = scan([music], db, ScanOptions(jobs=1, write_tags=False))
    assert report.analysed == 6 and report.failed == 0, report.errors
    with Library(db, lock=True) as lib, lib.transaction():
        lib.db.execute("UPDATE tracks SET genre = CASE WHEN path LIKE '%sweep1%' OR path LIKE '%low%' "
                       "THEN 'jazz' ELSE 'rock' END")
    return db


@pytest.fixture
def spread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Points on a fixed grid instead of UMAP's projection: distinct, far apart, in track order."""
    monkeypatch.setattr(mapplot, "project", lambda v: np.c_[np.arange(len(v)) % 3, np.arange(len(v)) // 3] * 1.0)


def _page(library: Path, out: Path) -> str:
    with Library(library) as lib:
        assert mapplot.draw_map(lib, out) == 6
    return out.read_text(encoding="utf-8")


def _data(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    return json.loads(block.group(1))


def test_the_page_is_self_contained_and_its_data_escaped(library, spread, tmp_path) -> None:
    html = _page(library, tmp_path / "map.html")
    assert html.count("</script>") == 2 and "<!--" not in html  # the hostile title cannot end a block
    code = html.replace(re.search(r'id="data">(.*?)</script>', html, re.S).group(1), "")  # the page less its data
    assert not re.search(r"""\b(src|href)\s*=|url\(|@import|https?://(?!www\.w3\.org/2000/svg")""", code)
    assert "default-src 'none'" in html  # and the browser is told to fetch nothing
    data = _data(html)
    assert [g["name"] for g in data["genres"]] == ["Jazz", "Rock"] and [g["count"] for g in data["genres"]] == [2, 4]
    by_title = {p["title"]: p for p in data["points"]}
    assert by_title[HOSTILE_TITLE]["artist"] == HOSTILE_ARTIST  # shown as text, kept whole
    assert by_title["Night Drive"]["artist"] == "Ann Example"
    assert by_title["Night Drive"]["genre"] == 0 and by_title["Night Drive"]["path"].endswith("sweep1.flac")
    assert by_title["caf\\xe9"]["path"].endswith("caf\\xe9.wav")  # one printable rendering, as elsewhere
    assert by_title["low"]["artist"] is None  # untagged: the file name stands in for the title
    assert all(0 <= p["x"] <= 1000 and 0 <= p["y"] <= 1000 for p in data["points"])


def test_map_command_writes_html_and_refuses_other_types(library, spread, tmp_path, capsys, monkeypatch) -> None:
    out = tmp_path / "m.html"
    monkeypatch.setattr(sys, "argv", ["musictag", "map", "--db", str(library), "--out", str(out)])
    with pytest.raises(SystemExit) as done:
        musictag.cli.main()
    assert done.value.code == 0 and "wrote" in capsys.readouterr().out and len(_data(out.read_text())["points"]) == 6
    monkeypatch.setattr(sys, "argv", ["musictag", "map", "--db", str(library), "--out", str(tmp_path / "m.svg")])
    with pytest.raises(SystemExit) as done:
        musictag.cli.main()
    assert done.value.code == 2 and ".png or .html" in capsys.readouterr().err


def _browser(tmp_path: Path):
    """A headless Chromium under WebDriver, or a skip saying what is missing."""
    chromium, driver = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("no headless browser: install Debian's chromium and chromium-driver (.ci/run does)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install '.[test]')")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--window-size=1200,900", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def test_hover_and_legend_in_headless_chromium(library, spread, tmp_path) -> None:
    _page(library, tmp_path / "map.html")
    browser = _browser(tmp_path)
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    try:
        browser.get((tmp_path / "map.html").as_uri())
        dots = browser.find_elements(By.CSS_SELECTOR, "circle")
        tip = browser.find_element(By.ID, "tip")
        assert len(dots) == 6 and not tip.is_displayed()
        shown = {}
        for dot in dots:
            ActionChains(browser).move_to_element(dot).perform()
            assert tip.is_displayed()
            lines = tip.text.splitlines()
            shown[lines[0]] = lines
        assert shown["Night Drive"][1] == "Ann Example" and shown["Night Drive"][3].endswith("sweep1.flac")
        assert re.fullmatch(r"Jazz \(\d+% sure\)", shown["Night Drive"][2])
        assert shown[HOSTILE_TITLE][1] == HOSTILE_ARTIST  # text, not markup
        assert shown["low"][1] == "unknown artist" and shown["caf\\xe9"][3].endswith("caf\\xe9.wav")
        assert browser.title == "musictag library map"  # no tag text ran as script
        assert browser.find_elements(By.TAG_NAME, "img") == []

        jazz, rock = browser.find_elements(By.CSS_SELECTOR, "#legend button")
        assert jazz.text == "Jazz (2)" and rock.text == "Rock (4)"
        jazz.click()
        assert sum(d.is_displayed() for d in dots) == 4 and jazz.get_attribute("aria-pressed") == "false"
        rock.click()
        assert sum(d.is_displayed() for d in dots) == 0
        jazz.click()
        visible = [d for d in dots if d.is_displayed()]
        assert len(visible) == 2
        ActionChains(browser).move_to_element(visible[0]).perform()
        assert tip.text.splitlines()[2].startswith("Jazz (")

        assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
        problems = [e["message"] for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert problems == []  # no script error, nothing the page's policy had to block
    finally:
        browser.quit()
