"""What a scan is asked to do (:class:`ScanOptions`) and what it tells of what it did (:class:`ScanReport`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from musictag.paths import path_fields

#: --min-confidence for a model that recommends none (window networks): below it a track's genre
#: counts as uncertain and is not written. A head trained by musictag recommends its own
#: (``recommended_min_confidence`` in model.json: the lowest threshold at which its held-out tracks
#: were at least 90% right), and scan uses that. For gtzan-crnn, 0.6 kept 41% of its held-out tracks,
#: 83% right (71% over all tracks).
DEFAULT_MIN_CONFIDENCE = 0.6
Progress = Callable[[str, int, int], None]  # (phase, done, total); total 0 when unknown


@dataclass
class ScanOptions:
    """How a scan analyses and tags (the CLI options of ``musictag scan``)."""

    model_dir: str | os.PathLike | None = None  # None: the library's last --model, else the shipped one
    write_tags: bool = True  # False (--no-write): analyse and store, leave every file as it is
    jobs: int | None = None  # worker processes; None: one per CPU core
    cluster: str | None = None  # --cluster: analyse on a Dask cluster (scheduler address, or local:N) instead
    dry_run: bool = False
    overwrite: bool = False
    min_confidence: float | None = None  # None: the model's recommendation, else DEFAULT_MIN_CONFIDENCE
    top_k: int = 1
    id3v23: bool = False
    retry_failed: bool = False  # analyse (and tag) again files that failed and have not changed since
    retag: bool = False  # decide again the genre of tracks that `musictag restore` put back
    genre_map: dict[str, str] | None = None  # --map (musictag.library.labels.read_map): the names to write
    on_change: Callable[[TagChange], None] | None = None  # told of each genre field changed, as it is (scan -v)


@dataclass
class TagChange:
    """A genre field that the scan changed (or, in a dry run, would change)."""

    path: str
    old: list[str]
    new: list[str]
    path_bytes: str | None = None  # hex of the exact name, when ``path`` (printable text) is not it


@dataclass
class ScanReport:
    """What a scan found and did; ``to_json()`` is the ``--json`` output."""

    found: int = 0
    analysed: int = 0
    rescored: int = 0  # unchanged tracks given new genres from their stored backbone summary (no decoding)
    skipped: int = 0
    tags_edited: int = 0  # changed files whose audio is as it was (their tags edited): tagged again, not analysed
    moved: int = 0
    pruned: int = 0
    tagged: int = 0
    uncertain: int = 0
    too_short: int = 0  # of the uncertain: shorter than musictag.analysis.duration_floor.MIN_TAG_SECONDS, never tagged
    failed: int = 0  # in this run
    known_failures: int = 0  # failed before and unchanged since: not tried again (``musictag errors`` lists them)
    silent: int = 0
    kept: int = 0  # had a genre already (no --overwrite)
    updated: int = 0  # a genre musictag wrote earlier, unedited since, that this model changed (counted in tagged)
    withdrawn: int = 0  # a genre musictag wrote earlier, unedited since, put back as it was: this model is unsure
    untaggable: int = 0  # analysed, but the format has no genre tag musictag writes
    outside: int = 0  # reached through a link that leads out of the scanned folders: analysed, not tagged
    cleaned: int = 0  # working copies of interrupted tag writes removed
    errors: list[dict[str, str]] = field(default_factory=list)
    uncertain_tracks: list[dict[str, Any]] = field(default_factory=list)
    silent_tracks: list[str] = field(default_factory=list)
    changes: list[TagChange] = field(default_factory=list)
    moves: list[dict[str, str]] = field(default_factory=list)
    pruned_paths: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    dry_run: bool = False
    model_id: str | None = None
    min_confidence: float | None = None  # the threshold this scan used
    db: str | None = None
    db_created: bool = False  # this scan made a new library at ``db``
    worker_peak_rss: int = 0  # bytes, the largest of any worker
    model_name: str | None = None  # the model folder's name
    model_remembered: bool = False  # the model came from the library (the last scan's --model), not the command
    not_written: int = 0  # tags left undecided because of --no-write (a later scan decides them)
    pool_died: str | None = None  # why the analysis stopped early: no worker process could be started
    not_analysed: int = 0  # files never started because the worker processes died
    runtime: str | None = None  # what ran the model in the workers: "openvino f32", "litert f32", ...
    runtime_note: str | None = None  # why not OpenVINO, when it was wanted and could not be used
    #: the model's spelling -> the name this scan writes instead (--map's, or the library's own spelling)
    spellings: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when all went well, 1 when some files failed or were not analysed, 130 when interrupted."""
        return 130 if self.interrupted else 1 if self.failed or self.pool_died else 0

    def fail(self, path: str | bytes | os.PathLike, reason: str) -> None:
        """Count a failed file and keep its one-line reason."""
        self.failed += 1
        self.errors.append({**path_fields(path), "reason": reason})

    def to_json(self) -> dict[str, Any]:
        """The machine-readable summary."""
        out = asdict(self)
        out["changes"] = [{k: v for k, v in asdict(c).items() if k != "path_bytes" or v} for c in self.changes]
        return out
