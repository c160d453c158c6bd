"""Inference with a trained model folder: LiteRT only, never TensorFlow.

A model folder holds ``model.tflite`` (two outputs: genre probabilities and the embedding) and
``model.json`` (genres in output order, the feature scaling, the feature version it needs).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from musictag.audio import quiet_native_stderr
from musictag.errors import UsageError
from musictag.features import FEATURE_VERSION, TrackFeatures, track_features
from musictag.scaling import Scaler

DEFAULT_MODEL_NAME = "gtzan-crnn"


def default_model_dir() -> Path:
    """The model shipped with musictag (``MUSICTAG_MODEL`` overrides it).

    Installed, the ``models/`` folder is the package ``musictag.models``; run from a source
    checkout (the checkout's ``musictag`` first on ``sys.path``) it is the ``models/`` beside it.
    """
    env = os.environ.get("MUSICTAG_MODEL")
    if env:
        return Path(env)
    try:
        return Path(str(resources.files("musictag.models") / DEFAULT_MODEL_NAME))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "models" / DEFAULT_MODEL_NAME


@dataclass
class TrackAnalysis:
    """What the model says about one track."""

    scores: np.ndarray  # (n_genres,) mean of the window probabilities
    embedding: np.ndarray  # (dim,) mean of the window embeddings, L2-normalised
    window_scores: np.ndarray  # (n_windows, n_genres)
    starts: np.ndarray  # window start times, seconds
    duration: float
    silent: bool  # digital silence: scores carry no meaning

    def top(self, genres: list[str], k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` best genres with their scores."""
        order = np.argsort(-self.scores)[:k]
        return [(genres[i], float(self.scores[i])) for i in order]


@dataclass
class ModelInfo:
    """A model folder's description and identity, read without loading the network."""

    dir: Path
    meta: dict
    genres: list[str]
    model_id: str  # folder name + hash of model.tflite: a new model means re-analysis

    @classmethod
    def read(cls, model_dir: str | os.PathLike | None = None) -> ModelInfo:
        """Read ``model_dir`` (default: the shipped model); refuse a folder this musictag cannot use."""
        folder = Path(model_dir) if model_dir else default_model_dir()
        meta_path, tflite_path = folder / "model.json", folder / "model.tflite"
        if not meta_path.is_file() or not tflite_path.is_file():
            raise UsageError(f"{folder}: not a musictag model folder (needs model.json and model.tflite)")
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as e:
            raise UsageError(f"{meta_path}: unreadable model description ({e})") from None
        version = meta.get("features", {}).get("version")
        if version != FEATURE_VERSION:
            raise UsageError(f"{folder}: model needs feature version {version}, this musictag computes "
                             f"version {FEATURE_VERSION}; retrain it with `musictag train`")
        digest = hashlib.sha1(tflite_path.read_bytes()).hexdigest()[:10]
        return cls(folder, meta, list(meta["genres"]), f"{meta.get('name', folder.name)}-{digest}")


class GenreModel:
    """A loaded model folder, ready to run on feature windows (one LiteRT interpreter)."""

    def __init__(self, model_dir: str | os.PathLike | None = None, threads: int = 1) -> None:
        info = ModelInfo.read(model_dir)
        self.dir, self.meta, self.genres, self.model_id = info.dir, info.meta, info.genres, info.model_id
        self._scaler = Scaler.from_json(self.meta["scaling"])
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(self.dir / "model.tflite"), num_threads=threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._outputs = self._interpreter.get_output_details()
        self._n = -1

    def predict(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Genre probabilities ``(n, genres)`` and embeddings ``(n, dim)`` of raw ``(n, 44, 216)`` windows."""
        x = self._scaler.apply(windows)
        if len(x) != self._n:
            self._interpreter.resize_tensor_input(self._input, x.shape)
            with quiet_native_stderr():  # LiteRT announces its XNNPACK delegate on stderr here
                self._interpreter.allocate_tensors()
            self._n = len(x)
        self._interpreter.set_tensor(self._input, x)
        self._interpreter.invoke()
        outs = {d["name"]: self._interpreter.get_tensor(d["index"]) for d in self._outputs}
        names = self.meta["outputs"]
        return outs[names["probabilities"]].copy(), outs[names["embedding"]].copy()

    def analyse_features(self, feats: TrackFeatures) -> TrackAnalysis:
        """Combine a track's windows into track-level scores and an embedding."""
        probs, emb = self.predict(feats.windows)
        vector = emb.mean(axis=0)
        norm = float(np.linalg.norm(vector))
        return TrackAnalysis(probs.mean(axis=0), vector / norm if norm > 0 else vector, probs,
                             feats.starts, feats.duration, feats.silent)

    def analyse(self, path: str | os.PathLike) -> TrackAnalysis:
        """Decode, featurise and classify one file (raises DecodeError for bad files)."""
        return self.analyse_features(track_features(path))
