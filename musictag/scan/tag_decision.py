"""Which genres a track gets, and what becomes of the genre its file already holds: functions of data.

The scan reads the file's genre field and its backups, then applies what :func:`decide_tag` says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

#: ``write``: put ``wanted`` into the file; ``keep``: leave the field as it is, counted kept; ``withdraw``: put
#: back what the field held before musictag's writes; ``uncertain``: write nothing, the track stays uncertain.
TagAction = Literal["write", "keep", "withdraw", "uncertain"]


@dataclass(frozen=True)
class TagDecision:
    """What to do with one track's genre field, and the tag state the library records after it."""

    action: TagAction
    state: str  # "written" (the field holds musictag's genres), "kept" (the user's), "uncertain" (recorded as
    # "unfamiliar" by the scan when the track is unlike what the model learned from)


def choose_genres(scores: dict[str, float], min_confidence: float, top_k: int) -> list[str]:
    """The genre keys to write: the ``top_k`` best whose score reaches ``min_confidence``, best first."""
    ranked = sorted(scores.items(), key=lambda item: -item[1])[:top_k]
    return [genre for genre, score in ranked if score >= min_confidence]


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
