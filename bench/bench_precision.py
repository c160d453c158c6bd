"""bf16 against f32 for the backbone (OpenVINO), on real tracks: embeddings, tags and the genres written.

    python bench/bench_precision.py DIR [DIR ...] [--model DIR] [--timing]

For every audio track of the labelled folders (``<label>/<track>``: gtzan-mini, a make_real_dev.sh set)
the patches a scan takes are run through the backbone in f32 and in bf16; printed: the smallest cosine
between the two track embeddings, the largest tag difference, and every track whose decision at the
model's recommended threshold (written genre, or uncertain) differs. ``--timing``: ms per patch on one
core for LiteRT, OpenVINO f32 and bf16, and OpenVINO f32 on the AVX2 code path (``ONEDNN_MAX_CPU_ISA``),
each in a fresh process pinned to one core. Needs a CPU with native bf16 (AMX or AVX512-BF16).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

_TIMING = """
import os, sys, time, numpy as np
from musictag.analysis.models import load_model
from musictag.analysis.patches import track_patches
from musictag.training.labelled_tree import find_in_trees
tracks, _ = find_in_trees(sys.argv[1:])
model = load_model(threads=1)
patches = [track_patches(t.path).patches for t in tracks[:12]]
model.summarise(patches[0])
started = time.perf_counter()
for p in patches:
    model.summarise(p)
print((time.perf_counter() - started) / sum(len(p) for p in patches) * 1000)
"""


def run_both(dirs: list[Path], model_dir: Path | None) -> None:
    """Decisions and embeddings of every track under f32 and bf16."""
    from musictag.analysis.backbone import PRECISION_ENV, RUNTIME_ENV, Backbone, native_bf16
    from musictag.analysis.models import ModelInfo, load_model
    from musictag.analysis.patches import track_patches
    from musictag.analysis.track_summary import TrackSummary
    from musictag.scan.tag_decision import choose_genres
    from musictag.training.labelled_tree import find_in_trees

    if not native_bf16():
        sys.exit("bench_precision: this CPU has no native bf16")
    info = ModelInfo.read(model_dir)
    model = load_model(model_dir)
    threshold = info.meta.get("recommended_min_confidence") or 0.6
    backbones = {}
    for precision in ("f32", "bf16"):
        os.environ.update({RUNTIME_ENV: "openvino", PRECISION_ENV: precision})
        backbones[precision] = Backbone(info.backbone, threads=len(os.sched_getaffinity(0)))
    tracks, _ = find_in_trees(dirs)
    cosines, tag_diffs, changed = [], [], []
    for t in tracks:
        patches = track_patches(t.path).patches
        out = {}
        for precision, backbone in backbones.items():
            summary = TrackSummary.of(*backbone.run(patches))
            scores = model.score(summary)
            written = choose_genres(dict(zip(info.genres, scores.tolist(), strict=True)), threshold, 1)
            out[precision] = (summary.embedding(), summary.tags, written, float(scores.max()))
        cosines.append(float(out["f32"][0] @ out["bf16"][0]))
        tag_diffs.append(float(np.abs(out["f32"][1] - out["bf16"][1]).max()))
        if out["f32"][2] != out["bf16"][2]:
            changed.append(f"{t.path.name}: f32 {out['f32'][2] or 'uncertain'} ({out['f32'][3]:.4f}), "
                           f"bf16 {out['bf16'][2] or 'uncertain'} ({out['bf16'][3]:.4f})")
    print(f"{len(tracks)} tracks, threshold {threshold:.3g}: smallest embedding cosine {min(cosines):.5f}, "
          f"largest tag difference {max(tag_diffs):.4f}, decisions changed: {len(changed)}")
    for line in changed:
        print("  " + line)


def timing(dirs: list[Path]) -> None:
    """ms per patch on one core, per runtime and code path, each in a fresh pinned process."""
    cases = {"LiteRT": {"MUSICTAG_RUNTIME": "litert"},
             "OpenVINO f32": {"MUSICTAG_RUNTIME": "openvino", "MUSICTAG_PRECISION": "f32"},
             "OpenVINO f32, AVX2 path": {"MUSICTAG_RUNTIME": "openvino", "MUSICTAG_PRECISION": "f32",
                                         "ONEDNN_MAX_CPU_ISA": "AVX2"},
             "OpenVINO bf16": {"MUSICTAG_RUNTIME": "openvino", "MUSICTAG_PRECISION": "bf16"}}
    core = str(min(os.sched_getaffinity(0)))
    for name, env in cases.items():
        res = subprocess.run(["taskset", "-c", core, sys.executable, "-c", _TIMING, *map(str, dirs)],
                             capture_output=True, text=True, env={**os.environ, **env}, check=True)
        print(f"{name}: {float(res.stdout.strip()):.1f} ms per patch")


def main() -> None:
    """Run the bench."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--timing", action="store_true")
    args = ap.parse_args()
    run_both(args.dirs, args.model)
    if args.timing:
        timing(args.dirs)


if __name__ == "__main__":
    main()
