"""How many 3 s patches to analyse per track: accuracy against time.

    python bench/bench_patches.py ../shared/data/gtzan-mini [--head linear] [--json runs/patches.json]

(a) Accuracy: 5-fold by track (seed 0, the folds of bench_models.py), a head fitted on the other
    folds (every patch of every training clip, plus its MP3 and loud renderings), each held-out clip
    classified from K of its patches spread evenly over it (K = 1, 2, 3, all), plain and rendered
    MP3 + loud. The clips are 15-20 s (5-6 patches), so this shows how fast accuracy saturates,
    not what K a full-length song needs.
(b) Time: one four-minute 44.1 kHz stereo MP3 (bench_scan.py's), one core, one thread: decoding the
    K patches by seeking, log-mel, the backbone, the shipped head, for K = 1 .. 16; beside it the
    floor that bench_scan.py compares the scan with, a full decode of the same file to 22,050 Hz mono.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

from bench_scan import DATA, build_library  # noqa: E402  (bench/ is on sys.path when run as a script)

from musictag.training import splits  # noqa: E402
from musictag.training.config import TrainConfig  # noqa: E402
from musictag.training.from_folder import ROBUSTNESS_CHECK, Trainer  # noqa: E402
from musictag.training.learners import HeadLearner  # noqa: E402

TIMED_K = (1, 2, 4, 6, 8, 12, 16)


def spread(seq: np.ndarray, k: int | None) -> np.ndarray:
    """``k`` patches of ``seq`` evenly spread (all of them for None, or when it has no more)."""
    if k is None or k >= len(seq):
        return seq
    return seq[np.round(np.linspace(0, len(seq) - 1, k)).astype(int)]


def accuracy(data: Path, cache: Path, head: str, ks: tuple[int | None, ...]) -> dict:
    """Out-of-fold track accuracy (plain and rendered) for each patch count."""
    cfg = TrainConfig(input="musicnn", head=head)
    trainer = Trainer(cfg, log=lambda _: None)
    fs = trainer.load(data, cache)
    genres = sorted({t.label for t in fs.tracks})
    lab = [genres.index(t.label) for t in fs.tracks]
    learner: HeadLearner = trainer.learner
    hits = {k: {"plain": [], "rendered": []} for k in ks}
    for trval, test in splits.kfold(lab, 5, 0):
        fitted, _, _ = learner.fit(fs, lab, len(genres), trval, None, lambda *_: None)
        for i in test:
            for k in ks:
                for name, source in (("plain", fs.windows), ("rendered", fs.augmented[ROBUSTNESS_CHECK])):
                    hits[k][name].append(int(fitted.track_probabilities(spread(source[i], k)).argmax()) == lab[i])
    return {("all" if k is None else str(k)): {n: float(np.mean(v)) for n, v in h.items()} for k, h in hits.items()}


def timing(path: Path, repeats: int = 5) -> dict:
    """Median seconds per track on one core: K patches end to end (opening and checking the file included),
    and the full-decode floor."""
    from musictag.analysis.models import load_model
    from musictag.analysis.patches import track_patches
    from musictag.audio.decode import load

    model = load_model(threads=1)
    backbone, head = model.backbone, model.head
    backbone.run(track_patches(path, count=2).patches)  # warm: imports, filter bank, interpreter

    def median(fn) -> float:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return float(np.median(times))

    out = {"full_decode_22050_s": median(lambda: load(path))}
    for k in TIMED_K:
        out[f"decode_mel_k{k}_s"] = median(lambda k=k: track_patches(path, count=k))
        out[f"total_k{k}_s"] = median(lambda k=k: backbone.run(track_patches(path, count=k).patches))
        sequence = model.summarise(track_patches(path, count=k).patches).sequence
        out[f"head_k{k}_s"] = median(lambda sequence=sequence: head.track_probabilities(sequence))
    return out


def main() -> None:
    """Print both tables (markdown) and optionally write the figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, nargs="?", default=DATA)
    ap.add_argument("--head", default="linear", choices=("linear", "gru-attention"))
    ap.add_argument("--cache", type=Path, default=Path("runs/feature-cache"))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/musictag-bench-scan"))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as one scan worker has

    acc = accuracy(args.data, args.cache, args.head, (1, 2, 3, None))
    print(f"(a) out-of-fold track accuracy by patches per clip ({args.head} head, gtzan-mini, 5 folds)")
    print("| patches | plain | MP3 + loud |\n|---|---|---|")
    for k, r in acc.items():
        print(f"| {k} | {r['plain']:.3f} | {r['rendered']:.3f} |")

    track = build_library(args.workdir / "mp3", 1, args.data, 1)[0]
    t = timing(track)
    floor = t["full_decode_22050_s"]
    print(f"\n(b) one four-minute MP3, one core, one thread (load {os.getloadavg()[0]:.2f}); "
          f"full decode to 22,050 Hz: {floor * 1000:.0f} ms")
    print("| patches | decode + log-mel | + backbone = total | total / full decode | head (shipped) |\n"
          "|---|---|---|---|---|")
    for k in TIMED_K:
        total = t[f"total_k{k}_s"]
        print(f"| {k} | {t[f'decode_mel_k{k}_s'] * 1000:.0f} ms | {total * 1000:.0f} ms | {total / floor:.2f} | "
              f"{t[f'head_k{k}_s'] * 1000:.1f} ms |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"accuracy": acc, "timing": t}, indent=1))


if __name__ == "__main__":
    main()
