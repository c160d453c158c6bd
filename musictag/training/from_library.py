"""``musictag train --from-library``: a head for the user's own genres, learned from the library alone.

Nothing is decoded: each track's backbone patch embeddings come from the library
(``track_summaries``), its label from the tags the scans read (``tracks.file_tags``) and the tag
backups (:mod:`musictag.library.labels`). A track scanned before musictag recorded its tags has them
read from the file (tags only, no audio). Cross-validation is by track, stratified, with the tracks
of one album (album artist + album tags) kept on one side. The linear head needs only NumPy/SciPy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musictag.analysis.backbone import BackboneInfo
from musictag.errors import TagError, UsageError
from musictag.library.database import Library
from musictag.library.labels import LabelSet, build_labels, group_key, label_values
from musictag.paths import covers, display_path, key_to_path, path_to_key, printable, some_of

#: Folds of the cross-validation (``--folds``).
FOLDS = 5
#: The linear head's L-BFGS stops when a step gains less than this fraction of the loss: on 8,000
#: tracks 200 steps instead of 330, the same held-out accuracy (bench/bench_learn.py).
LINEAR_FTOL = 1e-6


@dataclass
class LibraryData:
    """The labelled tracks of a library: patch embeddings, genre indices, album groups."""

    labels: LabelSet
    track_ids: list[int]
    sequences: list[np.ndarray]  # (n_patches, dim) float32 per labelled track
    y: list[int]
    groups: list[str | None]  # album of each labelled track (None: none known)
    read_from_files: int = 0  # tracks whose tags were read from the file (scanned before tags were recorded)
    unreadable: list[str] = field(default_factory=list)  # files whose tags could not be read


def collect(library: Library, dirs: Sequence[str], backbone: BackboneInfo, mapping: dict[str, str] | None = None,
            min_tracks: int = 10) -> LibraryData:
    """Read the labelled tracks under ``dirs`` (all when empty) that ``backbone`` analysed.

    Raises :class:`UsageError` with what to do when there is nothing to learn from.
    """
    from musictag.tags import tagfile as tags

    keys = [path_to_key(Path(d).resolve()) for d in dirs]
    rows = [r for r in library.learning_rows() if not keys or any(covers(k, r.path) for k in keys)]
    where = f" under {', '.join(display_path(d) for d in dirs)}" if dirs else ""
    if not rows:
        raise UsageError(f"no analysed tracks in the library{where}: run `musictag scan` on them first")
    ours = [r for r in rows if r.backbone == backbone.backbone_id]
    if not ours:
        found = sorted({r.backbone for r in rows if r.backbone})
        what = (f"embeddings of another backbone ({', '.join(found)}), not this musictag's {backbone.backbone_id}"
                if found else "no backbone embeddings (they were scanned with an older model)")
        raise UsageError(f"the library's tracks{where} have {what}: rescan them with `musictag scan DIRS "
                         "--model default`, then learn again")
    backups = library.backups()
    values: dict[int, list[str]] = {}
    albums: dict[int, str | None] = {}
    read_from_files, unreadable = 0, []
    for row in ours:
        if row.file_tags is not None:
            fields = row.file_tags
        else:
            try:
                fields = tags.read_label_fields(key_to_path(row.path))
                read_from_files += 1
            except (TagError, OSError) as e:
                unreadable.append(f"{display_path(key_to_path(row.path))}: {getattr(e, 'reason', e)}")
                continue
        values[row.id] = label_values(fields.get("genres") or [], backups.get(row.path, []))
        album = group_key(fields.get("album") or "")
        albums[row.id] = f"{group_key(fields.get('artist') or '')}/{album}" if album else None
    labels = build_labels(values, mapping, min_tracks)
    summaries = {r.id: r.summary for r in ours}
    ids = list(labels.labels)
    data = LibraryData(labels, ids, [summaries[t].sequence for t in ids],
                       [labels.labels[t] for t in ids], [albums[t] for t in ids], read_from_files, unreadable)
    if len(data.labels.genres) < 2:
        found = [(g, data.y.count(i)) for i, g in enumerate(data.labels.genres)] + data.labels.rare
        have = some_of([f"{printable(name)} ({n})" for name, n in found], 8)
        raise UsageError(f"only {len(data.labels.genres)} genre(s) of the library's own{where} have at least "
                         f"{min_tracks} tracks (found: {have or 'no genre tags at all'}); tag more tracks, "
                         "merge spellings with --map, or lower --min-tracks")
    return data


def one_album_genres(data: LibraryData) -> list[str]:
    """The genres whose labelled tracks all lie on one album. Held out by album, the model never saw
    such a genre, so none of its held-out tracks can be right: the figures say nothing of it."""
    albums: dict[int, set[str | None]] = {}
    for label, group in zip(data.y, data.groups, strict=True):
        albums.setdefault(label, set()).add(group)
    return [data.labels.genres[label] for label, seen in sorted(albums.items())
            if len(seen) == 1 and None not in seen and data.y.count(label) > 1]


@dataclass
class CrossValidation:
    """Pooled held-out predictions of a grouped k-fold."""

    true: np.ndarray
    prob: np.ndarray
    folds: int
    fold_accuracy: list[float]


def fit_head(kind: str, sequences: Sequence[np.ndarray], labels: Sequence[int], n_genres: int, seed: int = 0):
    """Fit a head of ``kind`` on the tracks' patch embeddings (any but ``linear`` needs the ``train`` extra)."""
    from musictag.training import head_fit
    from musictag.training.config import REFUSED

    why = REFUSED.get(("musicnn", kind))
    if why:
        raise UsageError(f"--head {kind} does not fit the library's backbone analyses: {why}")
    if kind == "linear":
        return head_fit.fit_linear(sequences, labels, n_genres, ftol=LINEAR_FTOL)
    try:
        return head_fit.fit_head(kind, sequences, labels, n_genres, seed=seed)[0]
    except ImportError:
        raise UsageError(f"--head {kind} needs the training libraries: pip install 'musictag[train]', "
                         "or use --head linear") from None


def cross_validate(data: LibraryData, kind: str, folds: int = FOLDS, seed: int = 0,
                   log: Callable[[str], None] = lambda line: None) -> CrossValidation:
    """Held-out predictions of every labelled track, albums kept on one side."""
    from musictag.training.splits import grouped_kfold

    n_genres = len(data.labels.genres)
    prob = np.zeros((len(data.y), n_genres))
    accuracies = []
    parts = grouped_kfold(data.y, data.groups, folds, seed)
    for k, (train, test) in enumerate(parts, 1):
        head = fit_head(kind, [data.sequences[i] for i in train], [data.y[i] for i in train], n_genres, seed)
        for i in test:
            prob[i] = head.track_probabilities(data.sequences[i])
        accuracies.append(float(np.mean(prob[test].argmax(axis=1) == np.asarray(data.y)[test])))
        log(f"fold {k}/{len(parts)}: {len(test)} held-out tracks, accuracy {accuracies[-1]:.3f}")
    return CrossValidation(np.asarray(data.y), prob, len(parts), accuracies)


def learn(library: Library, dirs: Sequence[str], out: Path, backbone: BackboneInfo, kind: str = "linear",
          mapping: dict[str, str] | None = None, min_tracks: int = 10, folds: int = FOLDS, seed: int = 0,
          log: Callable[[str], None] = lambda line: None) -> tuple[dict, LibraryData]:
    """Cross-validate, fit on every labelled track and write the model folder; return its model.json
    and the tracks it learned from."""
    from musictag.output_files import write_output_folder
    from musictag.training.metrics import confidence_table, track_metrics
    from musictag.training.model_folders import save_head_model
    from musictag.training.plots import plot_confusion

    start = time.monotonic()
    data = collect(library, dirs, backbone, mapping, min_tracks)
    genres = data.labels.genres
    log(f"{len(data.y)} tracks in {len(genres)} genres, {len(data.labels.unlabelled)} without a genre of "
        f"their own; {len({g for g in data.groups if g})} albums kept whole across folds")
    log(f"cross-validating a {kind} head: {folds} folds, one line as each ends")
    cv = cross_validate(data, kind, folds, seed, log)
    metrics = track_metrics(genres, cv.true, cv.prob)
    metrics["confidence"] = confidence_table(cv.true, cv.prob)
    metrics["fold_track_accuracy"] = cv.fold_accuracy
    metrics["track_accuracy_mean"] = float(np.mean(cv.fold_accuracy))
    metrics["track_accuracy_std"] = float(np.std(cv.fold_accuracy))
    metrics["split"] = {"split": "grouped-kfold", "folds": cv.folds, "seed": seed, "groups": "album",
                        "one_album_genres": one_album_genres(data)}
    log(f"fitting the model on all {len(data.y)} tracks")
    head = fit_head(kind, data.sequences, data.y, len(genres), seed)
    summary = {"data": "library", "library": str(library.path), "dirs": [str(d) for d in dirs],
               "n_tracks": len(data.y), "unlabelled": len(data.labels.unlabelled),
               "spellings": data.labels.spellings, "rare": [{"genre": g, "tracks": n} for g, n in data.labels.rare],
               "min_tracks": min_tracks, "read_from_files": data.read_from_files,
               "seconds": round(time.monotonic() - start, 1)}

    def write(folder: Path) -> dict:
        meta = save_head_model(folder, head, kind, genres, backbone, summary, metrics)
        meta["labels"] = "library"  # scan writes these genre names exactly as spelled
        (folder / "model.json").write_text(json.dumps(meta, indent=1))
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=1))
        plot_confusion(np.asarray(metrics["confusion"]), genres, folder / "confusion.png")
        return meta

    return write_output_folder(out, "--out", write), data
