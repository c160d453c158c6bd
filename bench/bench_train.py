"""Training speed: seconds per epoch on gtzan-mini, extrapolated to the full GTZAN collection.

    python bench/bench_train.py ../shared/data/gtzan-mini [--archs cnn,crnn,crnn-stats] [--epochs 4]

For each network: fit a few epochs on every gtzan-mini window (plain + the default augmentations,
as `musictag train` does), time the epochs after the first (which includes graph building), and
scale by window count to full GTZAN (990 readable tracks x 9 windows, x3 with augmentation).
Feature extraction is timed separately (per 30 s clip, per rendering) since it is cached after
the first run.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from musictag.analysis.scaling import Scaler
from musictag.training.config import TrainConfig
from musictag.training.from_folder import Trainer
from musictag.training.window_fit import fit_network, stack_windows

GTZAN_WINDOWS = 990 * 9


def main() -> None:
    """Print seconds per epoch and the extrapolated full-GTZAN training time."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--archs", default="cnn,crnn,crnn-stats")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--typical-epochs", type=int, default=60,
                    help="epochs a full run takes (best epoch + patience) for the extrapolation")
    args = ap.parse_args()
    cfg = TrainConfig()
    start = time.monotonic()
    fs = Trainer(cfg, log=lambda _: None).load(args.data, cache_dir=None)
    feat_s = time.monotonic() - start
    renderings = 1 + len(fs.augmented)
    per_clip = feat_s / len(fs.tracks) / renderings
    print(f"features: {len(fs.tracks)} clips x {renderings} renderings in {feat_s:.1f} s "
          f"({per_clip * 1000:.0f} ms per clip-rendering; full GTZAN x {1 + len(cfg.augment)}: "
          f"{per_clip * 990 * (1 + len(cfg.augment)) / 60:.1f} min, once, then cached)")
    labels = sorted({t.label for t in fs.tracks})
    lab = [labels.index(t.label) for t in fs.tracks]
    sources = [fs.windows, *(fs.augmented[a] for a in cfg.augment)]
    x, y = stack_windows([w for src in sources for w in src], lab * len(sources))
    x = Scaler.fit(fs.windows).apply(x)
    print(f"threads: {os.cpu_count()} cores; {len(x)} training windows per epoch here")
    print("| network | s / epoch here | s / epoch full GTZAN | full GTZAN, "
          f"{args.typical_epochs} epochs |")
    for arch in args.archs.split(","):
        stamps: list[float] = []
        fit_network(TrainConfig(arch=arch, epochs=args.epochs), len(labels), (x, y), None,
                    on_epoch=lambda e, logs, s=stamps: s.append(time.monotonic()), fixed_epochs=args.epochs)
        per_epoch = float(np.median(np.diff(stamps)))
        full = per_epoch * GTZAN_WINDOWS * len(sources) / len(x)
        print(f"| {arch} | {per_epoch:.2f} | {full:.0f} | {full * args.typical_epochs / 60:.0f} min |", flush=True)


if __name__ == "__main__":
    main()
