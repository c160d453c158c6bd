"""What a model folder's ``model.json`` must hold: the type of every field inference reads, checked once.

:func:`check_description` runs when a folder is read (:meth:`musictag.analysis.models.ModelInfo.read`),
before anything uses a field, so that a hand-edited or damaged description is refused in one line
naming the file and the field (:class:`UsageError`, exit 2) instead of failing later with a traceback.
What the fields must agree with outside the file (the head's outputs, the backbone's checksum, the
frame and feature versions) is checked where those are read. ``familiarity`` is checked by
:meth:`musictag.analysis.familiarity.Familiarity.load`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from musictag.errors import UsageError


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return _whole(value) or isinstance(value, float) and math.isfinite(value)


def _fraction_or_null(value: object) -> bool:  # null: training found no threshold to recommend
    return value is None or _number(value) and 0.0 <= value <= 1.0


def _positive(value: object) -> bool:
    return _whole(value) and value >= 1


def _numbers(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(_number(v) for v in value)


def _genres(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(_text(g) for g in value) and len(set(value)) == len(value)


def _object(value: object) -> bool:
    return isinstance(value, dict)


#: (field, test, what it must be, required): a dotted field lies inside the object before its dot, which
#: an earlier row has checked.
Field = tuple[str, Callable[[object], bool], str, bool]

_EVERY_MODEL: list[Field] = [
    ("genres", _genres, "a list of distinct, non-empty genre names", True),
    ("name", _text, "a non-empty text (or absent)", False),
    ("input", _text, "the name of the model's input, as text (or absent)", False),
    ("head", _text, "the head's kind, as text (or absent)", False),
    ("labels", _text, "text (or absent)", False),
    ("recommended_min_confidence", _fraction_or_null, "a number from 0 to 1 (or null, or absent)", False),
    ("embedding_dim", _positive, "a positive whole number (or absent)", False),
]
#: A head on the pretrained backbone (``"input": "musicnn"``).
_ON_BACKBONE: list[Field] = [
    ("backbone", _object, "an object with the backbone's name and sha256", True),
    ("backbone.name", _text, "the backbone folder's name, as text", True),
    ("backbone.sha256", _text, "the backbone's checksum, as text", True),
]
#: A head on frames (``"frames"`` present).
_ON_FRAMES: list[Field] = [("frames", _object, "an object of frame settings", True)]
#: A window network on the 44 features (neither of the above).
_WINDOWS: list[Field] = [
    ("features", _object, "an object with the feature version", True),
    ("features.version", _whole, "a whole number", True),
    ("scaling", _object, "an object with the feature scaling (kind, shift, scale)", True),
    ("scaling.kind", _text, "the scaling's kind, as text", True),
    ("scaling.shift", _numbers, "a list of numbers", True),
    ("scaling.scale", _numbers, "a list of numbers", True),
    ("outputs", _object, "an object naming the network's probabilities and embedding outputs", True),
    ("outputs.probabilities", _text, "the name of the network's output, as text", True),
    ("outputs.embedding", _text, "the name of the network's output, as text", True),
]


def check_description(meta_path: Path, meta: object) -> dict[str, Any]:
    """``meta``, the parsed ``meta_path``, when every field inference reads has its type; else
    :class:`UsageError`, one line naming the file and the field."""
    if not isinstance(meta, dict):
        raise UsageError(f"{meta_path}: not a model description (a JSON object is needed)")
    on_backbone, on_frames = meta.get("input") == "musicnn", "frames" in meta
    for name, test, must_be, required in _EVERY_MODEL + (_ON_BACKBONE if on_backbone else
                                                         _ON_FRAMES if on_frames else _WINDOWS):
        *parents, last = name.split(".")
        holder = meta
        for parent in parents:
            holder = holder[parent]
        if last not in holder:
            if required:
                raise UsageError(f"{meta_path}: no {name} (it must be {must_be})")
            continue
        if not test(holder[last]):
            raise UsageError(f"{meta_path}: {name} must be {must_be}")
    if not (on_backbone or on_frames) and len(meta["scaling"]["shift"]) != len(meta["scaling"]["scale"]):
        raise UsageError(f"{meta_path}: scaling.shift and scaling.scale must be lists of the same length")
    return meta
