"""Playlists from several seeds (``musictag similar A B``): which way of combining the seeds keeps
their genres, and how much smoother ``--order path`` is than the ranked list.

    python bench/bench_playlist.py ../shared/data/gtzan-mini        # ~1-2 minutes on 2 cores

The labelled ``<genre>/<track>`` folder is scanned (``--no-write``: nothing in it changes) into a
library in a temporary folder with the shipped model. Seeds are pairs of the library's tracks:
every pair of the same genre, and as many pairs of two genres (drawn with a fixed seed). For each
pair and each way of combining (``round-robin``: each seed in turn adds its nearest track not yet
taken; ``mean``: the tracks nearest the mean of the seeds' unit embeddings) the playlist of
``--length`` tracks is built through the library's own code (the Annoy index, as ``musictag
similar`` does), and scored:

- genre kept: the share of its tracks whose folder (the genre label) is a seed's folder (at best:
  as many as the library holds besides the seeds, at most ``--length``);
- mean step: the mean cosine distance between consecutive tracks, the last seed first, for the
  ranked order and for ``--order path`` (the same tracks: the order does not change which).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "gtzan-mini"


def scan(data: Path, db: Path) -> None:
    """Scan ``data`` into the library ``db`` with this checkout's musictag, writing no tags."""
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", "musictag", "scan", str(data), "--db", str(db), "--no-write"],
                   check=True, stdout=subprocess.DEVNULL, env=env)
    print(f"scanned {data} in {time.perf_counter() - start:.0f} s", file=sys.stderr)


def seed_pairs(labels: list[str], rng: np.random.Generator) -> dict[str, list[tuple[int, int]]]:
    """Every pair of tracks of one genre, and as many pairs of two genres (random, fixed seed)."""
    pairs = list(itertools.combinations(range(len(labels)), 2))
    same = [(a, b) for a, b in pairs if labels[a] == labels[b]]
    mixed = [(a, b) for a, b in pairs if labels[a] != labels[b]]
    picks = rng.choice(len(mixed), size=min(len(same), len(mixed)), replace=False)
    return {"one genre": same, "two genres": [mixed[i] for i in sorted(picks)]}


def measure(db: Path, length: int) -> dict:
    """The figures per kind of seed pair and per way of combining."""
    from musictag.library import index as annoy_index
    from musictag.library import similar
    from musictag.library.database import Library
    from musictag.paths import key_to_path

    with Library(db) as lib:
        index = annoy_index.load(lib)
        tracks = [r for r in lib.tracks() if r.status == "ok"]
        paths = [key_to_path(r.path) for r in tracks]
        labels = [Path(p).parent.name for p in paths]
        queries = [similar.stored_query(lib, p) for p in paths]
        figures: dict = {"tracks": len(tracks), "genres": len(set(labels)), "length": length}
        for kind, pairs in seed_pairs(labels, np.random.default_rng(0)).items():
            per_kind: dict = {"pairs": len(pairs), "genre_kept_at_best": float(np.mean(
                [min(length, sum(g in (labels[a], labels[b]) for g in labels) - 2) / length for a, b in pairs]))}
            for combine in (similar.ROUND_ROBIN, similar.MEAN):
                kept, ranked, path = [], [], []
                for a, b in pairs:
                    seeds = [queries[a], queries[b]]
                    ranked_list = similar.build_playlist(lib, seeds, length, combine=combine, index=index)
                    smooth = similar.build_playlist(lib, seeds, length, combine=combine, order=similar.PATH,
                                                    index=index)
                    assert {m.track_id for m in smooth.matches} == {m.track_id for m in ranked_list.matches}
                    seed_genres = {labels[a], labels[b]}
                    kept.append(np.mean([Path(m.path).parent.name in seed_genres for m in ranked_list.matches]))
                    ranked.append(ranked_list.mean_step)
                    path.append(smooth.mean_step)
                per_kind[combine] = {"genre_kept": float(np.mean(kept)), "mean_step_ranked": float(np.mean(ranked)),
                                     "mean_step_path": float(np.mean(path)),
                                     "path_shorter_share": float(np.mean(np.array(path) < np.array(ranked)))}
            figures[kind] = per_kind
    return figures


def report(figures: dict) -> None:
    """The figures as a markdown table."""
    print(f"\n{figures['tracks']} tracks, {figures['genres']} genres; playlists of {figures['length']} tracks "
          "from two seeds\n")
    print("| seed pairs | combine | genre kept: share of tracks of a seed's genre (at best) | mean step, ranked | "
          "mean step, --order path | pairs where path is strictly smoother |\n|---|---|---|---|---|---|")
    for kind in ("one genre", "two genres"):
        per_kind = figures[kind]
        for combine in ("round-robin", "mean"):
            f = per_kind[combine]
            print(f"| {kind} ({per_kind['pairs']}) | {combine} | {f['genre_kept']:.3f} "
                  f"({per_kind['genre_kept_at_best']:.3f}) | {f['mean_step_ranked']:.3f}"
                  f" | {f['mean_step_path']:.3f} | {f['path_shorter_share']:.0%} |")


def main() -> None:
    """Scan, measure, print (``--json``: also save the figures)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, nargs="?", default=DEFAULT_DATA, help="labelled <genre>/<track> folder")
    ap.add_argument("--length", type=int, default=10, help="tracks per playlist")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="bench-playlist-") as tmp:
        db = Path(tmp) / "library.db"
        scan(args.data.resolve(), db)
        figures = measure(db, args.length)
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
