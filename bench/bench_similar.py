"""How good and how fast ``musictag similar`` is.

    python bench/bench_similar.py                       # quality + speed, shipped model
    python bench/bench_similar.py --oof                 # also the previous model's out-of-fold row (5 folds)
    python bench/bench_similar.py --skip-quality --items 100000

(a) Quality, on a labelled folder (default ../shared/data/gtzan-mini): leave-one-out 1-nearest-
neighbour genre accuracy and precision@5 (share of the 5 nearest other tracks with the query's
genre), cosine similarity, exact search. Rows: the library's embeddings (scanned with the model),
and two baselines from the mean of the 44 features over the track: raw, and z-scored per feature.
With the shipped model the embedding is the musicnn backbone's mean patch embedding: the backbone
never saw GTZAN (only the genre head was trained on these clips, and the head does not change the
embedding), so every query is honest as it is. ``--oof`` adds the previous model's row for
comparison: the crnn-stats network on the 44 features (trained on these clips, so out-of-fold:
5 stratified folds, a network fitted per fold embeds every track, and only the fold's held-out
tracks are queries, searched among all other tracks in that network's space; ~10 minutes).

(b) Speed: wall time of the ``musictag similar`` process for a track in the library (no model
loaded) and for an external file (a FLAC copy, so a new content hash: decoded and analysed);
then Annoy build time, query latency and recall@10 at ``--items`` synthetic 128-d items, read
through the library's own rebuild path (SQLite to Annoy file).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "gtzan-mini"


def knn_hits(vectors: np.ndarray, labels: np.ndarray, queries: np.ndarray | None = None, k: int = 5) -> np.ndarray:
    """Per query row (default: every row), whether each of its k nearest other rows shares its label.

    Nearest by cosine similarity, exact search, the query itself left out.
    """
    x = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    rows = np.arange(len(x)) if queries is None else np.asarray(queries)
    nearest = np.argsort(-sim[rows], axis=1)[:, :k]
    return labels[nearest] == labels[rows, None]


def figures(hits: np.ndarray) -> tuple[float, float]:
    """1-NN accuracy and precision@k from :func:`knn_hits`."""
    return float(hits[:, 0].mean()), float(hits.mean())


def musictag(*args: str, env: dict | None = None) -> float:
    """Run ``musictag ARGS`` (output discarded); return its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "musictag", *args], check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def scan_copy(data: Path, work: Path, model: str | None) -> Path:
    """Copy the labelled folder (the scan writes genre tags) and scan it into a fresh library."""
    music = work / "music"
    shutil.copytree(data, music)
    db = work / "library.db"
    start = time.perf_counter()
    musictag("scan", str(music), "--db", str(db), *(["--model", model] if model else []))
    print(f"scanned {sum(1 for _ in music.rglob('*.*'))} files in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    return db


def library_vectors(db: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Embeddings, folder labels and paths of the analysed tracks of a library."""
    from musictag.library.database import Library
    from musictag.paths import key_to_path

    with Library(db) as lib:
        ids, vectors = lib.all_embeddings()
        paths = {r.id: key_to_path(r.path) for r in lib.tracks()}
    names = [paths[i] for i in ids.tolist()]
    return vectors, np.array([Path(p).parent.name for p in names]), names


def feature_means(paths: list[str]) -> np.ndarray:
    """The mean over time of each of the 44 features, per track."""
    from musictag.analysis.features import track_features

    return np.stack([track_features(p).windows.mean(axis=(0, 2)) for p in paths])


def oof_hits(data: Path, cache: Path | None, folds: int = 5) -> np.ndarray:
    """:func:`knn_hits` of the crnn-stats network's embedding where every query is a track its network never saw.

    Per fold, a network fitted on the other folds (default features44 settings) embeds every track;
    the held-out tracks are the queries, searched among all other tracks in that same embedding
    space (mixing spaces of different networks would mean nothing).
    """
    from musictag.training import splits
    from musictag.training.config import TrainConfig
    from musictag.training.from_folder import Trainer
    from musictag.training.networks import with_embedding

    trainer = Trainer(TrainConfig(input="features44"), log=lambda _: None)
    fs = trainer.load(data, cache)
    genres = sorted({t.label for t in fs.tracks})
    lab = [genres.index(t.label) for t in fs.tracks]
    hits = []
    for k, (trval, test) in enumerate(splits.kfold(lab, folds, 0)):
        train, val = splits.validation_split(trval, lab, k)
        (model, scaler), _, _ = trainer._fit(fs, lab, len(genres), train, val, f"fold {k + 1} ")
        net = with_embedding(model)
        vectors = np.stack([net.predict(scaler.apply(w), verbose=0)[1].mean(axis=0) for w in fs.windows])
        hits.append(knn_hits(vectors, np.asarray(lab), np.asarray(test)))
        print(f"fold {k + 1}/{folds} done", file=sys.stderr)
    return np.concatenate(hits)


def quality(db: Path, data: Path, oof: bool, cache: Path | None) -> dict:
    """The quality table: 1-NN accuracy and precision@5 per representation."""
    vectors, labels, paths = library_vectors(db)
    means = feature_means(paths)
    z = (means - means.mean(axis=0)) / np.maximum(means.std(axis=0), 1e-12)
    rows = {"the library's embedding (shipped model: musicnn mean patch embedding, never trained on these clips)":
            figures(knn_hits(vectors, labels)),
            "mean of the 44 features, raw": figures(knn_hits(means, labels)),
            "mean of the 44 features, z-scored": figures(knn_hits(z, labels))}
    if oof:
        rows["previous model (crnn-stats on the 44 features), out-of-fold: queries unseen by their fold's network"] = \
            figures(oof_hits(data, cache))
    print(f"\n(a) quality: {len(labels)} tracks, {len(set(labels))} genres; leave-one-out, cosine, exact search")
    print("| representation | 1-NN accuracy | precision@5 |\n|---|---|---|")
    for name, (acc, p5) in rows.items():
        print(f"| {name} | {acc:.3f} | {p5:.3f} |")
    return {name: {"nn1_accuracy": acc, "precision_at_5": p5} for name, (acc, p5) in rows.items()}


def cli_speed(db: Path, work: Path, model: str | None, repeats: int) -> dict:
    """Median wall time of ``musictag similar`` for an in-library track and an external file."""
    import soundfile as sf

    _, _, paths = library_vectors(db)
    inside = paths[0]
    external = work / "external.flac"
    y, sr = sf.read(paths[-1])
    sf.write(external, y, sr)
    env = {**os.environ, **({"MUSICTAG_MODEL": model} if model else {})}
    figures = {}
    for name, path in (("in-library track", inside), ("external file", str(external))):
        musictag("similar", path, "--db", str(db), env=env)  # warm the file cache
        times = [musictag("similar", path, "--db", str(db), env=env) for _ in range(repeats)]
        figures[name] = {"median_s": statistics.median(times), "min_s": min(times)}
    print(f"\n(b) `musictag similar` wall time, median of {repeats} runs (whole process, Python start-up "
          f"included; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    for name, f in figures.items():
        print(f"- {name}: {f['median_s']:.3f} s (best {f['min_s']:.3f} s)")
    return figures


def annoy_speed(work: Path, n: int, dim: int = 128, queries: int = 1000) -> dict:
    """Build and query an index of ``n`` synthetic clustered unit vectors through the library."""
    from musictag.library import index
    from musictag.library.database import Library

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(max(10, n // 500), dim)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.normal(size=(n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    with Library(work / "synthetic.db") as lib:
        with lib.transaction():
            lib.db["embeddings"].insert_all(({"track_id": i + 1, "dim": dim, "vector": v.tobytes()}
                                             for i, v in enumerate(x)), batch_size=5000)
            lib.meta_set(index.GENERATION_KEY, 1)
        start = time.perf_counter()
        index.rebuild(lib)
        build = time.perf_counter() - start
        ann = index.load(lib)
        picks = rng.integers(0, n, queries)
        q = x[picks] + 0.05 * rng.normal(size=(queries, dim)).astype(np.float32)
        start = time.perf_counter()
        found = [index.neighbours(ann, v, 10)[0] for v in q]
        latency = (time.perf_counter() - start) / queries
        exact = np.argsort(-(q[:200] @ x.T), axis=1)[:, :10] + 1
        recall = float(np.mean([len(set(f) & set(e.tolist())) / 10 for f, e in zip(found, exact, strict=False)]))
        trees = index.status(lib).trees
    size = lib.index_path().stat().st_size / 2**20
    print(f"\nAnnoy at {n:,} synthetic {dim}-d items ({trees} trees, {size:.0f} MiB file): rebuild from the "
          f"library {build:.1f} s; query (k=10) {latency * 1e3:.3f} ms; recall@10 vs exact {recall:.3f}")
    return {"items": n, "trees": trees, "rebuild_s": build, "query_ms": latency * 1e3, "recall_at_10": recall}


def main() -> None:
    """Run the chosen parts and print the figures (markdown); ``--json`` also saves them."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled <genre>/<track> folder")
    ap.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    ap.add_argument("--oof", action="store_true", help="also out-of-fold queries (trains 5 folds; needs TensorFlow)")
    ap.add_argument("--cache", type=Path, default=Path("runs/feature-cache"),
                    help="feature cache for --oof (shared with musictag train and bench_models)")
    ap.add_argument("--items", type=int, default=100_000, help="synthetic items for the Annoy figures")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-similar-") as tmp:
        work = Path(tmp)
        if not args.skip_quality or args.repeats:
            db = scan_copy(args.data, work, args.model)
        if not args.skip_quality:
            results["quality"] = quality(db, args.data, args.oof, args.cache)
        if args.repeats:
            results["cli"] = cli_speed(db, work, args.model, args.repeats)
        if args.items:
            results["annoy"] = annoy_speed(work, args.items)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
