"""Held-out figures of a model folder on any labelled folder, through the LiteRT runtime."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from musictag.analysis.models import Model
from musictag.errors import DecodeError, UsageError
from musictag.training.labelled_tree import LabelledTrack, require_tracks
from musictag.training.metrics import classification_metrics


def evaluate_folder(data_dir: Path, tracks: Sequence[LabelledTrack], model: Model,
                    progress: Callable[[LabelledTrack], None] | None = None) -> dict:
    """Track- and segment-level metrics of ``model`` on ``tracks``, the folder ``data_dir``'s
    :func:`~musictag.training.labelled_tree.find_labelled_tracks`.

    Tracks whose label the model does not know, or that cannot be decoded, are listed in
    ``skipped`` with their reason.
    """
    require_tracks(data_dir, tracks)
    known = {g: i for i, g in enumerate(model.genres)}
    track_true, track_prob, window_true, window_prob, skipped = [], [], [], [], []
    for t in tracks:
        if t.label not in known:
            skipped.append({"path": str(t.path), "reason": f"label {t.label!r} is not a genre of this model"})
        else:
            try:
                a = model.analyse(t.path)
            except DecodeError as e:
                skipped.append({"path": str(t.path), "reason": e.reason})
            else:
                track_true.append(known[t.label])
                track_prob.append(a.scores)
                window_true.append(np.full(len(a.window_scores), known[t.label]))
                window_prob.append(a.window_scores)
        if progress:
            progress(t)
    if not track_true:
        first = skipped[0]
        raise UsageError(f"{data_dir}: no track could be evaluated; {len(skipped)} skipped, the first "
                         f"{first['path']}: {first['reason']}")
    metrics = classification_metrics(model.genres, np.asarray(track_true), np.stack(track_prob),
                                      np.concatenate(window_true), np.concatenate(window_prob))
    metrics["skipped"] = skipped
    metrics["model"] = model.model_id
    return metrics
