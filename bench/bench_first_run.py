"""The first scan after an install against the next ones: numba's cache empty, then warm.

A fresh install is simulated by an empty ``$NUMBA_CACHE_DIR`` (numba looks there first for the kernels
librosa compiles; the package's own ``__pycache__`` is then never read). For each model, the same
``--tracks`` gtzan-mini clips are scanned end to end in a subprocess (``--no-write``, a fresh library
each time): once with an empty cache ("first"), then ``--warm-runs`` times with the cache the first
run left ("later"). Reported: wall time of each scan, and whether it printed the first-run line
(:data:`musictag.analysis.librosa_warmup.NOTICE`).

Models: the shipped one (on the backbone: librosa never imported) and ``gtzan-crnn`` (the first
version's network on the 44 features, computed with librosa). ``--checkout DIR`` scans with another
checkout's code as well (e.g. the version before the first-run line, whose workers each compiled
librosa's kernels on their first file).

Run from the repository root:

    python bench/bench_first_run.py --tracks 10 --jobs 2 [--warm-runs 2] [--checkout DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "gtzan-mini"
MODELS = {"shipped (genres-musicnn)": None, "gtzan-crnn (44 features, librosa)": ROOT / "models" / "gtzan-crnn"}


def scan_once(code: Path, music: Path, db: Path, jobs: int, model: Path | None, cache: Path) -> dict:
    """One ``musictag scan`` with ``code`` first on the path and numba's cache at ``cache``: wall time, notice."""
    from musictag.analysis.librosa_warmup import NOTICE

    cmd = [sys.executable, "-m", "musictag", "scan", str(music), "--db", str(db), "--no-write", "--jobs", str(jobs)]
    if model is not None:
        cmd += ["--model", str(model)]
    env = {**os.environ, "PYTHONPATH": str(code), "NUMBA_CACHE_DIR": str(cache)}
    start = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=code)  # -m puts the cwd first on the path
    wall = time.monotonic() - start
    if res.returncode != 0:
        sys.exit(f"scan failed ({res.returncode}): {res.stderr[-2000:]}")
    return {"wall_s": round(wall, 2), "said_first_run": f"musictag: {NOTICE}" in res.stderr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--warm-runs", type=int, default=2)
    parser.add_argument("--checkout", type=Path, default=None, help="another checkout to scan with as well")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    clips = sorted(p for p in DATA.rglob("*.wav"))[: args.tracks]
    if len(clips) < args.tracks:
        sys.exit(f"need {args.tracks} clips under {DATA}, found {len(clips)}")
    codes = {"this tree": ROOT, **({f"checkout {args.checkout}": args.checkout.resolve()} if args.checkout else {})}
    figures: dict = {"tracks": args.tracks, "jobs": args.jobs, "load_average_at_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="first-run-") as tmp:
        work = Path(tmp)
        music = work / "music"
        music.mkdir()
        for clip in clips:
            shutil.copy(clip, music / clip.name)
        for code_name, code in codes.items():
            for model_name, model in MODELS.items():
                cache = work / "numba"
                shutil.rmtree(cache, ignore_errors=True)
                cache.mkdir()
                runs = [scan_once(code, music, work / f"lib{i}.db", args.jobs, model, cache)
                        for i in range(1 + args.warm_runs)]
                for i in range(1 + args.warm_runs):
                    (work / f"lib{i}.db").unlink(missing_ok=True)
                first, later = runs[0], runs[1:]
                figures[f"{code_name} / {model_name}"] = {"first": first, "later": later}
                print(f"{code_name} / {model_name}: first {first['wall_s']:.1f} s"
                      f"{' (said the first-run line)' if first['said_first_run'] else ''}; later "
                      + ", ".join(f"{r['wall_s']:.1f} s" + (" (said it!)" if r["said_first_run"] else "")
                                  for r in later), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
