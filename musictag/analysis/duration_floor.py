"""The shortest track musictag gives a genre to, or offers in ``similar``.

A track shorter than one 3 s patch is looped until it fills one, so the backbone hears a drum hit or a jingle as
three seconds of repetition, and the head can be sure of a genre it has no ground for. ``bench/bench_short_clips.py``
measured what the shipped model writes on excerpts of real recordings cut to 1, 2, 3, 5 and 10 s (README, "Short
files"): 1 s excerpts, looped, were the least precise; from one full patch up (3 s: nothing looped; a 3 s and a 5 s
file are heard alike, as one patch) precision no longer rose beyond the noise. So the floor is one full patch.
"""

from __future__ import annotations

#: Tracks shorter than this many seconds are never tagged (left uncertain, "too short") and never offered by
#: ``similar`` for another seed.
MIN_TAG_SECONDS = 3.0
#: This much under the floor still counts: one patch is 2.976 s, and decoding may lose a few samples.
_SLACK_S = 0.05


def too_short(duration: float | None) -> bool:
    """Whether a track of ``duration`` seconds is too short to be given a genre (None, unknown: not short)."""
    return duration is not None and duration < MIN_TAG_SECONDS - _SLACK_S


def short_reason() -> str:
    """The one-line reason a short track is left uncertain (``list``, the scan summary)."""
    return f"shorter than {MIN_TAG_SECONDS:g} s: too short to tell its genre"
