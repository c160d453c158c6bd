"""Convert musicnn's MSD network (the PyPI wheel ``musicnn`` 0.1.0) to a LiteRT backbone folder.

Usage (needs the ``train`` extra, i.e. TensorFlow; musicnn itself is *not* installed)::

    pip download musicnn==0.1.0 --no-deps
    python -m musictag.training.musicnn_convert musicnn-0.1.0-py3-none-any.whl --out models/musicnn-msd

The ``MSD_musicnn`` TF1 checkpoint is read straight from the wheel (or from an unpacked wheel
folder) with ``NewCheckpointReader``; the network is rebuilt with plain TensorFlow 2 ops, loaded by
the checkpoint's variable names, and converted to a float32 TFLite model with builtin ops only and a
dynamic batch dimension. It maps ``(batch, 187, 96)`` float32 log-mel patches (16 kHz mono,
``n_fft`` 512, hop 256, 96 Slaney mel bands, ``log10(10000 * mel + 1)`` computed in float32) to
two outputs: the 200-d penultimate embedding (``batch_normalization_10``) and the 50 MSD tag
probabilities (``sigmoid(dense_1)``).

The output folder holds ``backbone.tflite``, ``manifest.json``, ``LICENSE`` (the wheel's ISC text)
and ``NOTICE`` (attribution). Before anything is written, the TFLite model is checked against the
TensorFlow graph it came from on random patches; a relative difference above 1e-4 aborts.

Architecture notes (see musicnn's ``models.py``): every convolution is ReLU *then* BatchNorm; BatchNorm
uses TF1's default epsilon 1e-3; the back-end flattens ``concat([max_pool, mean_pool], axis=2)`` of
shape (batch, 753, 2), i.e. the pooled features are *interleaved* ``[max0, mean0, max1, mean1, ...]``.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import numpy as np

from musictag.hashing import file_digest

NAME = "musicnn-msd"
CHECKPOINT = "MSD_musicnn"
PATCH_FRAMES = 187
N_MELS = 96
EMBEDDING_DIM = 200
BN_EPSILON = 1e-3  # TF1 tf.compat.v1.layers.batch_normalization default
MAX_RELATIVE_DIFF = 1e-4

NOTICE_TEXT = """\
musicnn-msd backbone
====================

backbone.tflite is the "MSD_musicnn" model of musicnn by Jordi Pons, Music Technology Group,
Universitat Pompeu Fabra, (c) 2019, released under the ISC licence (see LICENSE, copied verbatim
from the wheel's LICENSE.md). The weights come from the MSD_musicnn checkpoint (trained on the
Million Song Dataset) inside the PyPI wheel musicnn {version}:
    {wheel}
They were converted to LiteRT (TFLite, float32) by musictag's musicnn_convert, without retraining
or any other change.

Upstream: https://github.com/jordipons/musicnn (ISC).

Essentia distributes its own copies of the musicnn models under CC BY-NC-SA 4.0; those copies are
not what is shipped here.
"""


@dataclass
class MusicnnSource:
    """Where the checkpoint, licence and version of a musicnn distribution were found."""

    checkpoint_prefix: str  # for NewCheckpointReader: the folder followed by "/" (empty basename)
    license_bytes: bytes  # the wheel's LICENSE.md, byte for byte
    labels: list[str]
    version: str
    wheel_name: str | None
    wheel_sha256: str | None


def _parse_msd_labels(configuration_py: str) -> list[str]:
    """The ``MSD_LABELS`` list of musicnn's ``configuration.py``, read without importing it."""
    match = re.search(r"^MSD_LABELS\s*=\s*(\[.*?\])", configuration_py, re.MULTILINE | re.DOTALL)
    if not match:
        raise ValueError("MSD_LABELS not found in musicnn/configuration.py")
    labels = ast.literal_eval(match.group(1))
    if len(labels) != 50:
        raise ValueError(f"expected 50 MSD labels, found {len(labels)}")
    return [str(label) for label in labels]


def _version_from_metadata(metadata: str) -> str:
    """The ``Version`` header of a dist-info METADATA file."""
    version = HeaderParser().parsestr(metadata).get("Version")
    if not version:
        raise ValueError("no Version in the wheel's METADATA")
    return version.strip()


def open_source(source: Path, workdir: Path) -> MusicnnSource:
    """Locate the MSD checkpoint, LICENSE.md, labels and version in a wheel or an unpacked folder.

    ``source`` is the ``.whl`` file (its ``musicnn/MSD_musicnn/`` members are extracted into
    ``workdir``), the unpacked wheel's root (holding ``musicnn/`` and ``musicnn-*.dist-info/``), or
    the ``musicnn`` package folder inside it.
    """
    if source.is_file():
        with zipfile.ZipFile(source) as wheel:
            names = wheel.namelist()
            prefix = f"musicnn/{CHECKPOINT}/"
            members = [n for n in names if n.startswith(prefix) and not n.endswith("/")]
            if not any(n.endswith(".index") for n in members):
                raise ValueError(f"{source} holds no {prefix} checkpoint")
            for name in members:
                target = workdir / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(wheel.read(name))
            dist_info = [n for n in names if re.fullmatch(r"musicnn-[^/]+\.dist-info", n.split("/")[0])]
            license_name = next(n for n in dist_info if n.endswith("/LICENSE.md"))
            metadata_name = next(n for n in dist_info if n.endswith("/METADATA"))
            return MusicnnSource(
                checkpoint_prefix=str(workdir / "musicnn" / CHECKPOINT) + "/",
                license_bytes=wheel.read(license_name),
                labels=_parse_msd_labels(wheel.read("musicnn/configuration.py").decode("utf-8")),
                version=_version_from_metadata(wheel.read(metadata_name).decode("utf-8")),
                wheel_name=source.name,
                wheel_sha256=file_digest([source]),
            )
    root = source.parent if (source / CHECKPOINT).is_dir() else source
    package = root / "musicnn"
    if not (package / CHECKPOINT).is_dir():
        raise ValueError(f"no musicnn/{CHECKPOINT}/ checkpoint under {source}")
    dist_infos = sorted(root.glob("musicnn-*.dist-info"))
    if not dist_infos:
        raise ValueError(f"no musicnn-*.dist-info folder beside {package} (LICENSE.md is needed)")
    return MusicnnSource(
        checkpoint_prefix=str(package / CHECKPOINT) + "/",
        license_bytes=(dist_infos[0] / "LICENSE.md").read_bytes(),
        labels=_parse_msd_labels((package / "configuration.py").read_text(encoding="utf-8")),
        version=_version_from_metadata((dist_infos[0] / "METADATA").read_text(encoding="utf-8")),
        wheel_name=None,
        wheel_sha256=None,
    )


def read_checkpoint(prefix: str) -> dict[str, np.ndarray]:
    """The model variables of a TF1 checkpoint as float32 arrays (optimizer slots left out)."""
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(prefix)
    weights = {}
    for name in reader.get_variable_to_shape_map():
        if "Adam" in name or name in ("beta1_power", "beta2_power"):
            continue
        weights[name] = np.asarray(reader.get_tensor(name), dtype=np.float32)
    return weights


def build_backbone(weights: dict[str, np.ndarray]) -> Callable[[Any], tuple[Any, Any]]:
    """The MSD musicnn forward pass in plain TF2 ops: patches (B, 187, 96) -> (embedding, tags).

    Mirrors ``musicnn.models.build_musicnn`` in inference mode. The mid-end's ``7 x C`` convolutions
    over a 1-channel "image" are rewritten as ``7 x 1`` convolutions over C channels (same sums,
    friendlier to TFLite); explicit 3+3 zero padding with a 7-tap kernel is ``SAME`` padding.
    """
    import tensorflow as tf

    def const(name: str) -> Any:
        return tf.constant(weights[name])

    def batch_norm(x: Any, name: str) -> Any:
        scale = weights[f"{name}/gamma"] / np.sqrt(weights[f"{name}/moving_variance"] + np.float32(BN_EPSILON))
        shift = weights[f"{name}/beta"] - weights[f"{name}/moving_mean"] * scale
        return x * tf.constant(scale.astype(np.float32)) + tf.constant(shift.astype(np.float32))

    def conv(x: Any, name: str, padding: str | list[list[int]], kernel: np.ndarray | None = None) -> Any:
        k = weights[f"{name}/kernel"] if kernel is None else kernel
        y = tf.nn.conv2d(x, tf.constant(k), strides=1, padding=padding) + const(f"{name}/bias")
        return tf.nn.relu(y)

    def midend_conv(x: Any, name: str, bn: str) -> Any:
        # x: (B, T, 1, C); checkpoint kernel (7, C, 1, F) -> (7, 1, C, F)
        k = weights[f"{name}/kernel"]
        k = np.ascontiguousarray(np.transpose(k, (0, 2, 1, 3)))
        return batch_norm(conv(x, name, "SAME", kernel=k), bn)

    def forward(patches: Any) -> tuple[Any, Any]:
        x = tf.expand_dims(patches, 3)  # (B, 187, 96, 1)
        x = batch_norm(x, "batch_normalization")
        x_pad = tf.pad(x, [[0, 0], [3, 3], [0, 0], [0, 0]])
        front = []
        for conv_name, bn_name, source, padding in (
            ("conv2d", "batch_normalization_1", x_pad, "VALID"),  # timbral 7x38
            ("conv2d_1", "batch_normalization_2", x_pad, "VALID"),  # timbral 7x67
            ("conv2d_2", "batch_normalization_3", x, "SAME"),  # temporal 128x1
            ("conv2d_3", "batch_normalization_4", x, "SAME"),  # temporal 64x1
            ("conv2d_4", "batch_normalization_5", x, "SAME"),  # temporal 32x1
        ):
            y = batch_norm(conv(source, conv_name, padding), bn_name)
            front.append(tf.reduce_max(y, axis=2, keepdims=True))  # (B, 187, 1, F)
        front_features = tf.concat(front, axis=3)  # (B, 187, 1, 561)
        c1 = midend_conv(front_features, "conv2d_5", "batch_normalization_6")
        r2 = midend_conv(c1, "conv2d_6", "batch_normalization_7") + c1
        r3 = midend_conv(r2, "conv2d_7", "batch_normalization_8") + r2
        features = tf.concat([front_features, c1, r2, r3], axis=3)  # (B, 187, 1, 753)
        features = tf.squeeze(features, axis=2)  # (B, 187, 753)
        max_pool = tf.reduce_max(features, axis=1)
        mean_pool = tf.reduce_mean(features, axis=1)
        pooled = tf.reshape(tf.stack([max_pool, mean_pool], axis=2), [-1, 2 * 753])  # interleaved
        pooled = batch_norm(pooled, "batch_normalization_9")
        dense = tf.nn.relu(tf.matmul(pooled, const("dense/kernel")) + const("dense/bias"))
        embedding = batch_norm(dense, "batch_normalization_10")
        logits = tf.matmul(embedding, const("dense_1/kernel")) + const("dense_1/bias")
        return embedding, tf.sigmoid(logits)

    return forward


def to_tflite(forward: Callable[[Any], tuple[Any, Any]]) -> bytes:
    """Convert the forward pass to a float32, builtin-ops-only TFLite flatbuffer with a dynamic batch."""
    import tensorflow as tf

    module = tf.Module()
    module.forward = tf.function(
        lambda patches: dict(zip(("embedding", "tags"), forward(patches), strict=True)),
        input_signature=[tf.TensorSpec([None, PATCH_FRAMES, N_MELS], tf.float32, name="patches")],
    )
    concrete = module.forward.get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.optimizations = []
    return converter.convert()


def _interpreter(model: bytes, num_threads: int | None = None) -> Any:
    """A LiteRT interpreter for ``model`` (ai_edge_litert, else TensorFlow's own)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - ai-edge-litert is a base dependency
        from tensorflow.lite.python.interpreter import Interpreter
    return Interpreter(model_content=model, num_threads=num_threads)


def output_names(model: bytes) -> dict[str, str]:
    """The TFLite output tensor names of the embedding and the tags, told apart by their shape."""
    details = _interpreter(model).get_output_details()
    names: dict[str, str] = {}
    for detail in details:
        width = int(detail["shape"][-1])
        if width == EMBEDDING_DIM:
            names["embedding"] = detail["name"]
        elif width == 50:
            names["tags"] = detail["name"]
    if set(names) != {"embedding", "tags"} or len(details) != 2:
        raise RuntimeError(f"unexpected TFLite outputs: {[(d['name'], d['shape']) for d in details]}")
    return names


def run_tflite(model: bytes, patches: np.ndarray, names: dict[str, str]) -> dict[str, np.ndarray]:
    """Run the TFLite model on a batch of patches; outputs keyed ``embedding`` / ``tags``."""
    interpreter = _interpreter(model)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, list(patches.shape), strict=True)
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, patches.astype(np.float32))
    interpreter.invoke()
    by_name = {d["name"]: d["index"] for d in interpreter.get_output_details()}
    return {key: interpreter.get_tensor(by_name[name]).copy() for key, name in names.items()}


def relative_diff(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b| / max(max |b|, 1e-6)``."""
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-6))


def check_tflite(forward: Callable[[Any], tuple[Any, Any]], model: bytes, names: dict[str, str],
                 n_patches: int = 5, seed: int = 0) -> dict[str, float]:
    """Compare the TFLite model with the TF graph on random log-mel-like patches.

    Returns the relative difference per output; raises ``RuntimeError`` above 1e-4.
    """
    rng = np.random.default_rng(seed)
    patches = rng.uniform(0.0, 4.0, size=(n_patches, PATCH_FRAMES, N_MELS)).astype(np.float32)
    expected = dict(zip(("embedding", "tags"), (np.asarray(t) for t in forward(patches)), strict=True))
    got = run_tflite(model, patches, names)
    diffs = {key: relative_diff(got[key], expected[key]) for key in expected}
    for key, diff in diffs.items():
        if not np.isfinite(got[key]).all() or not diff <= MAX_RELATIVE_DIFF:
            raise RuntimeError(f"TFLite {key} differs from the TensorFlow graph by {diff:.3g} (relative)")
    return diffs


def convert(source: Path, out: Path) -> dict[str, Any]:
    """Convert ``source`` (wheel or unpacked folder) into the backbone folder ``out``; return the manifest."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="musicnn-") as tmp:
        src = open_source(source, Path(tmp))
        weights = read_checkpoint(src.checkpoint_prefix)
    forward = build_backbone(weights)
    model = to_tflite(forward)
    names = output_names(model)
    diffs = check_tflite(forward, model, names)

    out.mkdir(parents=True, exist_ok=True)
    (out / "backbone.tflite").write_bytes(model)
    (out / "LICENSE").write_bytes(src.license_bytes)
    if src.wheel_name:
        wheel = f"{src.wheel_name} (sha256 {src.wheel_sha256})"
    else:
        wheel = "(read from an unpacked copy of the wheel)"
    (out / "NOTICE").write_text(NOTICE_TEXT.format(version=src.version, wheel=wheel), encoding="utf-8")
    manifest = {
        "name": NAME,
        "format": 1,
        "source": {"package": "musicnn", "version": src.version, "checkpoint": CHECKPOINT,
                   "wheel_sha256": src.wheel_sha256},
        "input": {"sample_rate": 16000, "n_fft": 512, "hop": 256, "n_mels": N_MELS, "patch_frames": PATCH_FRAMES,
                  "log": "log10(10000 * mel + 1), float32"},
        "outputs": names,
        "embedding_dim": EMBEDDING_DIM,
        "tags": src.labels,
        "files": {name: file_digest([out / name]) for name in ("backbone.tflite", "LICENSE", "NOTICE")},
        "licence": "ISC",
        "converted_with": {"tensorflow": tf.__version__},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(model):,} bytes of TFLite); TFLite vs TF relative diff: "
          + ", ".join(f"{k} {v:.2g}" for k, v in diffs.items()))
    return manifest


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m musictag.training.musicnn_convert",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="musicnn-0.1.0-py3-none-any.whl or its unpacked folder")
    parser.add_argument("--out", type=Path, default=Path("models") / NAME, help="output folder")
    args = parser.parse_args(argv)
    convert(args.source, args.out)


if __name__ == "__main__":
    main()
