"""What a scan does with each file it found, decided from the walk and the library's rows alone.

:func:`plan` is a function of data (the walk's :class:`~musictag.scan.discover.Found`, the library's
rows by path key, the model's identity and the scan's options): it touches neither the library nor,
beyond the three callables it is given, the files. The scan applies what it returns.
"""

from __future__ import annotations

import os
import stat as stat_mod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from musictag.analysis.duration_floor import too_short
from musictag.audio.payload import file_hashes
from musictag.errors import FileError
from musictag.hashing import quick_hash
from musictag.library.rows import TrackRow
from musictag.paths import covers, key_to_path, path_to_key
from musictag.scan.discover import Found
from musictag.scan.report import ScanOptions

#: A file to analyse: its path key, its path, its stat (None: the stat failed).
Task = tuple[str, str, os.stat_result]


@dataclass(frozen=True)
class PlanRules:
    """What decides a found file's fate besides the file and its row."""

    model_id: str
    backbone_id: str | None  # the backbone whose stored summaries this model re-scores (None: it cannot)
    min_confidence: float
    retry_failed: bool = False
    overwrite: bool = False
    retag: bool = False  # tracks `restore` put back are decided again (else they stay as restored)

    @classmethod
    def for_scan(cls, model_id: str, backbone_id: str | None, min_confidence: float, options: ScanOptions) -> PlanRules:
        """The rules of a scan run with ``options``."""
        return cls(model_id, backbone_id, min_confidence, options.retry_failed, options.overwrite, options.retag)

    def known_failure(self, row: TrackRow, st: os.stat_result) -> bool:
        """A file that failed with this model and has not changed since, or a link that led nowhere and is the
        same link (its target text's length and its own mtime): not tried again (unless --retry-failed)."""
        return (not self.retry_failed and row.status == "failed" and same_file(row, st)
                and (row.model_id == self.model_id or stat_mod.S_ISLNK(st.st_mode)))

    def unchanged(self, row: TrackRow, st: os.stat_result) -> bool:
        """Analysed by this model, not failed, and the same size and modification time as then."""
        return same_file(row, st) and row.status != "failed" and row.model_id == self.model_id

    def rescorable(self, row: TrackRow) -> bool:
        """Whether a track analysed by another model can get this model's genres from its stored summary."""
        return self.backbone_id is not None and row.status == "ok" and row.summary_backbone == self.backbone_id

    def wants_retag(self, row: TrackRow) -> bool:
        """Whether an unchanged track's tag is to be decided again from its stored scores."""
        if row.status != "ok" or row.tag_state == "unsupported":
            return False
        if row.tag_state == "failed":
            return self.retry_failed
        if row.tag_state == "restored":
            return self.retag
        if self.overwrite or row.tag_state in (None, "outside"):
            return True
        if row.tag_state == "written" and too_short(row.duration):  # tagged before short tracks were left alone
            return True
        return row.tag_state == "uncertain" and (row.confidence or 0.0) >= self.min_confidence


@dataclass(frozen=True)
class Move:
    """A library track found again under another name: same size, same quick hash."""

    row: TrackRow  # its row, under the old path key
    key: str  # the new path key
    path: str
    st: os.stat_result


@dataclass
class Plan:
    """Every found file's fate, and the library rows whose files are gone."""

    analyse: list[Task] = field(default_factory=list)  # sorted by path key
    rescore: list[TrackRow] = field(default_factory=list)
    retag: list[TrackRow] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    #: Changed files of the same audio (tags edited): their rows with the files' new size, mtime and quick hash,
    #: to store; each is also in ``retag`` (or ``rescore``, for another model on the same backbone), not analysed.
    retouched: list[TrackRow] = field(default_factory=list)
    prune: list[TrackRow] = field(default_factory=list)  # rows of vanished files, not found moved
    unstatable: list[tuple[str, str]] = field(default_factory=list)  # key, path: the stat failed
    broken_links: list[Task] = field(default_factory=list)  # links that lead nowhere (the stat is the link's)
    skipped: int = 0  # unchanged
    known_failures: int = 0  # failed before and unchanged since


def same_file(row: TrackRow, st: os.stat_result) -> bool:
    """Whether ``st`` has the size and modification time the row recorded."""
    return row.size == st.st_size and row.mtime_ns == st.st_mtime_ns


def _under(key: str, roots: Sequence[str]) -> bool:
    return any(covers(root, key) for root in roots)


def _fingerprint(path: str) -> str | None:
    try:
        return quick_hash(path)
    except OSError:
        return None


def _hashes(path: str) -> tuple[str, str | None] | None:
    try:
        return file_hashes(path)
    except (OSError, FileError):
        return None


def plan(found: Found, rows: dict[str, TrackRow], rules: PlanRules,
         fingerprint: Callable[[str], str | None] = _fingerprint,
         exists: Callable[[str], bool] = os.path.lexists,
         hashes: Callable[[str], tuple[str, str | None] | None] = _hashes) -> Plan:
    """Sort the found files into unchanged, tags edited, moved, to re-score, to tag again and to analyse, and
    find the rows to prune (their files are gone from a scanned folder, and not found moved).

    ``fingerprint(path)``: a new file's quick hash (None when unreadable), asked only of a new file of the
    size of a vanished track; ``exists(path)``: whether a row outside the scanned folders still has its file;
    ``hashes(path)``: a file's quick hash and audio hash (:func:`musictag.audio.payload.file_hashes`; None when
    unreadable), asked only of a changed file whose row has an audio hash.
    """
    out = Plan()
    new: list[Task] = []
    seen = set()
    for key, path, st in found.files:
        seen.add(key)
        row = rows.get(key)
        if st is None:
            out.unstatable.append((key, path))
        elif row is not None and rules.known_failure(row, st):
            out.known_failures += 1
        elif stat_mod.S_ISLNK(st.st_mode):
            out.broken_links.append((key, path, st))
        elif not stat_mod.S_ISREG(st.st_mode) or st.st_size == 0:
            out.analyse.append((key, path, st))  # the worker says what is wrong with it
        elif row is None:
            new.append((key, path, st))
        elif rules.unchanged(row, st):
            out.skipped += 1
            if rules.wants_retag(row):
                out.retag.append(row)
            elif row.tag_state == "failed":
                out.known_failures += 1
        elif same_file(row, st) and rules.rescorable(row):
            out.rescore.append(row)
        elif not _tags_only(out, row, path, st, rules, hashes):
            out.analyse.append((key, path, st))
    skip_under = [path_to_key(folder) for folder, _ in found.unreadable]
    vanished = [r for k, r in rows.items() if k not in seen and _under(k, found.roots) and not _under(k, skip_under)]
    gone_elsewhere = [] if not new else [r for k, r in rows.items() if not _under(k, found.roots)
                                         and not exists(key_to_path(k))]
    by_size: dict[int, list[TrackRow]] = {}
    for row in vanished + gone_elsewhere:
        if row.quick_hash and row.size:
            by_size.setdefault(row.size, []).append(row)
    moved_ids = set()
    by_audio = {r.audio_hash: r for r in vanished + gone_elsewhere if r.audio_hash and r.status == "ok"}
    for key, path, st in new:
        row = _match_move(by_size.get(st.st_size), path, fingerprint)
        if row is not None and row.id in moved_ids:  # found already, its tags edited: this is a copy
            row = None
        if row is None and by_audio:  # moved and its tags edited in one pass (a tagger that renames files)
            row = _match_retagged_move(out, by_audio, moved_ids, key, path, st, rules, hashes)
            if row is not None:
                continue
        if row is None:
            out.analyse.append((key, path, st))
            continue
        moved_ids.add(row.id)
        out.moves.append(Move(row, key, path, st))
        if row.model_id != rules.model_id and rules.rescorable(row):
            out.rescore.append(replace(row, path=key, size=st.st_size, mtime_ns=st.st_mtime_ns))
        elif row.status == "failed" or row.model_id != rules.model_id:
            out.analyse.append((key, path, st))
    out.prune = [r for r in vanished if r.id not in moved_ids]
    out.analyse.sort(key=lambda item: item[0])
    return out


def _tags_only(out: Plan, row: TrackRow, path: str, st: os.stat_result, rules: PlanRules,
               hashes: Callable[[str], tuple[str, str | None] | None]) -> bool:
    """Whether the changed file at ``path`` holds the audio its row recorded (the same audio hash: its tags were
    edited); if so its row, with the file's new size, mtime and quick hash, goes to ``out.retouched`` and to be
    tagged again from its stored scores (re-scored, for another model on the same backbone): not analysed."""
    if row.audio_hash is None or row.status == "failed" or not (row.model_id == rules.model_id
                                                               or rules.rescorable(row)):
        return False
    now = hashes(path)
    if now is None or now[1] != row.audio_hash:
        return False
    _retouched(out, replace(row, size=st.st_size, mtime_ns=st.st_mtime_ns, quick_hash=now[0]), rules)
    return True


def _retouched(out: Plan, row: TrackRow, rules: PlanRules) -> None:
    """``row`` (its file's new stat and quick hash in it) holds the audio it held, its tags edited: to be tagged
    again from its stored scores (re-scored, for another model on the same backbone), not analysed."""
    out.retouched.append(row)
    if row.model_id != rules.model_id:
        out.rescore.append(row)
    elif row.status == "ok" and row.tag_state != "unsupported":
        out.retag.append(row)  # the tags are read again: an edited genre is the user's


def _match_retagged_move(out: Plan, by_audio: dict[str, TrackRow], moved_ids: set[int], key: str, path: str,
                         st: os.stat_result, rules: PlanRules,
                         hashes: Callable[[str], tuple[str, str | None] | None]) -> TrackRow | None:
    """The vanished row whose audio hash the new file at ``path`` has (moved, and its tags edited), taken out
    of ``by_audio``: moved there (its tag backups with it) and tagged again as a tag edit is; else None."""
    now = hashes(path)
    row = by_audio.get(now[1]) if now is not None and now[1] else None
    if row is None or row.id in moved_ids or not (row.model_id == rules.model_id or rules.rescorable(row)):
        return None
    del by_audio[now[1]]
    moved_ids.add(row.id)
    out.moves.append(Move(row, key, path, st))
    _retouched(out, replace(row, path=key, size=st.st_size, mtime_ns=st.st_mtime_ns, quick_hash=now[0]), rules)
    return row


def _match_move(candidates: list[TrackRow] | None, path: str,
                fingerprint: Callable[[str], str | None]) -> TrackRow | None:
    """The vanished row (of this file's size) whose quick hash the file has, taken out of ``candidates``."""
    if not candidates:
        return None
    digest = fingerprint(path)
    if digest is None:
        return None
    for row in candidates:
        if row.quick_hash == digest:
            candidates.remove(row)
            return row
    return None
