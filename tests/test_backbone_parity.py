"""The shipped musicnn-msd backbone reproduces musicnn's own MSD network, under LiteRT alone.

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


def run_backbone(manifest: dict, patches: np.ndarray) -> dict[str, np.ndarray]:
    """Run the shipped backbone through musictag's own LiteRT runtime; outputs keyed by role."""
    from musictag.backbone import Backbone, BackboneInfo

    embedding, tags = Backbone(BackboneInfo.read(BACKBONE), threads=2).run(patches)
    return {"embedding": embedding, "tags": tags}


def relative_diff(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(got - want)) / max(float(np.max(np.abs(want))), 1e-6))


def test_backbone_matches_musicnn_reference(manifest, reference):
    patches = reference["patches"]
    assert patches.shape == (4, 187, 96) and patches.dtype == np.float32
    out = run_backbone(manifest, patches)
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
