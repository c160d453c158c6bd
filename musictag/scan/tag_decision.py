"""Which genres a track gets, and what becomes of the genre its file already holds: functions of data.

The scan reads the file's genre field and its backups, then applies what :func:`decide_tag` says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from musictag.analysis.duration_floor import too_short

#: ``write``: put ``wanted`` into the file; ``keep``: leave the field as it is, counted kept; ``withdraw``: put
#: back what the field held before musictag's writes; ``uncertain``: write nothing, the track stays uncertain.
TagAction = Literal["write", "keep", "withdraw", "uncertain"]


@dataclass(frozen=True)
class TagDecision:
    """What to do with one track's genre field, and the tag state the library records after it."""

    action: TagAction
    state: str  # "written" (the field holds musictag's genres), "kept" (the user's), "uncertain" (recorded as
    # "unfamiliar" or "short" by the scan: see :func:`genre_choice`)


def choose_genres(scores: dict[str, float], min_confidence: float, top_k: int) -> list[str]:
    """The genre keys to write: the ``top_k`` best whose score reaches ``min_confidence``, best first."""
    ranked = sorted(scores.items(), key=lambda item: -item[1])[:top_k]
    return [genre for genre, score in ranked if score >= min_confidence]


def top_k_note(top_k: int, min_confidence: float) -> str | None:
    """What to tell a user who asked for ``top_k`` genres at ``min_confidence`` when only one can be written (None:
    more can). Scores sum to 1, so a second genre reaching the threshold needs it at 0.5 or below; a rule relative
    to the first genre was measured and not adopted (bench/bench_second_genres.py: its second genres were right
    0-64 % of the time on real recordings and GTZAN)."""
    if top_k < 2 or min_confidence <= 0.5:
        return None
    return (f"--top-k {top_k}: a second genre is written only when it too reaches the confidence needed "
            f"({min_confidence:.3g}); the genres' scores sum to 1, so above 0.5 at most one genre is written")


def genre_choice(scores: dict[str, float], min_confidence: float, top_k: int, familiar: bool = True,
                 duration: float | None = None) -> tuple[list[str], str]:
    """:func:`choose_genres` for a track, and the tag state it is recorded with if none is chosen: ``short``
    (shorter than :data:`~musictag.analysis.duration_floor.MIN_TAG_SECONDS`: never tagged), ``unfamiliar``
    (unlike every track the model learned from: never tagged), else ``uncertain``."""
    if too_short(duration):
        return [], "short"
    if not familiar:
        return [], "unfamiliar"
    return choose_genres(scores, min_confidence, top_k), "uncertain"


def decide_tag(current: list[str], wanted: list[str], ours: bool, overwrite: bool) -> TagDecision:
    """The fate of a genre field holding ``current`` when the model wants ``wanted`` (empty: it is unsure, or
    the track is unlike what it learned from).

    ``ours``: the field still holds exactly what musictag last wrote there (nobody edited it since). A genre
    the file already has is kept, unless ``overwrite`` or it is musictag's own: that one follows the model,
    updated when the model names another genre, put back as it was before musictag when the model is unsure.
    """
    if not wanted:
        if current and not ours:  # unsure, but the file has a genre of the user's: nothing to decide, it stays
            return TagDecision("keep", "kept")
        return TagDecision("withdraw", "uncertain") if ours and not overwrite else TagDecision("uncertain", "uncertain")
    if current == wanted or (current and not overwrite and not ours):
        return TagDecision("keep", "written" if ours else "kept")
    return TagDecision("write", "written")


def decide_overwrite(current: list[str], wanted: list[str], ours: bool, overwrite: bool,
                     holds: Callable[[list[str], list[str]], bool]) -> TagDecision:
    """:func:`decide_tag`, where ``--overwrite`` leaves the user's genre field alone when it already names every
    genre wanted (``holds``, e.g. :meth:`musictag.scan.spelling.Spelling.holds`: ``Hip Hop`` for ``Hip-Hop``,
    ``Jazz; Blues`` for ``Jazz``): nothing to replace, its other values and its spelling stay."""
    if overwrite and current and wanted and not ours and holds(current, wanted):
        return TagDecision("keep", "kept")
    return decide_tag(current, wanted, ours, overwrite)
