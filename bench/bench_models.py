"""The README's model table: 5-fold track-level accuracy of each network on the same folds.

    python bench/bench_models.py ../shared/data/gtzan-mini --json runs/models.json
    python bench/bench_models.py DATA --rows crnn-stats,crnn-stats:noaug   # a chosen subset

Every row uses the same stratified folds (seed 0); inside each fold 15% of the training tracks
are held back for early stopping. Figures are out-of-fold track accuracy (mean of the window
probabilities), its spread over the folds, segment accuracy, and the accuracy on the held-out
tracks heard through an MP3 + loud-mastering rendering (the robustness check).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from musictag.train import TrainConfig
from musictag.trainer import Trainer

BASE = TrainConfig()
#: row name -> configuration (the ablation starts from the study's settings and ends at the default)
ROWS: dict[str, tuple[str, TrainConfig]] = {
    "cnn-study": ("CNN (study: min-max scaling)", replace(BASE, arch="cnn", scaling="minmax", mixup=0.0, augment=())),
    "crnn-study": ("CRNN (study: min-max scaling)",
                   replace(BASE, arch="crnn", scaling="minmax", mixup=0.0, augment=())),
    "linear": ("linear baseline (mean+std, logistic regression)",
               replace(BASE, arch="linear", mixup=0.0, augment=(), learning_rate=1e-2)),
    "crnn-standardised": ("CRNN (study), standardised", replace(BASE, arch="crnn", mixup=0.0, augment=())),
    "stats-plain": ("crnn-stats, standardised, no mixup, no augmentation", replace(BASE, mixup=0.0, augment=())),
    "stats-mixup": ("crnn-stats + mixup", replace(BASE, augment=())),
    "default": ("crnn-stats + mixup + mp3/loud augmentation (shipped default)", BASE),
}


def main() -> None:
    """Run the chosen rows and print a markdown table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated rows of {', '.join(ROWS)} (default: all)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--cache", type=Path, default=Path("runs/feature-cache"))
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    names = [r for r in args.rows.split(",") if r]
    results = {}
    fs = Trainer(BASE, log=lambda _: None).load(args.data, args.cache)
    for name in names:
        label, cfg = ROWS[name]
        start = time.monotonic()
        _, _, _, _, m, _ = Trainer(cfg, log=lambda _: None).run(fs, "kfold", args.folds, refit=False)
        results[name] = {"track_accuracy_mean": m["track_accuracy_mean"],
                         "track_accuracy_std": m["track_accuracy_std"],
                         "segment_accuracy": m["segment_accuracy"],
                         "robust_accuracy": m["robustness"]["track_accuracy"],
                         "seconds": round(time.monotonic() - start, 1)}
        r = results[name]
        print(f"| {label} | {r['track_accuracy_mean']:.3f} ± {r['track_accuracy_std']:.3f} | "
              f"{r['segment_accuracy']:.3f} | {r['robust_accuracy']:.3f} | {r['seconds']:.0f} s |", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
