"""What the model would write on short excerpts of real recordings: coverage and precision per length.

    python bench/bench_short_clips.py DIR [DIR ...] [--lengths 1 2 3 5 10] [--excerpts 3] [--model DIR]
                                      [--json runs/short.json]

DIR is a labelled tree (``<label>/<track>``: ``make_real_dev.sh``'s set, gtzan-mini). From every track,
``--excerpts`` excerpts of each length are cut (spread evenly over the track, away from both ends, decoded by
seeking as a scan decodes) and each is analysed as ``musictag scan`` analyses a file of that length: whole
(shorter than one 3 s patch: looped until it fills one), through the backbone and the head. The full track
is analysed too, as a scan would.

Each excerpt is decided as a scan decides an untagged file: its best genre is written when it reaches the
model's recommended ``--min-confidence`` and the excerpt is like something the model learned from. Right:
the genre written is the track's label or one it accepts (metal may be called rock); labels that name no
style (soundtrack) are left out. Two verdicts are printed per length and folder:

- **shipped**: the shipped head itself. It learned from these tracks' full versions: its verdicts on them
  are in-sample, an upper bound.
- **held out**: a linear head fitted as the shipped one (``fit_linear`` on the full tracks' patch
  embeddings), 5-fold by package (GTZAN clips: by track), each excerpt scored by the fold that never saw its
  track; familiarity is not applied (the rule's reference holds every track).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from musictag.analysis.models import ModelInfo, load_model
from musictag.analysis.patches import audio_patches, patch_offsets, track_patches
from musictag.audio.decode import open_audio
from musictag.errors import MusictagError
from musictag.scan.report import DEFAULT_MIN_CONFIDENCE
from musictag.training.labelled_tree import find_in_trees

#: Genres a label accepts besides its own name (as bench_real.py).
ACCEPTS = {"metal": {"metal", "rock"}}
NOT_A_STYLE = {"soundtrack"}
FULL = "full"


def analyse_tracks(tracks: list, model, lengths: list[float], per_track: int) -> list[dict]:
    """Each track's full summary and its excerpts' summaries (patch embeddings, float16 as the library keeps)."""
    out = []
    for i, t in enumerate(tracks, 1):
        try:
            full = model.summarise(track_patches(t.path).patches)
            excerpts: dict[str, list] = {FULL: [full.sequence]}
            with open_audio(t.path) as f:
                duration = f.info.duration
                for length in lengths:
                    if length >= duration:
                        continue
                    blocks = f.excerpts(patch_offsets(duration, per_track, length), length)
                    excerpts[str(length)] = [model.summarise(audio_patches(b).patches).sequence for b in blocks]
        except MusictagError as e:
            print(f"bench_short_clips: skipped {t.path}: {e}", file=sys.stderr)
            continue
        out.append({"track": t, "excerpts": excerpts})
        print(f"\r{i}/{len(tracks)} analysed", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return out


def heldout_heads(analysed: list[dict], genres: list[str], folds: int = 5) -> list:
    """Per track, the linear head of the fold that held it out (by package; tracks without one alone)."""
    from musictag.training.head_fit import fit_linear
    from musictag.training.splits import grouped_kfold

    labelled = [i for i, a in enumerate(analysed) if a["track"].label in genres]
    labels = [genres.index(analysed[i]["track"].label) for i in labelled]
    groups = [analysed[i]["track"].group for i in labelled]
    heads: list = [None] * len(analysed)
    for train, test in grouped_kfold(labels, groups, folds):
        head = fit_linear([analysed[labelled[j]]["excerpts"][FULL][0] for j in train],
                          [labels[j] for j in train], len(genres))
        for j in test:
            heads[labelled[j]] = head
    return heads


def decide(scores: np.ndarray, genres: list[str], threshold: float, familiar: bool) -> str | None:
    """The genre a scan would write (None: uncertain)."""
    best = int(scores.argmax())
    return genres[best] if familiar and scores[best] >= threshold else None


def tally(analysed: list[dict], info: ModelInfo, threshold: float, heads: list) -> dict:
    """Per verdict, folder and length: excerpts, written, right."""
    table: dict = {}
    for a, cv_head in zip(analysed, heads, strict=True):
        t = a["track"]
        if t.label in NOT_A_STYLE:
            continue
        folder = Path(t.tree).name
        for length, sequences in a["excerpts"].items():
            for seq in sequences:
                verdicts = {"shipped": (info.head.track_probabilities(seq), _familiar(info, seq))}
                if cv_head is not None:
                    verdicts["held out"] = (cv_head.track_probabilities(seq), True)
                for name, (scores, familiar) in verdicts.items():
                    written = decide(np.asarray(scores), info.genres, threshold, familiar)
                    cell = table.setdefault(name, {}).setdefault(folder, {}).setdefault(
                        length, {"excerpts": 0, "written": 0, "right": 0, "wrong_as": {}})
                    cell["excerpts"] += 1
                    if written is not None:
                        cell["written"] += 1
                        if written in ACCEPTS.get(t.label, {t.label}):
                            cell["right"] += 1
                        else:
                            key = f"{t.label}->{written}"
                            cell["wrong_as"][key] = cell["wrong_as"].get(key, 0) + 1
    return table


def _familiar(info: ModelInfo, seq: np.ndarray) -> bool:
    from musictag.analysis.track_summary import unit_vector

    return info.familiarity is None or info.familiarity.familiar(unit_vector(seq.mean(axis=0)).astype(np.float32))


def markdown(table: dict, lengths: list[str]) -> str:
    """One table per verdict: per length, per folder, coverage and precision of what is written."""
    lines = []
    for name, folders in table.items():
        names = sorted(folders)
        lines += ["", f"**{name}**", "",
                  "| length | " + " | ".join(f"{f}: written / excerpts (coverage), right" for f in names) + " |",
                  "|---|" + "---|" * len(names)]
        for length in [*lengths, FULL]:
            cells = []
            for f in names:
                c = folders[f].get(length)
                if c is None:
                    cells.append("–")
                    continue
                prec = f"{c['right'] / c['written']:.0%}" if c["written"] else "–"
                cells.append(f"{c['written']} / {c['excerpts']} ({c['written'] / c['excerpts']:.0%}), {prec}"
                             f" ({c['right']} right)")
            label = FULL if length == FULL else f"{float(length):g} s"
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Run the bench."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--lengths", nargs="+", type=float, default=[1, 2, 3, 5, 10])
    ap.add_argument("--excerpts", type=int, default=3, help="excerpts of each length per track")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    started = time.perf_counter()
    info = ModelInfo.read(args.model)
    if info.head is None or info.meta.get("head") != "linear":
        sys.exit("bench_short_clips: needs a linear head on the backbone (the shipped model)")
    threshold = info.meta.get("recommended_min_confidence") or DEFAULT_MIN_CONFIDENCE
    tracks, _ = find_in_trees(args.dirs)
    model = load_model(args.model)
    analysed = analyse_tracks(tracks, model, args.lengths, args.excerpts)
    table = tally(analysed, info, threshold, heldout_heads(analysed, info.genres))
    print(f"{len(analysed)} tracks, {args.excerpts} excerpts per length, written at >= {threshold:.3g} "
          f"({time.perf_counter() - started:.0f} s)")
    print(markdown(table, [str(x) for x in args.lengths]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
