"""Writing what training fitted as a model folder :mod:`musictag.analysis.models` can load.

- a window network: ``model.keras``, ``model.tflite`` (converted, checked against Keras) and ``model.json``;
- a head on the backbone: ``head.npz`` and ``model.json`` (the backbone named with its checksum);
- a head on frame segments: ``head.npz`` and ``model.json`` (with the frame settings it needs).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import numpy as np

from musictag import __version__
from musictag.analysis.backbone import BackboneInfo
from musictag.analysis.features import settings as feature_settings
from musictag.analysis.heads import Head
from musictag.analysis.scaling import Scaler
from musictag.training.metrics import recommended_min_confidence

#: Largest difference allowed between Keras and LiteRT outputs on the same input.
EXPORT_TOLERANCE = 1e-4


def _convert_to_tflite(model) -> bytes:
    """Convert a two-output Keras model to a TFLite flatbuffer with builtin ops only."""
    import tensorflow as tf

    from musictag.audio.decode import quiet_native_stderr

    with tempfile.TemporaryDirectory() as tmp, quiet_native_stderr():
        saved = Path(tmp) / "saved"
        model.export(str(saved), verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return converter.convert()


def _match_outputs(tflite: bytes, keras_model, probe: np.ndarray) -> tuple[dict, float]:
    """Name the TFLite outputs (probabilities / embedding) by comparing with Keras on ``probe``."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite)
    idx = interp.get_input_details()[0]["index"]
    interp.resize_tensor_input(idx, probe.shape)
    interp.allocate_tensors()
    interp.set_tensor(idx, probe)
    interp.invoke()
    got = {d["name"]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}
    probs, emb = keras_model.predict(probe, verbose=0)
    names, worst = {}, 0.0
    for role, want in (("probabilities", probs), ("embedding", emb)):
        candidates = [(float(np.max(np.abs(v - want))), n) for n, v in got.items() if v.shape == want.shape]
        diff, name = min(candidates)
        names[role] = name
        worst = max(worst, diff)
    if worst > EXPORT_TOLERANCE:
        raise RuntimeError(f"LiteRT and Keras disagree by {worst:.2e} after conversion")
    return names, worst


def save_window_model(out: Path, model, scaler: Scaler, genres: list[str],
               feature_range: tuple[np.ndarray, np.ndarray], summary: dict, metrics: dict) -> dict:
    """Write the model folder ``out`` and return the content of its model.json.

    ``feature_range`` is the per-row min and max over the training frames (kept for reference
    whatever the scaling); ``summary`` describes the training run; ``metrics`` the held-out figures.
    """
    from musictag.training.networks import with_embedding

    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    two = with_embedding(model)
    tflite = _convert_to_tflite(two)
    rng = np.random.default_rng(0)
    probe = rng.normal(size=(3, *model.input_shape[1:])).astype(np.float32)
    outputs, diff = _match_outputs(tflite, two, probe)
    (out / "model.tflite").write_bytes(tflite)
    meta = {
        "name": out.name,
        "format": 1,
        "musictag_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "architecture": model.name,
        "genres": genres,
        "outputs": outputs,
        "embedding_dim": int(two.outputs[1].shape[-1]),
        "features": feature_settings(),
        "scaling": scaler.to_json(),
        "feature_min": np.asarray(feature_range[0]).tolist(),
        "feature_max": np.asarray(feature_range[1]).tolist(),
        "litert_max_abs_diff": diff,
        "training": summary,
        "metrics": metrics,
    }
    (out / "model.json").write_text(json.dumps(meta, indent=1))
    return meta


def description_metrics(metrics: dict) -> dict:
    """The metrics model.json carries: all of them, but a confusion matrix of more genres than the
    picture shows stays in metrics.json only (2,000 genres: 4 million cells, which every scan would read)."""
    from musictag.training.plots import CONFUSION_GENRES_SHOWN

    if len(metrics.get("confusion", [])) <= CONFUSION_GENRES_SHOWN:
        return metrics
    return {key: value for key, value in metrics.items() if key != "confusion"}


def save_head_model(out: Path, head: Head, kind: str, genres: list[str], source: BackboneInfo | str, summary: dict,
                    metrics: dict) -> dict:
    """Write ``head.npz`` and ``model.json`` into ``out``; return the model.json content.

    ``source`` is what the head reads. The backbone (a :class:`~musictag.analysis.backbone.BackboneInfo`,
    format 2) is named with its checksum, never copied: the head runs only on exactly those weights.
    A frame input's name (format 3) brings its :func:`~musictag.analysis.frame_inputs.settings`, which the
    runtime compares with its own before using the head.
    """
    from musictag.analysis.patches import PATCHES_PER_TRACK, WHOLE_TRACK_LIMIT_S

    out.mkdir(parents=True, exist_ok=True)
    head.save(out / "head.npz")
    if isinstance(source, str):
        from musictag.analysis.frame_inputs import settings

        frames = settings(source)
        reads = {"format": 3, "input": source, "head": kind, "frames": frames}
        embedding_dim = len(head.embed(np.zeros((frames["segment_steps"], frames["dim"]), np.float32)))
    else:
        reads = {"format": 2, "input": "musicnn", "head": kind,
                 "backbone": {"name": source.name, "sha256": source.sha256}}
        embedding_dim = int(source.manifest["embedding_dim"])
    meta = {
        "name": out.name,
        "format": reads.pop("format"),
        "musictag_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **reads,
        "genres": genres,
        "embedding_dim": embedding_dim,
        "sampling": {"patches_per_track": PATCHES_PER_TRACK, "whole_track_limit_s": WHOLE_TRACK_LIMIT_S},
        "recommended_min_confidence": (metrics["calibration"]["threshold"] if "calibration" in metrics
                                       else recommended_min_confidence(metrics.get("confidence", []))),
        "training": summary,
        "metrics": description_metrics(metrics),
    }
    (out / "model.json").write_text(json.dumps(meta, indent=1))
    return meta
