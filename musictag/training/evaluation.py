"""Held-out figures of a model folder on any labelled folder, through the LiteRT runtime."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from musictag.analysis.models import Model
from musictag.errors import DecodeError, UsageError
from musictag.library.labels import group_key
from musictag.paths import some_of
from musictag.training.labelled_tree import LabelledTrack, require_tracks
from musictag.training.metrics import classification_metrics


def folder_genres(labels: Iterable[str], genres: Sequence[str]) -> dict[str, int | None]:
    """Each label folder's genre, as its index in ``genres``: the genre of that very name, else the one
    spelt the same but for case, spaces and punctuation (:func:`~musictag.library.labels.group_key`:
    ``Rock`` is ``rock``, ``Hip Hop`` is ``hiphop``); None where no genre (or more than one) is so spelt."""
    exact = {g: i for i, g in enumerate(genres)}
    by_key: dict[str, list[int]] = {}
    for i, g in enumerate(genres):
        by_key.setdefault(group_key(g), []).append(i)
    found = {}
    for label in labels:
        same = by_key.get(group_key(label), [])
        found[label] = exact[label] if label in exact else same[0] if len(same) == 1 else None
    return found


def evaluate_folder(data_dir: Path, tracks: Sequence[LabelledTrack], model: Model,
                    progress: Callable[[LabelledTrack], None] | None = None) -> dict:
    """Track- and segment-level metrics of ``model`` on ``tracks``, the folder ``data_dir``'s
    :func:`~musictag.training.labelled_tree.find_labelled_tracks`.

    Each label folder is read as the model's genre spelt like it (:func:`folder_genres`; ``folders``: the
    genre of each, None for none). The folders that name no genre of the model are left out whole
    (``left_out``: each folder and its number of tracks; ``n_left_out`` tracks in all); the tracks that
    cannot be decoded are listed in ``skipped`` with their reason.
    """
    require_tracks(data_dir, tracks)
    genre_of = folder_genres({t.label for t in tracks}, model.genres)
    left_out = Counter(t.label for t in tracks if genre_of[t.label] is None)
    if len(left_out) == len(genre_of):
        raise UsageError(f"{data_dir}: no folder names a genre of this model (folders: "
                         f"{some_of(sorted(genre_of), 20)}; the model's genres: {some_of(model.genres, 20)})")
    track_true, track_prob, window_true, window_prob, skipped = [], [], [], [], []
    for t in tracks:
        genre = genre_of[t.label]
        if genre is not None:
            try:
                a = model.analyse(t.path)
            except DecodeError as e:
                skipped.append({"path": str(t.path), "reason": e.reason})
            else:
                track_true.append(genre)
                track_prob.append(a.scores)
                window_true.append(np.full(len(a.window_scores), genre))
                window_prob.append(a.window_scores)
        if progress:
            progress(t)
    if not track_true:
        first = skipped[0]
        raise UsageError(f"{data_dir}: no track could be evaluated; {len(skipped)} skipped, the first "
                         f"{first['path']}: {first['reason']}")
    metrics = classification_metrics(model.genres, np.asarray(track_true), np.stack(track_prob),
                                      np.concatenate(window_true), np.concatenate(window_prob))
    metrics["folders"] = {label: None if i is None else model.genres[i] for label, i in sorted(genre_of.items())}
    metrics["left_out"] = [{"folder": label, "tracks": n} for label, n in sorted(left_out.items())]
    metrics["n_left_out"] = sum(left_out.values())
    metrics["skipped"] = skipped
    metrics["model"] = model.model_id
    return metrics
