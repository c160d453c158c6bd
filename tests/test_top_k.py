"""`--top-k` (issue 25 item 6): a second genre is written only when it reaches the threshold on its own, which the
scores (they sum to 1) allow only at 0.5 or below; scan says so rather than silently writing one genre."""

from __future__ import annotations

from musictag.scan.tag_decision import choose_genres, top_k_note
from tests.cli_checks import run_musictag


def test_help_says_when_a_second_genre_can_be_written():
    res = run_musictag("scan", "--help")
    text = "".join(res.stdout.split())  # wrapped lines (also at hyphens) joined
    for said in ("each only when it reaches --min-confidence on its own",
                 "a second genre is possible only at --min-confidence 0.5 or below, never at the default"):
        assert "".join(said.split()) in text


def test_scan_tells_that_top_k_above_one_writes_one_genre_at_a_high_threshold(tmp_path):
    (tmp_path / "music").mkdir()
    db = str(tmp_path / "lib.db")
    res = run_musictag("scan", str(tmp_path / "music"), "--db", db, "--top-k", "2")
    assert res.returncode == 0, res.stderr
    assert "musictag: --top-k 2: a second genre is written only when it too reaches the confidence needed (0.99)" \
        in res.stderr
    res = run_musictag("scan", str(tmp_path / "music"), "--db", db, "--top-k", "2", "--min-confidence", "0.4")
    assert res.returncode == 0 and "--top-k" not in res.stderr
    assert "--top-k" not in run_musictag("scan", str(tmp_path / "music"), "--db", db).stderr


def test_the_rule_itself():
    scores = {"metal": 0.55, "rock": 0.42, "jazz": 0.03}
    assert choose_genres(scores, 0.4, 2) == ["metal", "rock"]
    assert choose_genres(scores, 0.5, 2) == ["metal"]
    assert top_k_note(1, 0.99) is None and top_k_note(2, 0.5) is None and top_k_note(3, 0.8)
