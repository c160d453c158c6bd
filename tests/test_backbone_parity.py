"""The shipped musicnn-msd backbone reproduces musicnn's own MSD network, under OpenVINO and LiteRT alike.

``tests/data/musicnn_reference.npz`` holds four real log-mel patches (GTZAN classical, metal,
hip-hop, jazz) with the embedding and tags that musicnn 0.1.0's own TF1 graph gave for them (see
``tests/data/make_musicnn_reference.py`` for how it was made). The comparison is per output:
``max |tflite - reference| / max(max |reference|, 1e-6) <= 1e-4``, i.e. the largest error relative
to the output's largest magnitude (measured: ~3e-6 for both outputs).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BACKBONE = ROOT / "models" / "musicnn-msd"
REFERENCE = Path(__file__).resolve().parent / "data" / "musicnn_reference.npz"
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((BACKBONE / "manifest.json").read_text())


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in data.files}


def run_backbone(manifest: dict, patches: np.ndarray, runtime: str = "auto") -> dict[str, np.ndarray]:
    """Run the shipped backbone through musictag's own runtime (``runtime`` as $MUSICTAG_RUNTIME); outputs by role."""
    import os
    from unittest import mock

    from musictag.analysis.backbone import RUNTIME_ENV, Backbone, BackboneInfo

    with mock.patch.dict(os.environ, {RUNTIME_ENV: runtime}):
        backbone = Backbone(BackboneInfo.read(BACKBONE), threads=2)
    if runtime != "auto":
        assert backbone.runtime == runtime and backbone.precision == "f32", backbone.describe()
    embedding, tags = backbone.run(patches)
    return {"embedding": embedding, "tags": tags}


def relative_diff(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-6))


@pytest.mark.parametrize("runtime", ["openvino", "litert"])
def test_backbone_matches_musicnn_reference(manifest, reference, runtime):
    patches = reference["patches"]
    assert patches.shape == (4, 187, 96) and patches.dtype == np.float32
    out = run_backbone(manifest, patches, runtime)
    assert out["embedding"].shape == (4, 200)
    assert out["tags"].shape == (4, 50)
    for key in ("embedding", "tags"):
        diff = relative_diff(out[key], reference[key])
        assert diff <= TOLERANCE, f"{key}: relative difference {diff:.3g}"


@pytest.mark.parametrize("rows", [[2], [0, 1, 3]])
def test_dynamic_batch(manifest, reference, rows):
    out = run_backbone(manifest, reference["patches"][rows])
    assert out["embedding"].shape == (len(rows), 200)
    assert out["tags"].shape == (len(rows), 50)
    for key in ("embedding", "tags"):
        assert relative_diff(out[key], reference[key][rows]) <= TOLERANCE, key


def test_manifest_checksums_and_tags(manifest):
    for name in ("backbone.tflite", "LICENSE", "NOTICE"):
        digest = hashlib.sha256((BACKBONE / name).read_bytes()).hexdigest()
        assert manifest["files"][name] == digest, name
    assert len(manifest["tags"]) == 50
    assert manifest["tags"][:3] == ["rock", "pop", "alternative"]
    assert manifest["embedding_dim"] == 200
    assert manifest["licence"] == "ISC"
    assert set(manifest["outputs"]) == {"embedding", "tags"}
    assert "ISC" in (BACKBONE / "NOTICE").read_text() and "CC BY-NC-SA" in (BACKBONE / "NOTICE").read_text()


def test_both_runtimes_agree_and_bf16_stays_close(manifest, reference, monkeypatch):
    from musictag.analysis.backbone import PRECISION_ENV, Backbone, BackboneInfo, native_bf16
    from musictag.analysis.track_summary import unit_vector

    patches = reference["patches"]
    ov, lite = run_backbone(manifest, patches, "openvino"), run_backbone(manifest, patches, "litert")
    for key in ("embedding", "tags"):
        assert relative_diff(ov[key], lite[key]) <= TOLERANCE, key
    if not native_bf16():
        pytest.skip("no native bf16 on this CPU")
    monkeypatch.setenv(PRECISION_ENV, "bf16")
    backbone = Backbone(BackboneInfo.read(BACKBONE), threads=2)
    assert (backbone.runtime, backbone.precision) == ("openvino", "bf16")
    embedding, tags = backbone.run(patches)
    cosine = float(unit_vector(embedding.mean(axis=0)) @ unit_vector(ov["embedding"].mean(axis=0)))
    assert cosine >= 0.999 and float(np.max(np.abs(tags - ov["tags"]))) <= 0.05
