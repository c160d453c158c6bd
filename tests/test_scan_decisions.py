"""The scan's decisions as functions of data: the plan of a walk against the library's rows, and the fate of
a genre field. No audio file, no library: rows and stats are written out here."""

from __future__ import annotations

import stat
from types import SimpleNamespace

import pytest

from musictag.library.rows import TrackRow
from musictag.scan.discover import Found
from musictag.scan.plan import PlanRules, plan
from musictag.scan.tag_decision import decide_tag

RULES = PlanRules(model_id="m1", backbone_id="b1", min_confidence=0.8)
REG = stat.S_IFREG | 0o644


def st(size: int, mtime_ns: int = 1, mode: int = REG) -> SimpleNamespace:
    return SimpleNamespace(st_mode=mode, st_size=size, st_mtime_ns=mtime_ns)


def row(track_id: int, key: str, size: int, **values) -> TrackRow:
    base = {"id": track_id, "path": key, "size": size, "mtime_ns": 1, "quick_hash": f"h{track_id}", "status": "ok",
            "model_id": "m1", "tag_state": "kept", "confidence": 0.9, "summary_backbone": "b1"}
    return TrackRow(**(base | values))


def walk(*files: tuple[str, SimpleNamespace | None], unreadable: tuple[str, ...] = ()) -> Found:
    return Found(files=[(key, key, s) for key, s in files], unreadable=[(u, "permission denied") for u in unreadable],
                 roots=["/music"])


def test_each_found_file_gets_its_fate_from_its_row():
    rows = {"/music/same.mp3": row(1, "/music/same.mp3", 100),
            "/music/retag.mp3": row(2, "/music/retag.mp3", 100, tag_state=None),
            "/music/edited.mp3": row(3, "/music/edited.mp3", 100),
            "/music/failed.mp3": row(4, "/music/failed.mp3", 100, status="failed"),
            "/music/other-model.mp3": row(5, "/music/other-model.mp3", 100, model_id="m0"),
            "/music/other-backbone.mp3": row(6, "/music/other-backbone.mp3", 100, model_id="m0", summary_backbone="b0")}
    found = walk(("/music/same.mp3", st(100)), ("/music/retag.mp3", st(100)), ("/music/edited.mp3", st(120)),
                 ("/music/failed.mp3", st(100)), ("/music/other-model.mp3", st(100)),
                 ("/music/other-backbone.mp3", st(100)), ("/music/new.mp3", st(50)), ("/music/gone.mp3", None),
                 ("/music/empty.mp3", st(0)))
    decided = plan(found, rows, RULES, fingerprint=lambda path: pytest.fail("no move to look for"))
    assert decided.skipped == 2 and [r.id for r in decided.retag] == [2]
    assert decided.known_failures == 1
    assert [r.id for r in decided.rescore] == [5]  # same file, its stored summary fits this model
    assert [key for key, _, _ in decided.analyse] == ["/music/edited.mp3", "/music/empty.mp3", "/music/new.mp3",
                                                      "/music/other-backbone.mp3"]  # sorted by key
    assert decided.unstatable == [("/music/gone.mp3", "/music/gone.mp3")]
    assert decided.moves == [] and decided.prune == []


def test_a_link_to_nothing_is_known_by_its_own_stat_whatever_the_model():
    link = stat.S_IFLNK | 0o777
    rows = {"/music/old-link.mp3": row(1, "/music/old-link.mp3", 12, status="failed", model_id="m0")}
    found = walk(("/music/old-link.mp3", st(12, mode=link)), ("/music/new-link.mp3", st(12, mode=link)),
                 ("/music/relinked.mp3", st(14, mode=link)))
    rows["/music/relinked.mp3"] = row(2, "/music/relinked.mp3", 12, status="failed")
    decided = plan(found, rows, RULES, fingerprint=lambda path: pytest.fail("a link is not hashed"))
    assert decided.known_failures == 1 and decided.analyse == []
    assert [key for key, _, _ in decided.broken_links] == ["/music/new-link.mp3", "/music/relinked.mp3"]


def test_a_vanished_track_found_under_a_new_name_moves_and_the_rest_are_pruned():
    rows = {"/music/old.mp3": row(1, "/music/old.mp3", 100), "/music/lost.mp3": row(2, "/music/lost.mp3", 100),
            "/music/unreadable/x.mp3": row(3, "/music/unreadable/x.mp3", 70)}
    found = walk(("/music/new.mp3", st(100)), ("/music/stranger.mp3", st(100)), unreadable=("/music/unreadable",))
    hashes = {"/music/new.mp3": "h1", "/music/stranger.mp3": "zz"}
    decided = plan(found, rows, RULES, fingerprint=hashes.get)
    assert [(m.row.id, m.key) for m in decided.moves] == [(1, "/music/new.mp3")]
    assert [key for key, _, _ in decided.analyse] == ["/music/stranger.mp3"]
    assert [r.id for r in decided.prune] == [2]  # the row under an unreadable folder is left alone


def test_retry_failed_and_overwrite_change_the_plan():
    rows = {"/music/failed.mp3": row(1, "/music/failed.mp3", 100, status="failed"),
            "/music/kept.mp3": row(2, "/music/kept.mp3", 100)}
    found = walk(("/music/failed.mp3", st(100)), ("/music/kept.mp3", st(100)))
    decided = plan(found, rows, PlanRules("m1", "b1", 0.8, retry_failed=True, overwrite=True))
    assert [key for key, _, _ in decided.analyse] == ["/music/failed.mp3"]
    assert [r.id for r in decided.retag] == [2]


def test_a_changed_file_of_the_same_audio_had_its_tags_edited_and_is_tagged_again_not_analysed():
    rows = {"/music/retitled.mp3": row(1, "/music/retitled.mp3", 100, audio_hash="a1"),
            "/music/remixed.mp3": row(2, "/music/remixed.mp3", 100, audio_hash="a2"),
            "/music/silent.mp3": row(3, "/music/silent.mp3", 100, audio_hash="a3", status="silent"),
            "/music/no-genre-tag.aac": row(4, "/music/no-genre-tag.aac", 100, audio_hash="a4", tag_state="unsupported"),
            "/music/other-head.mp3": row(5, "/music/other-head.mp3", 100, audio_hash="a5", model_id="m0"),
            "/music/old-row.mp3": row(6, "/music/old-row.mp3", 100),  # an older library's: no audio hash
            "/music/failed.mp3": row(7, "/music/failed.mp3", 100, audio_hash="a7", status="failed"),
            "/music/other-backbone.mp3": row(8, "/music/other-backbone.mp3", 100, audio_hash="a8", model_id="m0",
                                             summary_backbone="b0")}
    found = walk(*((key, st(300, mtime_ns=2)) for key in rows))
    now = {"/music/retitled.mp3": "a1", "/music/remixed.mp3": "new audio", "/music/silent.mp3": "a3",
           "/music/no-genre-tag.aac": "a4", "/music/other-head.mp3": "a5"}
    asked = []

    def hashes(path):
        asked.append(path)
        return f"q-{path}", now[path]

    decided = plan(found, rows, RULES, hashes=hashes)
    assert sorted(asked) == sorted(now)  # never asked of a row without an audio hash, failed, or not reusable
    assert [(r.id, r.size, r.mtime_ns, r.quick_hash) for r in decided.retouched] == [
        (i, 300, 2, f"q-{key}") for i, key in ((1, "/music/retitled.mp3"), (3, "/music/silent.mp3"),
                                              (4, "/music/no-genre-tag.aac"), (5, "/music/other-head.mp3"))]
    assert [r.id for r in decided.retag] == [1]  # its tags read again; silent and untaggable: nothing to decide
    assert [(r.id, r.size) for r in decided.rescore] == [(5, 300)]
    assert [key for key, _, _ in decided.analyse] == ["/music/failed.mp3", "/music/old-row.mp3",
                                                      "/music/other-backbone.mp3", "/music/remixed.mp3"]
    assert decided.skipped == 0


@pytest.mark.parametrize(("current", "wanted", "ours", "overwrite", "action", "state"), [
    ([], ["Rock"], False, False, "write", "written"),  # an empty field gets the genre
    (["Jazz"], ["Rock"], False, False, "keep", "kept"),  # the user's own genre stays
    (["Jazz"], ["Rock"], False, True, "write", "written"),  # unless --overwrite
    (["Rock"], ["Rock"], False, False, "keep", "kept"),
    (["Rock"], ["Rock"], True, False, "keep", "written"),
    (["Jazz"], ["Rock"], True, False, "write", "written"),  # musictag's own, unedited: follows the model
    (["Jazz"], [], True, False, "withdraw", "uncertain"),  # ... and is taken back when the model is unsure
    (["Jazz"], [], True, True, "uncertain", "uncertain"),
    (["Jazz"], [], False, False, "keep", "kept"),  # unsure, but the user's own genre is there: kept, not uncertain
    (["Jazz"], [], False, True, "keep", "kept"),
    ([], [], False, False, "uncertain", "uncertain"),
])
def test_the_fate_of_a_genre_field(current, wanted, ours, overwrite, action, state):
    decision = decide_tag(current, wanted, ours, overwrite)
    assert (decision.action, decision.state) == (action, state)
