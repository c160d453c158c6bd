"""Catalogue scale on one machine: the library's single-writer rate and the similarity index at a million items.

1. SQLite: ``--rows`` tracks stored through ``Library.save_analysis`` (the scan's own path), each
   with the real scores, embedding and backbone summary of one analysed gtzan-mini clip under its
   own path, committed 64 to a transaction as a scan commits them: rows per second and bytes per
   track in the library file.
2. Annoy: ``musictag.library.index._built`` (the index's metric, its trees for that many items, all cores)
   over ``--items`` random unit vectors of the model's embedding dimension, in a child process:
   build seconds, peak RSS of the child (VmHWM, with the vectors it was given), the index's size
   on disk, and the median time of a k = 10 query.

Also: the seconds and memory (RSS growth) of the scan's plan reading every row (``scan_state``).

Run from the repository root (needs the shipped model, or ``--model``):

    python bench/bench_catalogue.py [--rows 20000] [--items 1000000] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan-mini"


def one_analysis(model_dir: Path | None, data: Path) -> tuple[dict, dict, bytes, dict, str]:
    """The file facts, scores, embedding, summary (with its backbone) and model id of one real clip."""
    from musictag.analysis.models import ModelInfo, load_model
    from musictag.scan.worker import analyse_file

    clip = next(p for p in sorted(data.rglob("*")) if p.suffix.lower() in (".wav", ".au"))
    model = load_model(model_dir)
    out = analyse_file(model, str(clip))
    if out.error:
        sys.exit(f"{clip}: {out.error}")
    from musictag.library.rows import FileFacts

    file = FileFacts(clip.stat().st_size, clip.stat().st_mtime_ns, out.quick_hash, out.duration, out.format)
    info = ModelInfo.read(model_dir)
    summary = dict(out.summary, backbone=info.backbone.backbone_id) if out.summary and info.backbone else None
    return file, dict(zip(model.genres, out.scores, strict=True)), out.embedding, summary, model.model_id


def sqlite_rate(rows: int, model_dir: Path | None, data: Path, folder: Path) -> dict:
    """Rows per second through ``Library.save_analysis``, 64 rows a transaction, and bytes per row."""
    from musictag.library.database import Library

    file, scores, embedding, summary, model_id = one_analysis(model_dir, data)
    db = folder / "catalogue.db"
    with Library(db, lock=True) as library:
        started = time.perf_counter()
        for first in range(0, rows, 64):
            with library.transaction():
                for i in range(first, min(rows, first + 64)):
                    library.save_analysis(f"/catalogue/{i // 1000:04d}/track{i:08d}.mp3", file, model_id=model_id,
                                          status="ok", scores=scores, embedding=embedding, summary=summary)
        seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in folder.glob("catalogue.db*"))
    with Library(db, readonly=True) as library:
        before = _rss()
        started = time.perf_counter()
        state = library.scan_state()
        plan_s = time.perf_counter() - started
        plan_mb = (_rss() - before) / 2**20
        del state
    return {"rows": rows, "sqlite_s": round(seconds, 2), "rows_per_s": round(rows / seconds),
            "bytes_per_track": round(size / rows), "embedding_dim": len(embedding) // 4,
            "scan_state_s": round(plan_s, 3), "scan_state_mb": round(plan_mb, 1)}


def _rss() -> int:
    """This process's resident memory now, in bytes (Linux)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def annoy_child(items: int, dim: int, out: Path) -> None:
    """In a child process: build the index over ``items`` random unit vectors, print its figures as JSON."""
    from musictag.library import index
    from musictag.scan.worker import peak_rss

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((items, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    before = peak_rss()
    started = time.perf_counter()
    built = index._built(np.arange(items), vectors)
    build_s = time.perf_counter() - started
    built.save(str(out))
    queries = []
    for _ in range(200):
        t = time.perf_counter()
        built.get_nns_by_item(int(rng.integers(items)), 10)
        queries.append(time.perf_counter() - t)
    print(json.dumps({"items": items, "dim": dim, "trees": index.n_trees(items), "build_s": round(build_s, 1),
                      "peak_rss_mb": round(peak_rss() / 2**20), "rss_before_build_mb": round(before / 2**20),
                      "vectors_mb": round(vectors.nbytes / 2**20), "file_mb": round(out.stat().st_size / 2**20),
                      "query_ms": round(float(np.median(queries)) * 1000, 3), "cpus": os.cpu_count()}))


def annoy_figures(items: int, dim: int, out: Path) -> dict:
    """Run :func:`annoy_child` in a child process (its own peak memory); print and return its figures."""
    child = subprocess.run([sys.executable, __file__, "--annoy-child", str(items), str(dim), str(out)],
                           capture_output=True, text=True, check=True)
    annoy = json.loads(child.stdout)
    print(f"Annoy, {annoy['items']:,} x {annoy['dim']}-d, {annoy['trees']} trees: build {annoy['build_s']} s, "
          f"peak RSS {annoy['peak_rss_mb']:,} MB (vectors {annoy['vectors_mb']:,} MB, before the build "
          f"{annoy['rss_before_build_mb']:,} MB), file {annoy['file_mb']:,} MB, query (k = 10) "
          f"{annoy['query_ms']} ms")
    return annoy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="tracks written to SQLite (default 20,000)")
    parser.add_argument("--items", type=int, default=1_000_000,
                        help="items in the Annoy index (default 1,000,000; 0: no index)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--annoy-child", nargs=3, metavar=("ITEMS", "DIM", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.annoy_child:
        items, dim, out = args.annoy_child
        return annoy_child(int(items), int(dim), Path(out))

    with tempfile.TemporaryDirectory(prefix="musictag-catalogue-") as tmp:
        figures = sqlite_rate(args.rows, args.model, args.data, Path(tmp))
        print(f"SQLite, one writer, Library.save_analysis, 64 rows a commit: {figures['rows']:,} tracks in "
              f"{figures['sqlite_s']} s = {figures['rows_per_s']:,} rows/s; {figures['bytes_per_track']:,} bytes a "
              "track in the library", flush=True)
        print(f"the scan's plan reads every row (Library.scan_state): {figures['scan_state_s']} s and "
              f"{figures['scan_state_mb']} MB for {figures['rows']:,} rows", flush=True)
        if args.items:
            figures["annoy"] = annoy_figures(args.items, figures["embedding_dim"], Path(tmp) / "catalogue.annoy")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return None


if __name__ == "__main__":
    main()
