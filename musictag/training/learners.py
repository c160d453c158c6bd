"""What ``musictag train DIR`` fits, behind one interface: a network on feature windows, a head on the
backbone's patches, or a head on frame segments.

A learner fits on some tracks of a :class:`~musictag.training.feature_sets.FeatureSet`, predicts held-out
tracks (track probabilities and each window's, patch's or segment's), embeds them (the vector a scan would
store for ``similar``), and writes what it fitted as a model folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from musictag.analysis.backbone import BackboneInfo
from musictag.analysis.models import segment_analysis, track_scores
from musictag.analysis.scaling import Scaler
from musictag.analysis.track_summary import TrackSummary, unit_vector
from musictag.training.config import TrainConfig
from musictag.training.feature_sets import FeatureSet
from musictag.training.head_fit import TRAIN_LENGTHS, fit_head
from musictag.training.window_fit import fit_network, stack_windows


class WindowLearner:
    """The study's networks on 5 s windows of the 44 features (TensorFlow), with per-feature scaling."""

    uses_validation = True

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg

    def fit(self, fs: FeatureSet, lab: list[int], n_genres: int, train: list[int], val: list[int] | None,
            on_epoch: Callable[[int, dict], None], fixed_epochs: int | None = None):
        """Fit on ``train`` (and its augmentations); returns ``((model, scaler), history, best epoch)``."""
        scaler = Scaler.fit([fs.windows[i] for i in train], self.cfg.scaling)

        def scaled(idx: list[int], augment: tuple[str, ...] = ()):
            sources = [fs.windows, *(fs.augmented[a] for a in augment)]
            x, y = stack_windows([src[i] for src in sources for i in idx], [lab[i] for _ in sources for i in idx])
            return scaler.apply(x), y

        model, history, best = fit_network(self.cfg, n_genres, scaled(train, self.cfg.augment),
                                           scaled(val) if val else None, on_epoch, fixed_epochs)
        return (model, scaler), history, best

    @staticmethod
    def predict(fitted, arrays: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Per-track probabilities (:func:`~musictag.analysis.models.track_scores` of the windows') and each
        track's window probabilities."""
        model, scaler = fitted
        per_window = [model.predict(scaler.apply(w), verbose=0) for w in arrays]
        return np.stack([track_scores(p) for p in per_window]), per_window

    @staticmethod
    def embed(fitted, arrays: list[np.ndarray]) -> np.ndarray:
        """Each track's embedding ``(n, dim)``: its windows' mean embedding, L2-normalised (as :class:`WindowModel`)."""
        from musictag.training.networks import with_embedding

        model, scaler = fitted
        two = with_embedding(model)
        return np.stack([unit_vector(two.predict(scaler.apply(w), verbose=0)[1].mean(axis=0)) for w in arrays])

    def save(self, out: Path, fitted, fs: FeatureSet, train: list[int], genres: list[str], summary: dict,
             metrics: dict) -> dict:
        """Write model.keras, model.tflite and model.json."""
        from musictag.training.model_folders import save_window_model

        model, scaler = fitted
        frames = np.concatenate([fs.windows[i] for i in train])
        feature_range = (frames.min(axis=(0, 2)), frames.max(axis=(0, 2)))
        return save_window_model(out, model, scaler, genres, feature_range, summary, metrics)


class HeadLearner:
    """A head (``cfg.head``) on the backbone's patch embeddings; no validation split needed."""

    uses_validation = False
    #: fit_head's ``lengths``: a track's patch sequences are read in random ordered sub-sequences
    lengths: tuple[int, int] | None = TRAIN_LENGTHS

    def __init__(self, cfg: TrainConfig, backbone: BackboneInfo) -> None:
        self.cfg = cfg
        self.backbone = backbone  # the embeddings came from it

    def fit(self, fs: FeatureSet, lab: list[int], n_genres: int, train: list[int], val: list[int] | None,
            on_epoch: Callable[[int, dict], None], fixed_epochs: int | None = None):
        """Fit on ``train`` (and its augmentations); returns ``(head, history, epochs)``."""
        sources = [fs.windows, *(fs.augmented[a] for a in self.cfg.augment)]
        seqs, labels = self.examples([src[i] for src in sources for i in train],
                                     [lab[i] for _ in sources for i in train])
        epochs = fixed_epochs or self.cfg.epochs
        head, history = fit_head(self.cfg.head, seqs, labels, n_genres, epochs, self.cfg.batch_size,
                                 self.cfg.learning_rate, self.cfg.seed, on_epoch, self.lengths)
        return head, history, epochs if history else 0

    @staticmethod
    def examples(arrays: list[np.ndarray], labels: list[int]) -> tuple[list[np.ndarray], list[int]]:
        """The training examples of tracks' arrays: each track's patch sequence is one example."""
        return arrays, labels

    @staticmethod
    def predict(head, arrays: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Per-track probabilities (the head on the whole sequence) and each patch's on its own."""
        return np.stack([head.track_probabilities(a) for a in arrays]), [head.patch_probabilities(a) for a in arrays]

    @staticmethod
    def embed(head, arrays: list[np.ndarray]) -> np.ndarray:
        """Each track's embedding: the vector a scan stores (:meth:`TrackSummary.embedding`, the mean patch
        embedding, L2-normalised)."""
        return np.stack([TrackSummary(np.asarray(a, np.float16), np.zeros(0, np.float32)).embedding() for a in arrays])

    def save(self, out: Path, fitted, fs: FeatureSet, train: list[int], genres: list[str], summary: dict,
             metrics: dict) -> dict:
        """Write head.npz and model.json (the backbone is referenced by name and checksum, not copied)."""
        from musictag.training.model_folders import save_head_model

        return save_head_model(out, fitted, self.cfg.head, genres, self.backbone, summary, metrics)


class SegmentLearner(HeadLearner):
    """A head (``cfg.head``) on ~3 s frame segments (:mod:`musictag.analysis.frame_inputs`): every segment of every
    training rendering is one example of its track's genre; a held-out track is scored as a scan scores it."""

    lengths = None  # segments have a fixed length: each is used whole

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg

    @staticmethod
    def examples(arrays: list[np.ndarray], labels: list[int]) -> tuple[list[np.ndarray], list[int]]:
        """Each ``(steps, dim)`` segment of a track's ``(n, steps, dim)`` array is one example of its label."""
        return [s for a in arrays for s in a], [y for a, y in zip(arrays, labels, strict=True) for _ in a]

    @staticmethod
    def predict(head, arrays: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Per-track probabilities (:func:`~musictag.analysis.models.segment_analysis`: the mean of the segments')
        and each segment's."""
        analyses = [segment_analysis(head, a) for a in arrays]
        return np.stack([scores for scores, _, _ in analyses]), [per for _, _, per in analyses]

    @staticmethod
    def embed(head, arrays: list[np.ndarray]) -> np.ndarray:
        """Each track's embedding as a scan stores it: the segments' mean ``embed``, L2-normalised."""
        return np.stack([segment_analysis(head, a)[1] for a in arrays])

    def save(self, out: Path, fitted, fs: FeatureSet, train: list[int], genres: list[str], summary: dict,
             metrics: dict) -> dict:
        """Write head.npz and model.json (with the frame settings the head needs)."""
        from musictag.training.model_folders import save_head_model

        return save_head_model(out, fitted, self.cfg.head, genres, self.cfg.input, summary, metrics)
