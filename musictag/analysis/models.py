"""Inference with a model folder: LiteRT and NumPy only, never TensorFlow.

Three kinds of model folder (``model.json`` says which):

- a **head** on the pretrained backbone (``"input": "musicnn"``, format 2): ``head.npz`` holds the
  head's weights, ``model.json`` names the backbone folder it was trained on and that folder's
  checksum. :class:`HeadModel` decodes 3 s patches (:mod:`musictag.analysis.patches`), runs the backbone
  (:mod:`musictag.analysis.backbone`) and the head (:mod:`musictag.analysis.heads`).
- a **window network** on the 44 hand-made features (``"input": "features44"``, format 1):
  ``model.tflite`` with two outputs (genre probabilities and the embedding) and the feature scaling.
  :class:`WindowModel` runs it on 5 s feature windows.
- a **head on frames** (``"input"`` one of :data:`~musictag.analysis.frame_inputs.FRAME_INPUTS`, format 3):
  ``head.npz``, and in ``model.json`` the frame settings it was trained with
  (:func:`musictag.analysis.frame_inputs.settings`). :class:`FrameModel` cuts a track into ~3 s segments of
  pooled frames and runs the head on each.

:func:`load_model` opens any; each answers :meth:`analyse` with a :class:`TrackAnalysis`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musictag.analysis.backbone import BackboneInfo, find_backbone
from musictag.analysis.familiarity import Familiarity
from musictag.analysis.features import FEATURE_VERSION, TrackFeatures, track_features
from musictag.analysis.model_schema import check_description
from musictag.analysis.scaling import Scaler
from musictag.analysis.track_summary import TrackSummary, unit_vector
from musictag.audio.decode import AudioSource, quiet_native_stderr
from musictag.errors import UsageError, short_reason
from musictag.hashing import file_digest
from musictag.paths import display_path
from musictag.shipped import DEFAULT_MODEL_NAME, shipped_models_dir
from musictag.small_files import SmallFileError, read_document

if TYPE_CHECKING:
    from musictag.analysis.heads import Head


def default_model_dir() -> Path:
    """The model shipped with musictag (``MUSICTAG_MODEL`` overrides it)."""
    env = os.environ.get("MUSICTAG_MODEL")
    return Path(env) if env else shipped_models_dir() / DEFAULT_MODEL_NAME


@dataclass
class TrackAnalysis:
    """What the model says about one track."""

    scores: np.ndarray  # (n_genres,) track-level genre probabilities
    embedding: np.ndarray  # (dim,) the track's embedding for `similar`, L2-normalised
    window_scores: np.ndarray  # (n_windows, n_genres): each window or patch on its own
    starts: np.ndarray  # window / patch start times, seconds
    duration: float
    silent: bool  # digital silence: scores carry no meaning
    window_seconds: float = 5.0  # length of one window / patch
    summary: TrackSummary | None = None  # backbone models: what the library keeps to re-score
    tag_names: list[str] | None = None  # backbone models: names of summary.tags

    def top(self, genres: list[str], k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` best genres with their scores."""
        order = np.argsort(-self.scores)[:k]
        return [(genres[i], float(self.scores[i])) for i in order]

    def top_tags(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` strongest style tags of the backbone (empty for window networks)."""
        if self.summary is None or not self.tag_names:
            return []
        order = np.argsort(-self.summary.tags)[:k]
        return [(self.tag_names[i], float(self.summary.tags[i])) for i in order]

    def to_json(self, genres: list[str], top: int = 3, style_tags: int = 5) -> dict[str, Any]:
        """What ``musictag info --json`` says of the analysis: duration, silence, the ``top`` genres, the
        ``style_tags`` strongest style tags, and each window's (or patch's) best genre. A window ends at the end of
        the track at the latest (a track shorter than one window is analysed looped to fill it)."""
        ends = np.minimum(np.asarray(self.starts, float) + self.window_seconds, float(self.duration))
        windows = [{"start": float(s), "end": float(e), "genre": genres[int(p.argmax())],
                    "score": float(p.max())} for s, e, p in zip(self.starts, ends, self.window_scores, strict=True)]
        return {"duration": self.duration, "silent": self.silent,
                "genres": [{"genre": g, "score": s} for g, s in self.top(genres, top)],
                "style_tags": [{"tag": t, "score": s} for t, s in self.top_tags(style_tags)], "windows": windows}


def track_scores(window_scores: np.ndarray) -> np.ndarray:
    """A track's genre probabilities from its windows' or frame segments' ``(n, genres)`` scores: their mean.

    The one place this is decided: inference (:class:`WindowModel`, :class:`FrameModel`) and the
    held-out figures of training use it alike.
    """
    return window_scores.mean(axis=0)


def segment_analysis(head: Head, segments: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A head on a track's ``(n, steps, dim)`` frame segments: the track's scores
    (:func:`track_scores` of the segments'), its embedding (the mean of the segments' ``embed``,
    L2-normalised) and each segment's probabilities ``(n, genres)``.

    The one place this is decided: :class:`FrameModel` and the held-out figures of training use it alike.
    """
    probabilities, embeddings = zip(*(head.probabilities_and_embedding(s) for s in segments), strict=True)
    per_segment = np.stack(probabilities)
    return track_scores(per_segment), unit_vector(np.mean(embeddings, axis=0).astype(np.float32)), per_segment


def _file_digest(*paths: Path, extra: str = "") -> str:
    return file_digest(paths, "sha1", extra.encode())[:10]


@dataclass
class ModelInfo:
    """A model folder's description (checked), its identity and its head's weights, read without loading
    the backbone or any LiteRT network."""

    dir: Path
    meta: dict
    genres: list[str]
    model_id: str  # folder name + hash of the weights: a new model means new genres for every track
    backbone: BackboneInfo | None = None  # heads: the checked backbone they run on
    familiarity: Familiarity | None = None  # its training tracks, where the folder keeps them (model.json says)
    head: Head | None = None  # heads and heads on frames: the weights of head.npz, checked against the genres

    @property
    def kind(self) -> str:
        """``"head"`` (on the pretrained backbone), ``"frames"`` (a head on frame segments) or ``"windows"``
        (a network on the 44 features)."""
        if self.backbone is not None:
            return "head"
        return "frames" if "frames" in self.meta else "windows"

    @classmethod
    def read(cls, model_dir: str | os.PathLike | None = None) -> ModelInfo:
        """Read ``model_dir`` (None or ``default``: :func:`default_model_dir`); refuse a folder this musictag
        cannot use (:class:`UsageError`, one line naming the file: a description of the wrong shape, head
        weights unreadable or scoring another number of genres than model.json names)."""
        folder = default_model_dir() if model_dir is None or os.fspath(model_dir) == "default" else Path(model_dir)
        meta_path = folder / "model.json"
        if not meta_path.is_file():
            raise UsageError(f"{folder}: not a musictag model folder (no model.json)")
        try:
            meta = read_document(meta_path)
        except SmallFileError as e:
            raise UsageError(f"{display_path(meta_path)}: unreadable model description ({e})") from None
        check_description(meta_path, meta)
        if meta.get("input") == "musicnn":
            info = cls._read_head(folder, meta)
        elif "frames" in meta:
            info = cls._read_frames(folder, meta)
        else:
            info = cls._read_windows(folder, meta)
        info.familiarity = Familiarity.load(folder, meta.get("familiarity"), meta.get("embedding_dim"))
        return info

    @classmethod
    def _read_windows(cls, folder: Path, meta: dict) -> ModelInfo:
        tflite_path = folder / "model.tflite"
        if not tflite_path.is_file():
            raise UsageError(f"{folder}: not a musictag model folder (needs model.tflite beside model.json)")
        version = meta["features"]["version"]
        if version != FEATURE_VERSION:
            raise UsageError(f"{folder}: model needs feature version {version}, this musictag computes "
                             f"version {FEATURE_VERSION}; retrain it with `musictag train`")
        return cls(folder, meta, list(meta["genres"]), f"{meta.get('name', folder.name)}-{_file_digest(tflite_path)}")

    @classmethod
    def _read_head(cls, folder: Path, meta: dict) -> ModelInfo:
        from musictag.analysis.heads import HEADS

        head_path = folder / "head.npz"
        if meta.get("head") not in HEADS or not head_path.is_file():
            raise UsageError(f"{folder}: not a usable head (needs head.npz and a head kind of {', '.join(HEADS)})")
        wanted = meta["backbone"]
        backbone = find_backbone(wanted["name"], folder)
        if backbone.sha256 != wanted["sha256"]:
            raise UsageError(f"{folder}: this head was trained on another {backbone.name} backbone than the one at "
                             f"{backbone.dir} (checksums differ); retrain it with `musictag train --input musicnn`")
        model_id = f"{meta.get('name', folder.name)}-{_file_digest(head_path, extra=backbone.sha256)}"
        return cls(folder, meta, list(meta["genres"]), model_id, backbone, head=_checked_head(folder, meta))

    @classmethod
    def _read_frames(cls, folder: Path, meta: dict) -> ModelInfo:
        from musictag.analysis.frame_inputs import FRAME_INPUTS, settings
        from musictag.analysis.heads import HEADS

        name, kind, head_path = meta.get("input"), meta.get("head"), folder / "head.npz"
        if name not in FRAME_INPUTS or kind not in HEADS or not head_path.is_file():
            raise UsageError(f"{folder}: not a usable model on frames (needs head.npz, an input of "
                             f"{', '.join(FRAME_INPUTS)} and a head kind of {', '.join(HEADS)})")
        wanted, here = meta["frames"], settings(name)
        if wanted != here:
            raise UsageError(f"{folder}: model needs other {name} frames (version {wanted.get('version')}) than this "
                             f"musictag computes (version {here['version']}); retrain it with "
                             f"`musictag train --input {name} --head {kind}`")
        digest = _file_digest(head_path, extra=json.dumps(here, sort_keys=True))
        return cls(folder, meta, list(meta["genres"]), f"{meta.get('name', folder.name)}-{digest}",
                   head=_checked_head(folder, meta))


def _checked_head(folder: Path, meta: dict) -> Head:
    """The head of ``folder``'s ``head.npz`` (its kind in ``meta``), refused when it scores another number of
    genres than ``meta`` names."""
    from musictag.analysis.heads import load_head

    head = load_head(meta["head"], folder / "head.npz")
    if head.outputs != len(meta["genres"]):
        raise UsageError(f"{folder / 'model.json'}: genres lists {len(meta['genres'])} names, but head.npz "
                         f"scores {head.outputs} genres; retrain the model with `musictag train`")
    return head


class WindowModel:
    """A network on the 44 hand-made features, ready to run on 5 s windows (one LiteRT interpreter)."""

    def __init__(self, info: ModelInfo, threads: int = 1) -> None:
        self.info = info
        self.dir, self.meta, self.genres, self.model_id = info.dir, info.meta, info.genres, info.model_id
        self._scaler = Scaler.from_json(self.meta["scaling"])
        from ai_edge_litert.interpreter import Interpreter

        network = self.dir / "model.tflite"
        try:
            self._interpreter = Interpreter(model_path=str(network), num_threads=threads)
        except (ValueError, RuntimeError) as e:
            raise UsageError(f"{network}: unreadable network ({short_reason(e)}); retrain the model") from None
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._outputs = self._interpreter.get_output_details()
        self._check_outputs(network)
        self._n = -1
        self.runtime = {"runtime": "litert", "precision": "f32", "note": None}  # what runs the network

    def _check_outputs(self, network: Path) -> None:
        """Refuse a model.json whose output names the network lacks, or whose genres are not as many as the
        network scores."""
        shapes = {d["name"]: d["shape"] for d in self._outputs}
        meta_path, names = self.dir / "model.json", self.meta["outputs"]
        for role in ("probabilities", "embedding"):
            if names[role] not in shapes:
                raise UsageError(f"{meta_path}: outputs.{role} names {names[role]!r}, which {network.name} lacks")
        scored = int(shapes[names["probabilities"]][-1])
        if scored != len(self.genres):
            raise UsageError(f"{meta_path}: genres lists {len(self.genres)} names, but {network.name} scores "
                             f"{scored} genres; retrain the model with `musictag train`")

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
        return TrackAnalysis(track_scores(probs), unit_vector(emb.mean(axis=0)), probs,
                             feats.starts, feats.duration, feats.silent)

    def analyse(self, source: AudioSource) -> TrackAnalysis:
        """Decode, featurise and classify one file, a path or opened (raises DecodeError for bad files)."""
        return self.analyse_features(track_features(source))


class HeadModel:
    """A genre head on the pretrained backbone: decode patches, run the backbone, then the head."""

    def __init__(self, info: ModelInfo, threads: int = 1) -> None:
        from musictag.analysis.backbone import Backbone

        self.info = info
        self.dir, self.meta, self.genres, self.model_id = info.dir, info.meta, info.genres, info.model_id
        self.head: Head = info.head  # read and checked with the folder
        self.backbone = Backbone(info.backbone, threads)
        self.runtime = self.backbone.describe()  # what runs the backbone (OpenVINO or LiteRT, its precision)

    def summarise(self, patches: np.ndarray) -> TrackSummary:
        """Run the backbone on ``(n, 187, 96)`` log-mel patches: what the library keeps of a track."""
        embeddings, tags = self.backbone.run(patches)
        return TrackSummary.of(embeddings, tags)

    def score(self, summary: TrackSummary) -> np.ndarray:
        """Track genre probabilities from a summary (the scan's workers and library re-scoring alike)."""
        return self.head.track_probabilities(summary.sequence)

    def analyse(self, source: AudioSource) -> TrackAnalysis:
        """Decode the patches of one file, a path or opened, and classify it (raises DecodeError for bad files)."""
        from musictag.analysis.patches import PATCH_STEP_S, track_patches

        tp = track_patches(source)
        summary = self.summarise(tp.patches)
        return TrackAnalysis(self.score(summary), summary.embedding(),
                             self.head.patch_probabilities(summary.sequence), tp.starts, tp.duration, tp.silent,
                             PATCH_STEP_S, summary, self.info.backbone.tags)


class FrameModel:
    """A head on ~3 s segments of pooled frames (:mod:`musictag.analysis.frame_inputs`), in NumPy only.

    It keeps no summary: a track analysed by another model is analysed again, not re-scored.
    """

    def __init__(self, info: ModelInfo, threads: int = 1) -> None:
        self.info = info
        self.dir, self.meta, self.genres, self.model_id = info.dir, info.meta, info.genres, info.model_id
        self.input = self.meta["input"]
        self.head: Head = info.head  # read and checked with the folder
        self.runtime = {"runtime": "numpy", "precision": "f32", "note": None}  # the head alone runs

    def analyse(self, source: AudioSource) -> TrackAnalysis:
        """Decode the segments of one file, a path or opened, and classify it (raises DecodeError for bad files)."""
        from musictag.analysis.frame_inputs import settings, track_segments

        ts = track_segments(source, self.input)
        scores, embedding, per_segment = segment_analysis(self.head, ts.segments)
        return TrackAnalysis(scores, embedding, per_segment, ts.starts, ts.duration, ts.silent,
                             settings(self.input)["segment_seconds"])


Model = WindowModel | HeadModel | FrameModel


def load_model(model_dir: str | os.PathLike | None = None, threads: int = 1) -> Model:
    """Load the model folder ``model_dir`` (default: the shipped model), whichever kind it is."""
    info = ModelInfo.read(model_dir)
    return {"head": HeadModel, "frames": FrameModel, "windows": WindowModel}[info.kind](info, threads)
