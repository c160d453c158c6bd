"""What a model writes into real recordings: per label, written right / written wrong / left uncertain.

    python bench/bench_real.py REAL_DIR [REAL_DIR ...] [--model DIR ...] [--json runs/real.json]

REAL_DIR is a labelled set of real recordings as ``../shared/data/make_real_dev.sh OUTDIR`` builds it:
``<label>/<track>`` with a ``LABELS.tsv`` (path, label, package, evidence). Each model (default: the
shipped one; ``--model`` repeatable) decides every track as ``musictag scan`` would on an untagged
file: its best genre is written when it reaches the model's recommended ``--min-confidence`` (or
``--min-confidence``) and the track is like something the model learned from; else the track is left
uncertain. Tracks the model learned from are not analysed again: their decision comes from the
model's own cross-validated predictions (``heldout.json``, by quick hash), made by a fit that never saw
the track's package. A track is right when the genre written is its label, or one the label
accepts (metal tracks may be called rock), and wrong otherwise, also when the model does not have
the track's genre (an electronic track called disco is wrong). A label that names no style
(soundtrack: game music of every kind) is reported apart: what was written there is counted, not
judged, except in the strict precision, which counts it wrong. A package given by an earlier folder is
taken from that folder only (``make_real_dev_more.sh`` repeats five of ``make_real_dev.sh``'s).

Prints a markdown table per model (tracks, right, wrong, uncertain per label; then precision of what
was written, coverage, and the model's own GTZAN figures beside them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from musictag.analysis.models import ModelInfo, load_model
from musictag.errors import MusictagError
from musictag.hashing import quick_hash
from musictag.scan.report import DEFAULT_MIN_CONFIDENCE
from musictag.scan.tag_decision import choose_genres
from musictag.training.from_folder import HELDOUT_FILE
from musictag.training.labelled_tree import LABELS_FILE, find_in_trees, read_label_rows

#: Genres a label accepts besides its own name (metal is a kind of rock; the reverse is not true).
ACCEPTS = {"metal": {"metal", "rock"}}
#: Labels that name no style (game music of every kind): what is written there is counted, not judged.
NOT_A_STYLE = {"soundtrack"}


def dev_tracks(dirs: list[Path]) -> list:
    """The tracks of the dev-set folders; one line and exit 2 when a folder is no dev set."""
    for d in dirs:
        if not (d / LABELS_FILE).is_file():
            sys.exit(f"bench_real: {d}: no {LABELS_FILE} (build the set with ../shared/data/make_real_dev.sh {d})")
        rows = read_label_rows(d)
        wrong = sorted({f"{r['path']} ({r['label']})" for r in rows.values()
                        if r["path"].split("/", 1)[0] != r["label"]})
        if wrong:
            sys.exit(f"bench_real: {d / LABELS_FILE}: labels that are not the track's folder: {', '.join(wrong[:3])}")
    tracks, _ = find_in_trees(dirs)
    if not tracks:
        sys.exit(f"bench_real: no audio tracks under {', '.join(map(str, dirs))}")
    return tracks


def decisions(model_dir: Path | None, tracks: list, min_confidence: float | None) -> tuple[ModelInfo, list[dict]]:
    """Each track's decision by the model: ``label``, ``written`` (a genre or None), ``score``, ``familiar``,
    ``from_cv`` (taken from the model's cross-validated predictions)."""
    info = ModelInfo.read(model_dir)
    held_path = info.dir / HELDOUT_FILE
    held = {r["quick_hash"]: r for r in json.loads(held_path.read_text())} if held_path.is_file() else {}
    threshold = min_confidence if min_confidence is not None else (
        info.meta.get("recommended_min_confidence") or DEFAULT_MIN_CONFIDENCE)
    model = None
    out = []
    for t in tracks:
        record = held.get(quick_hash(t.path))
        if record is not None:
            scores = np.asarray(record["scores"], np.float64)
            familiar = info.familiarity is None or record["distance"] <= info.familiarity.max_distance
        else:
            model = model or load_model(model_dir)
            try:
                a = model.analyse(t.path)
            except MusictagError as e:
                print(f"bench_real: skipped {t.path}: {e}", file=sys.stderr)
                continue
            scores = np.asarray(a.scores, np.float64)
            familiar = info.familiarity is None or info.familiarity.familiar(a.embedding)
        chosen = choose_genres(dict(zip(info.genres, scores.tolist(), strict=True)), threshold, 1) if familiar else []
        out.append({"path": str(t.path), "label": t.label, "package": t.group, "written": chosen[0] if chosen else None,
                    "best": info.genres[int(scores.argmax())], "score": float(scores.max()), "familiar": bool(familiar),
                    "from_cv": record is not None})
    return info, out


def summarise(decided: list[dict]) -> dict:
    """Per label and overall: right / wrong / uncertain, precision of what was written, coverage."""
    labels: dict[str, dict] = {}
    for d in decided:
        row = labels.setdefault(d["label"], {"tracks": 0, "right": 0, "wrong": 0, "uncertain": 0, "from_cv": 0,
                                             "judged": d["label"] not in NOT_A_STYLE, "written_as": {}})
        row["tracks"] += 1
        row["from_cv"] += d["from_cv"]
        if d["written"] is None:
            row["uncertain"] += 1
            continue
        row["written_as"][d["written"]] = row["written_as"].get(d["written"], 0) + 1
        right = d["written"] in ACCEPTS.get(d["label"], {d["label"]})
        row["right" if right else "wrong"] += 1
    judged = [r for r in labels.values() if r["judged"]]
    right, wrong = sum(r["right"] for r in judged), sum(r["wrong"] for r in judged)
    n_judged = sum(r["tracks"] for r in judged)
    apart = sum(r["right"] + r["wrong"] for r in labels.values() if not r["judged"])
    return {"labels": labels,
            "precision": right / (right + wrong) if right + wrong else None,
            "coverage": (right + wrong) / n_judged if n_judged else None,
            "written": right + wrong, "judged_tracks": n_judged,
            "strict_precision": right / (right + wrong + apart) if right + wrong + apart else None,
            "written_out_of_genres": apart}


def gtzan_figures(info: ModelInfo) -> dict | None:
    """The model's own held-out GTZAN figures (its tree named like gtzan, or all it learned from)."""
    m = info.meta.get("metrics") or {}
    for tree, figures in (m.get("by_tree") or {}).items():
        if "gtzan" in Path(tree).name.lower():
            return {"track_accuracy": figures["track_accuracy"], "robust_accuracy": figures["robust_accuracy"]}
    if "track_accuracy" in m and "robustness" in m:
        return {"track_accuracy": m["track_accuracy"], "robust_accuracy": m["robustness"]["track_accuracy"]}
    return None


def markdown(info: ModelInfo, s: dict, threshold: float) -> str:
    """One model's table."""
    def pct(x: float | None) -> str:
        return "–" if x is None else f"{x:.0%}"

    lines = [f"**{info.dir.name}** (`{s['model']}`), written at ≥ {threshold:.3g}:", "",
             "| label | tracks | written right | written wrong | left uncertain | written as |",
             "|---|---|---|---|---|---|"]
    for label, r in sorted(s["labels"].items()):
        what = ", ".join(f"{g} {n}" for g, n in sorted(r["written_as"].items(), key=lambda kv: -kv[1]))
        name = label if r["judged"] else f"{label} (no style of its own: not judged)"
        right, wrong = (r["right"], r["wrong"]) if r["judged"] else ("–", "–")
        lines.append(f"| {name} | {r['tracks']} | {right} | {wrong} | {r['uncertain']} | {what} |")
    g = gtzan_figures(info)
    lines += ["", f"written {s['written']} of {s['judged_tracks']} judged tracks (coverage {pct(s['coverage'])}), "
                  f"{pct(s['precision'])} of them right; counting every genre written on a label that no genre can "
                  f"name as wrong: {pct(s['strict_precision'])}. "
                  + (f"GTZAN held out: {g['track_accuracy']:.2f}, as MP3 + loud {g['robust_accuracy']:.2f}."
                     if g else "")]
    return "\n".join(lines)


def main() -> None:
    """Run the bench."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--model", action="append", type=Path, default=None,
                    help="model folder (repeatable; default: the shipped model)")
    ap.add_argument("--min-confidence", type=float, default=None, help="instead of each model's recommendation")
    ap.add_argument("--json", type=Path, default=None, help="also write every decision and figure here")
    args = ap.parse_args()
    tracks = dev_tracks(args.dirs)
    results = []
    for model_dir in args.model or [None]:
        try:
            info, decided = decisions(model_dir, tracks, args.min_confidence)
        except MusictagError as e:
            sys.exit(f"bench_real: {e}")
        s = summarise(decided)
        s["model"] = info.model_id
        s["threshold"] = args.min_confidence if args.min_confidence is not None else (
            info.meta.get("recommended_min_confidence") or DEFAULT_MIN_CONFIDENCE)
        print(markdown(info, s, s["threshold"]), end="\n\n", flush=True)
        results.append({**s, "gtzan": gtzan_figures(info), "decisions": decided})
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
