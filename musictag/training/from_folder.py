"""``musictag train DIR``: features, split, fit, held-out figures and the model folder, end to end."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from musictag.errors import UsageError
from musictag.hashing import quick_hash
from musictag.training import splits
from musictag.training.config import TrainConfig
from musictag.training.feature_sets import FeatureSet, load_feature_set
from musictag.training.labelled_tree import LabelledTrack, find_labelled_tracks, require_tracks
from musictag.training.learners import HeadLearner, SegmentLearner, WindowLearner
from musictag.training.metrics import calibrate, classification_metrics, confidence_table, precision_coverage

SPLITS = ("random", "kfold", "filtered")
#: Beside model.json: each held-out track's quick hash, label, group, scores and distance to the training
#: tracks, as cross-validation predicted it (what bench/bench_real.py reports for tracks the model learned from).
HELDOUT_FILE = "heldout.json"
#: A model keeps its training tracks to tell unfamiliar tracks (:mod:`musictag.analysis.familiarity`) only when it
#: learned from this many: with fewer, the largest held-out distance says little about the next track.
FAMILIARITY_MIN_TRACKS = 50
#: Held-out tracks are also scored through this augmentation: a modern, lossy rendering of the audio.
ROBUSTNESS_CHECK = "mp3+loud"


@dataclass
class Heldout:
    """Predictions on tracks no fit saw: pooled over folds for k-fold."""

    track_true: list[int]
    track_prob: list[np.ndarray]
    window_true: list[np.ndarray]
    window_prob: list[np.ndarray]
    fold_accuracy: list[float]
    robust_correct: list[bool]  # held-out track right when heard through ROBUSTNESS_CHECK
    embeddings: list[np.ndarray]  # each held-out track's embedding, aligned with track_true
    tracks: list[int] = field(default_factory=list)  # each held-out track's index in the FeatureSet
    distances: list[float] = field(default_factory=list)  # its cosine distance to the nearest training track

    def metrics(self, genres: list[str], fs: FeatureSet) -> dict:
        """Classification metrics of the pooled predictions, confidence coverage, the calibrated
        threshold (:func:`~musictag.training.metrics.calibrate`) and the figures of each labelled tree."""
        track_prob, track_true = np.stack(self.track_prob), np.asarray(self.track_true)
        m = classification_metrics(genres, track_true, track_prob,
                                   np.concatenate(self.window_true), np.concatenate(self.window_prob))
        m["confidence"] = confidence_table(track_true, track_prob)
        m["robustness"] = {"augmentation": ROBUSTNESS_CHECK,
                           "track_accuracy": float(np.mean(self.robust_correct))}
        m["familiar_distance"] = float(max(self.distances)) if self.distances else None
        grouped = np.asarray([fs.tracks[i].group is not None for i in self.tracks])
        # the real recordings (trees with a LABELS.tsv) must reach the target on their own too
        m["calibration"] = calibrate(track_true, track_prob, also=grouped if grouped.any() else None)
        trees = [fs.tracks[i].tree for i in self.tracks]
        if len(set(trees)) > 1:  # each tree's own figures: GTZAN's beside the real recordings'
            threshold = m["calibration"]["threshold"]
            m["by_tree"] = {}
            for tree in dict.fromkeys(trees):
                mine = np.asarray([t == tree for t in trees])
                m["by_tree"][tree] = {
                    "n_tracks": int(mine.sum()),
                    "track_accuracy": float((track_prob[mine].argmax(1) == track_true[mine]).mean()),
                    "robust_accuracy": float(np.mean(np.asarray(self.robust_correct)[mine])),
                    "at_threshold": precision_coverage(track_true[mine], track_prob[mine], threshold)}
        if len(self.fold_accuracy) > 1:
            m["fold_track_accuracy"] = self.fold_accuracy
            m["track_accuracy_mean"] = float(np.mean(self.fold_accuracy))
            m["track_accuracy_std"] = float(np.std(self.fold_accuracy))
        return m


@dataclass
class TrainingResult:
    """What :meth:`Trainer.run` fitted and measured."""

    fitted: object  # the learner's fitted model: (Keras model, Scaler) for a window network, a Head for a head
    train_tracks: list[int]  # indices into the FeatureSet of the tracks ``fitted`` learned from
    history: dict  # per-epoch figures of the first fit (k-fold: fold 1), {} for heads fitted without epochs: linear, rf
    metrics: dict  # held-out figures, the split described under "split"
    genres: list[str]  # the model's genres, in the order of its outputs
    heldout_embeddings: np.ndarray  # (n, dim): each held-out track as the fit that did not see it embeds it
    heldout_labels: np.ndarray  # (n,) their true genres (indices into ``genres``)
    heldout: list[dict] = field(default_factory=list)  # per held-out track: quick_hash, label, group, scores


class Trainer:
    """One training run over a labelled folder; ``log`` receives one line per event."""

    def __init__(self, cfg: TrainConfig, log: Callable[[str], None] = print) -> None:
        self.cfg = cfg
        self.log = log
        self.learner: WindowLearner | HeadLearner = WindowLearner(cfg)
        self.rep = None
        if cfg.input == "musicnn":
            from musictag.analysis.backbone import DEFAULT_BACKBONE, find_backbone
            from musictag.training.feature_sets import musicnn

            backbone = find_backbone(DEFAULT_BACKBONE)
            self.learner, self.rep = HeadLearner(cfg, backbone), musicnn(backbone)
        elif cfg.on_frames:
            from musictag.training.feature_sets import frames

            self.learner, self.rep = SegmentLearner(cfg), frames(cfg.input)

    def load(self, data_dir: Path | str, cache_dir: Path | None,
             progress: Callable[[LabelledTrack], None] | None = None,
             tracks: Sequence[LabelledTrack] | None = None) -> FeatureSet:
        """Features of every labelled track of ``data_dir`` (cached); unreadable files are listed and skipped.

        ``tracks``: the folder's :func:`~musictag.training.labelled_tree.find_labelled_tracks` when the
        caller has walked it already (to size a progress bar), so that it is walked once, or the tracks
        of several folders (:func:`~musictag.training.labelled_tree.find_in_trees`; ``data_dir`` then
        names them in messages).
        """
        if tracks is None:
            tracks = find_labelled_tracks(data_dir)
        require_tracks(data_dir, tracks)
        fs = load_feature_set(tracks, cache_dir, progress,
                              augmentations=tuple(dict.fromkeys((*self.cfg.augment, ROBUSTNESS_CHECK))), rep=self.rep)
        for path, reason in fs.skipped:
            self.log(f"skipped {path}: {reason}")
        if len({t.label for t in fs.tracks}) < 2:
            raise UsageError(f"{data_dir}: need at least two labels with readable tracks")
        return fs

    def _fit(self, fs: FeatureSet, lab: list[int], n_genres: int, train: list[int],
             val: list[int] | None, tag: str, fixed_epochs: int | None = None):
        def on_epoch(epoch: int, logs: dict) -> None:
            figures = "  ".join(f"{k} {v:.3f}" for k, v in logs.items() if k != "learning_rate")
            self.log(f"{tag}epoch {epoch:3d}  {figures}")

        return self.learner.fit(fs, lab, n_genres, train, val, on_epoch, fixed_epochs)

    def run(self, fs: FeatureSet, split: str, folds: int = 5, refit: bool = True) -> TrainingResult:
        """Fit and evaluate on held-out tracks.

        With k-fold the figures are out-of-fold and, when ``refit``, a final model is fitted on every
        track for the median best epoch (without ``refit`` the returned model is the last fold's).
        """
        genres = sorted({t.label for t in fs.tracks})
        lab = [genres.index(t.label) for t in fs.tracks]
        held = Heldout([], [], [], [], [], [], [])
        predict = self.learner.predict

        def evaluate(fitted, train: list[int], test: list[int]) -> None:
            from musictag.analysis.familiarity import nearest_distances

            track_prob, window_prob = predict(fitted, [fs.windows[i] for i in test])
            embedded = self.learner.embed(fitted, [fs.windows[i] for i in test])
            held.embeddings.extend(embedded)
            held.tracks.extend(test)
            held.distances.extend(nearest_distances(embedded, self.learner.embed(fitted, [fs.windows[i]
                                                                                          for i in train])))
            held.track_true.extend(lab[i] for i in test)
            held.track_prob.extend(track_prob)
            held.window_true.extend(np.full(len(p), lab[i]) for i, p in zip(test, window_prob, strict=True))
            held.window_prob.extend(window_prob)
            truth = np.asarray([lab[i] for i in test])
            held.fold_accuracy.append(float((track_prob.argmax(1) == truth).mean()))
            robust_prob, _ = predict(fitted, [fs.augmented[ROBUSTNESS_CHECK][i] for i in test])
            held.robust_correct.extend((robust_prob.argmax(1) == truth).tolist())

        if split == "kfold":
            best_epochs, history = [], {}
            groups = [t.group for t in fs.tracks]
            parts = (splits.grouped_kfold(lab, groups, folds, self.cfg.seed) if any(groups)
                     else splits.kfold(lab, folds, self.cfg.seed))
            for k, (trval, test) in enumerate(parts):
                train, val = (splits.validation_split(trval, lab, self.cfg.seed + k)
                              if self.learner.uses_validation else (trval, None))
                fitted, hist, best = self._fit(fs, lab, len(genres), train, val, f"fold {k + 1}/{folds} ")
                evaluate(fitted, trval, test)
                self.log(f"fold {k + 1}/{folds}: track accuracy {held.fold_accuracy[-1]:.3f}"
                         + (f" (best epoch {best})" if self.learner.uses_validation else ""))
                best_epochs.append(best)
                history = history or hist
            epochs = int(np.median(best_epochs))
            if refit:
                train = list(range(len(lab)))
                self.log(f"final fit on all {len(train)} tracks" + (f" for {epochs} epochs (median best epoch)"
                                                                      if self.learner.uses_validation else ""))
                fitted, _, _ = self._fit(fs, lab, len(genres), train, None, "final ", epochs or None)
            info = {"split": "kfold", "folds": folds, "seed": self.cfg.seed, "final_epochs": epochs,
                    "grouped_by": "package (LABELS.tsv)" if any(groups) else None,
                    "n_train": len(train), "note": "metrics are out-of-fold; the model is refitted on all tracks"}
        else:
            if split == "random":
                train, val, test = splits.random_split(lab, self.cfg.seed)
            elif split == "filtered":
                train, val, test = splits.filtered_split([t.key for t in fs.tracks])
            else:
                raise UsageError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
            if not self.learner.uses_validation:
                train, val = train + val, []
            fitted, history, best = self._fit(fs, lab, len(genres), train, val or None, "")
            evaluate(fitted, train + val, test)
            info = {"split": split, "seed": self.cfg.seed, "best_epoch": best,
                    "n_train": len(train), "n_val": len(val), "n_test": len(test)}
        metrics = held.metrics(genres, fs)
        metrics["split"] = info
        heldout = [{"quick_hash": quick_hash(fs.tracks[i].path), "label": fs.tracks[i].label,
                    "group": fs.tracks[i].group, "scores": [round(float(p), 5) for p in prob],
                    "distance": round(float(d), 5)}
                   for i, prob, d in zip(held.tracks, held.track_prob, held.distances, strict=True)]
        return TrainingResult(fitted, train, history, metrics, genres, np.stack(held.embeddings),
                              np.asarray(held.track_true), heldout)


def write_outputs(out: Path, trainer: Trainer, result: TrainingResult, fs: FeatureSet, data_dir: Path | str,
                  seconds: float) -> dict:
    """Write ``result`` as the model folder ``out``, with metrics.json, confusion.png, (when there is
    a history) curves.png and (when umap-learn is installed) umap.png beside it; ``fs`` and ``data_dir``
    are what the run learned from, ``seconds`` how long it took. Returns the model.json content."""
    from musictag.training.plots import plot_confusion, plot_curves, plot_embedding_map

    out.mkdir(parents=True, exist_ok=True)
    result.metrics["umap_png"] = plot_embedding_map(result.heldout_embeddings, result.heldout_labels, result.genres,
                                                    out / "umap.png")
    summary = {"data": str(data_dir), "n_tracks": len(fs.tracks), "n_windows": int(sum(map(len, fs.windows))),
               "skipped": [{"path": str(p), "reason": r} for p, r in fs.skipped],
               "config": asdict(trainer.cfg), "seconds": round(seconds, 1)}
    meta = trainer.learner.save(out, result.fitted, fs, result.train_tracks, result.genres, summary, result.metrics)
    if result.metrics.get("familiar_distance") is not None and len(result.train_tracks) >= FAMILIARITY_MIN_TRACKS:
        from musictag.analysis.familiarity import Familiarity

        reference = trainer.learner.embed(result.fitted, [fs.windows[i] for i in result.train_tracks])
        meta["familiarity"] = Familiarity(reference, result.metrics["familiar_distance"]).save(out)
        (out / "model.json").write_text(json.dumps(meta, indent=1))
    (out / HELDOUT_FILE).write_text(json.dumps(result.heldout, indent=0))
    (out / "metrics.json").write_text(json.dumps(result.metrics, indent=1))
    plot_confusion(np.asarray(result.metrics["confusion"]), result.genres, out / "confusion.png")
    split = result.metrics["split"]
    if result.history:
        plot_curves(result.history, out / "curves.png",
                    f"fold 1 of {split['folds']}" if split["split"] == "kfold" else f"{split['split']} split")
    return meta
