"""The README's model table: 5-fold track-level accuracy of each model on the same folds.

    python bench/bench_models.py ../shared/data/gtzan-mini --json runs/models.json
    python bench/bench_models.py DATA --rows musicnn-linear,musicnn-gru,default    # a subset
    python bench/bench_models.py DATA --rows linear,default --sklearn    # + scikit-learn reference
    python bench/bench_models.py DATA --matrix --json runs/matrix.json   # every input x every head
    python bench/bench_models.py DATA --matrix --inputs mel,musicnn --heads rf,linear   # part of it

Every row uses the same stratified folds (seed 0). Networks on the 44 features hold back 15% of
each fold's training tracks for early stopping; heads on the musicnn backbone train on all of them
(fixed epochs). Figures are out-of-fold track accuracy, its spread over the folds, segment (window
or patch) accuracy, and the accuracy on the held-out tracks heard through an MP3 + loud-mastering
rendering (the robustness check), and each row's time.

``--matrix`` is the second study's comparison: every head on every input (``musictag train --input
I --head H``), 5-fold on the same folds for every cell, each cell's training time (all folds, the
features already computed) and a markdown table with the study's figure beside ours where it
reported one. Features are cached in ``--cache``: a rerun only trains.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from musictag.training.config import HEADS, INPUTS, TrainConfig
from musictag.training.from_folder import ROBUSTNESS_CHECK, Trainer

BASE = TrainConfig(input="features44")
HEAD = TrainConfig(input="musicnn")
#: row name -> configuration (the ablation starts from the study's settings and ends at the default)
ROWS: dict[str, tuple[str, TrainConfig]] = {
    "musicnn-linear": ("musicnn (MSD) patch embeddings, linear head", replace(HEAD, head="linear")),
    "musicnn-gru": ("musicnn (MSD) patch embeddings, GRU-attention head", replace(HEAD, head="gru-attention")),
    "musicnn-linear-plain": ("musicnn, linear head, no augmentation", replace(HEAD, head="linear", augment=())),
    "musicnn-gru-plain": ("musicnn, GRU-attention head, no augmentation",
                          replace(HEAD, head="gru-attention", augment=())),
    "cnn-study": ("CNN (study: min-max scaling)", replace(BASE, arch="cnn", scaling="minmax", mixup=0.0, augment=())),
    "crnn-study": ("CRNN (study: min-max scaling)",
                   replace(BASE, arch="crnn", scaling="minmax", mixup=0.0, augment=())),
    "linear": ("linear baseline (mean+std, logistic regression)",
               replace(BASE, arch="linear", mixup=0.0, augment=(), learning_rate=1e-2)),
    "crnn-standardised": ("CRNN (study), standardised", replace(BASE, arch="crnn", mixup=0.0, augment=())),
    "stats-plain": ("crnn-stats, standardised, no mixup, no augmentation", replace(BASE, mixup=0.0, augment=())),
    "stats-mixup": ("crnn-stats + mixup", replace(BASE, augment=())),
    "default": ("crnn-stats + mixup + mp3/loud augmentation (the previous default)", BASE),
}


def sklearn_reference(fs, folds: int, seed: int = 0) -> tuple[float, float, float]:
    """scikit-learn logistic regression (C 0.1) on each window's per-row mean and sd, averaged per
    track, trained on ALL of each fold's training tracks (no early-stopping hold-out): the upper
    figure a linear model on window statistics reaches on the same folds. Returns the mean and sd
    of the fold accuracies and the accuracy on the held-out clips rendered MP3 + loud."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from musictag.training import splits

    genres = sorted({t.label for t in fs.tracks})
    lab = np.asarray([genres.index(t.label) for t in fs.tracks])

    def stats(w: np.ndarray) -> np.ndarray:
        return np.concatenate([w.mean(axis=2), w.std(axis=2)], axis=1)

    accuracies, robust = [], []
    for trval, test in splits.kfold(lab.tolist(), folds, seed):
        x = np.concatenate([stats(fs.windows[i]) for i in trval])
        y = np.concatenate([[lab[i]] * len(fs.windows[i]) for i in trval])
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)).fit(x, y)
        prob = np.stack([clf.predict_proba(stats(fs.windows[i])).mean(axis=0) for i in test])
        accuracies.append(float((prob.argmax(axis=1) == lab[test]).mean()))
        rendered = np.stack([clf.predict_proba(stats(fs.augmented[ROBUSTNESS_CHECK][i])).mean(axis=0) for i in test])
        robust.extend(rendered.argmax(axis=1) == lab[test])
    return float(np.mean(accuracies)), float(np.std(accuracies)), float(np.mean(robust))


#: The second study's track accuracy (100 GTZAN songs) where it reported a cell. Its pretrained
#: column is EnCodecMAE (wav2vec2 with rf: 0.66); musicnn stands in for it here.
STUDY = {("rf", "mel"): 0.27, ("rf", "mfcc"): 0.14, ("rf", "cqt"): 0.32, ("rf", "musicnn"): 0.79,
         ("gru-attention", "musicnn"): 0.85}
#: Epochs of every network head in the matrix: inputs cut into 3 s segments give ~1,000 training
#: examples a fold, backbone patch sequences one per track rendering (~170).
MATRIX_EPOCHS = {"segments": 20, "musicnn": 60}


def run_matrix(data: Path, cache: Path, folds: int, inputs: list[str], heads: list[str]) -> dict:
    """Every ``(input, head)`` cell, 5-fold on the same folds; the features of an input are loaded once."""
    from musictag.training.config import REFUSED

    cells: dict[str, dict] = {}
    for inp in inputs:
        start = time.monotonic()
        fs = Trainer(TrainConfig(input=inp, head="linear"), log=lambda _: None).load(data, cache)
        print(f"{inp}: features of {len(fs.tracks)} tracks in {time.monotonic() - start:.0f} s", flush=True)
        for head in heads:
            name = f"{inp}/{head}"
            problem = REFUSED.get((inp, head))
            if problem:
                cells[name] = {"skipped": problem}
                print(f"{name}: not run ({problem})", flush=True)
                continue
            epochs = MATRIX_EPOCHS["musicnn" if inp == "musicnn" else "segments"]
            cfg = TrainConfig(input=inp, head=head, epochs=epochs)
            start = time.monotonic()
            m = Trainer(cfg, log=lambda _: None).run(fs, "kfold", folds, refit=False).metrics
            cells[name] = {"track_accuracy_mean": m["track_accuracy_mean"],
                           "track_accuracy_std": m["track_accuracy_std"], "segment_accuracy": m["segment_accuracy"],
                           "robust_accuracy": m["robustness"]["track_accuracy"],
                           "fold_track_accuracy": m["fold_track_accuracy"], "epochs": epochs,
                           "seconds": round(time.monotonic() - start, 1)}
            c = cells[name]
            print(f"{name}: {c['track_accuracy_mean']:.3f} ± {c['track_accuracy_std']:.3f}, MP3+loud "
                  f"{c['robust_accuracy']:.3f}, {c['seconds']:.0f} s", flush=True)
    return cells


def matrix_table(cells: dict, inputs: list[str], heads: list[str]) -> str:
    """Markdown: one row per head, one column per input; each cell ``ours ± sd / MP3+loud (study) time``."""
    lines = ["| head | " + " | ".join(inputs) + " |", "|---|" + "---|" * len(inputs)]
    for head in heads:
        row = []
        for inp in inputs:
            c = cells.get(f"{inp}/{head}")
            if c is None:
                row.append("")
            elif "skipped" in c:
                row.append("n/a")
            else:
                study = STUDY.get((head, inp))
                row.append(f"{c['track_accuracy_mean']:.2f} ± {c['track_accuracy_std']:.2f} / "
                           f"{c['robust_accuracy']:.2f}" + (f" (study {study:.2f})" if study is not None else "")
                           + f", {c['seconds']:.0f} s")
        lines.append(f"| {head} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> None:
    """Run the chosen rows and print a markdown table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated rows of {', '.join(ROWS)} (default: all)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--cache", type=Path, default=Path("runs/feature-cache"))
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--sklearn", action="store_true",
                    help="also the scikit-learn logistic-regression reference (all training tracks)")
    ap.add_argument("--matrix", action="store_true", help="every head on every input (the second study's table)")
    ap.add_argument("--inputs", default=",".join(INPUTS), help="--matrix: the inputs (columns)")
    ap.add_argument("--heads", default=",".join(HEADS), help="--matrix: the heads (rows)")
    args = ap.parse_args()
    if args.matrix:
        inputs, heads = [i for i in args.inputs.split(",") if i], [h for h in args.heads.split(",") if h]
        start = time.monotonic()
        cells = run_matrix(args.data, args.cache, args.folds, inputs, heads)
        print(matrix_table(cells, inputs, heads))
        print(f"whole matrix: {time.monotonic() - start:.0f} s")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"cells": cells, "seconds": round(time.monotonic() - start, 1)}, indent=1))
        return
    names = [r for r in args.rows.split(",") if r]
    results = {}
    feature_sets = {}  # input -> FeatureSet, loaded once (cached on disk)
    for name in names:
        label, cfg = ROWS[name]
        trainer = Trainer(cfg, log=lambda _: None)
        if cfg.input not in feature_sets:  # with every augmentation any row of that input trains on
            full = BASE if cfg.input == "features44" else HEAD
            feature_sets[cfg.input] = Trainer(full, log=lambda _: None).load(args.data, args.cache)
        fs = feature_sets[cfg.input]
        start = time.monotonic()
        m = trainer.run(fs, "kfold", args.folds, refit=False).metrics
        results[name] = {"track_accuracy_mean": m["track_accuracy_mean"],
                         "track_accuracy_std": m["track_accuracy_std"],
                         "segment_accuracy": m["segment_accuracy"],
                         "robust_accuracy": m["robustness"]["track_accuracy"],
                         "seconds": round(time.monotonic() - start, 1)}
        r = results[name]
        print(f"| {label} | {r['track_accuracy_mean']:.3f} ± {r['track_accuracy_std']:.3f} | "
              f"{r['segment_accuracy']:.3f} | {r['robust_accuracy']:.3f} | {r['seconds']:.0f} s |", flush=True)
    if args.sklearn:
        mean, sd, rob = sklearn_reference(feature_sets.get("features44") or Trainer(BASE).load(args.data, args.cache),
                                          args.folds)
        results["sklearn-lr"] = {"track_accuracy_mean": mean, "track_accuracy_std": sd, "robust_accuracy": rob}
        print(f"| scikit-learn logistic regression, all training tracks | {mean:.3f} ± {sd:.3f} | | {rob:.3f} | |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
