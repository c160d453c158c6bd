"""Would a relative rule for ``--top-k 2`` write right second genres? Precision of second genres on real recordings.

    python bench/bench_second_genres.py DIR [DIR ...] [--model DIR]

DIR is a labelled tree the model learned from (``make_real_dev.sh``'s set, gtzan-mini): each track's scores are
the model's cross-validated ones (``heldout.json``, by quick hash: a fit that never saw its package). A
candidate rule writes the first genre when it reaches the threshold T and a second one when its score is at
least R times the first's and at least F. A second genre is right when the track's label is, or accepts, it
(metal may be called rock); the labels are single, so a second genre is right only where the label accepts two
genres or the first genre was wrong. Printed per rule and folder: second genres written, right; and, for
comparison, what the rule of ``scan`` today (every genre written reaches T) writes.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import product
from pathlib import Path

import numpy as np

from musictag.analysis.models import ModelInfo
from musictag.hashing import quick_hash
from musictag.training.from_folder import HELDOUT_FILE
from musictag.training.labelled_tree import find_in_trees

ACCEPTS = {"metal": {"metal", "rock"}}
THRESHOLDS = (0.5, 0.8, 0.9, 0.99)
RATIOS = (0.05, 0.1, 0.2, 0.3, 0.5)
FLOORS = (0.01, 0.05, 0.1, 0.2)


def heldout_scores(dirs: list[Path], info: ModelInfo) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Per folder, ``(label, cross-validated scores)`` of each track the model learned from."""
    held = {r["quick_hash"]: r for r in json.loads((info.dir / HELDOUT_FILE).read_text())}
    tracks, _ = find_in_trees(dirs)
    out: dict[str, list] = {}
    for t in tracks:
        record = held.get(quick_hash(t.path))
        if record is not None and t.label in info.genres:
            out.setdefault(Path(t.tree).name, []).append((t.label, np.asarray(record["scores"], float)))
    return out


def second_genres(rows: list, genres: list[str], threshold: float, ratio: float | None, floor: float) -> tuple:
    """``(written, right)`` second genres under a rule (``ratio`` None: today's rule, the second must reach T)."""
    written = right = 0
    for label, scores in rows:
        first, second = np.argsort(-scores)[:2]
        if scores[first] < threshold:
            continue
        passes = scores[second] >= threshold if ratio is None else (
            scores[second] >= ratio * scores[first] and scores[second] >= floor)
        if passes:
            written += 1
            right += genres[second] in ACCEPTS.get(label, {label})
    return written, right


def main() -> None:
    """Run the bench."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args()
    info = ModelInfo.read(args.model)
    if not (info.dir / HELDOUT_FILE).is_file():
        sys.exit(f"bench_second_genres: {info.dir} has no {HELDOUT_FILE}")
    folders = heldout_scores(args.dirs, info)
    names = sorted(folders)
    print(f"{', '.join(f'{n}: {len(folders[n])} tracks' for n in names)}; cross-validated scores of {info.dir.name}")
    print("\n| first >= T | second >= R x first and >= F | " + " | ".join(f"{n}: 2nd written, right" for n in names)
          + " |\n|---|---|" + "---|" * len(names))

    def cells(threshold: float, ratio: float | None, floor: float) -> list[str]:
        out = []
        for n in names:
            w, r = second_genres(folders[n], info.genres, threshold, ratio, floor)
            out.append(f"{w}, {r} ({r / w:.0%})" if w else "0")
        return out

    for threshold in THRESHOLDS:
        print(f"| {threshold:g} | today: second >= T | " + " | ".join(cells(threshold, None, 0.0)) + " |")
        for ratio, floor in product(RATIOS, FLOORS):
            row = cells(threshold, ratio, floor)
            if any(c != "0" for c in row):
                print(f"| {threshold:g} | R {ratio:g}, F {floor:g} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
