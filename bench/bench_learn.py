"""Learning the user's own genres from the library (``train --from-library``): accuracy and speed.

    python bench/bench_learn.py accuracy ../shared/data/gtzan-mini --json runs/learn-accuracy.json
    python bench/bench_learn.py speed ../shared/data/gtzan-mini --tracks 10000 --json runs/learn-speed.json
    python bench/bench_learn.py speed ../shared/data/gtzan-mini --tracks 5000 --genres 2000 --min-tracks 2

accuracy: the GTZAN clips are copied into a library folder as tagged files (ID3 in WAV) whose
  genres are spelled as a user would ("Hip Hop", "Classical Music", "Country & Western", ...),
  scanned with ``--no-write``, then learned with ``train --from-library`` (linear head, 5 folds by
  track: GTZAN has no album tags). The figure is its cross-validated track accuracy over five fold
  seeds, set beside the shipped GTZAN head's own 5-fold figure (models/gtzan-musicnn/model.json).
speed: a library of ``--tracks`` stored tracks (real files: copies of one small tagged MP3; each
  track's 8 stored patch embeddings are real musicnn patches of the clips: each from a clip of
  the track's genre with probability 0.6, else from any clip, so genres overlap as real ones do;
  20 genres (``--genres``), all but the first 10 mixing two GTZAN genres; albums of 10 tracks; 1 in 5
  untagged), then
  - ``musictag train --from-library`` end to end (a process, wall time: reading, 5-fold
    cross-validation, final fit, writing the folder), and
  - ``musictag scan --model --no-write`` on the library: every track re-scored from its stored
    embeddings (nothing decoded) and its file's tags read again (writing tags is bench_scan's),
  - SQLite's quick_check on the library (what scan and stats now run first),
  each beside the floor of reading the same files' tags with mutagen in the same run.
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

import numpy as np

SPELLINGS = {"blues": "Blues", "classical": "Classical Music", "country": "Country & Western", "disco": "Disco",
             "hiphop": "Hip Hop", "jazz": "Jazz", "metal": "Heavy Metal", "pop": "Pop", "reggae": "Reggae",
             "rock": "Rock"}
SHIPPED = Path(__file__).resolve().parents[1] / "models" / "gtzan-musicnn" / "model.json"


def _musictag(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "musictag", *args], capture_output=True, text=True)
    if res.returncode not in (0, 1):
        sys.exit(f"musictag {' '.join(args)} failed:\n{res.stderr}")
    return res, time.perf_counter() - start


def _tag(path: Path, genre: str | None, album: str | None = None) -> None:
    import mutagen
    from mutagen.id3 import TALB, TCON

    f = mutagen.File(path)
    if f.tags is None:
        f.add_tags()
    if genre:
        f.tags.add(TCON(encoding=3, text=[genre]))
    if album:
        f.tags.add(TALB(encoding=3, text=[album]))
    f.save()


def accuracy(data: Path, work: Path, seeds: int) -> dict:
    """Cross-validated accuracy of the library-learned head on the GTZAN clips, user spellings."""
    music = work / "music"
    music.mkdir()
    for clip in sorted(data.glob("*/*.wav")):
        target = music / f"{clip.parent.name}-{clip.name}"
        shutil.copyfile(clip, target)
        _tag(target, SPELLINGS[clip.parent.name])
    db = work / "library.db"
    res, scan_s = _musictag("scan", str(music), "--db", str(db), "--no-write", "--json")
    figures = []
    for seed in range(seeds):
        out = work / f"model-{seed}"
        res, learn_s = _musictag("train", "--from-library", "--db", str(db), "--min-tracks", "5", "--seed", str(seed),
                                 "--out", str(out))
        meta = json.loads((out / "model.json").read_text())
        figures.append(meta["metrics"]["track_accuracy"])
        print(f"seed {seed}: {figures[-1]:.3f} ({learn_s:.1f} s)", file=sys.stderr)
    shipped = json.loads(SHIPPED.read_text())["metrics"]
    return {"tracks": meta["metrics"]["n_tracks"], "genres": meta["genres"], "scan_no_write_s": round(scan_s, 1),
            "fold_seeds": seeds, "track_accuracy_per_seed": figures, "track_accuracy_mean": float(np.mean(figures)),
            "track_accuracy_sd": float(np.std(figures)),
            "shipped_head_5fold": shipped["track_accuracy"], "shipped_head_5fold_sd": shipped["track_accuracy_std"],
            "difference": float(np.mean(figures) - shipped["track_accuracy"])}


def _real_patches(data: Path, work: Path) -> tuple[np.ndarray, np.ndarray]:
    """The musicnn patch embeddings of the clips (one scan), with each patch's genre index."""
    from musictag.library.database import Library

    db = work / "clips.db"
    _musictag("scan", str(data), "--db", str(db), "--no-write")
    genres = sorted(SPELLINGS)
    patches, labels = [], []
    with Library(db, readonly=True) as lib:
        for row in lib.tracks():
            summary = lib.summary(row.id)
            if summary is not None:
                patches.append(summary.sequence)
                labels.extend([genres.index(Path(row.path).parent.name)] * len(summary.sequence))
    return np.concatenate(patches), np.asarray(labels)


def _peak_rss_run(*args: str) -> tuple[subprocess.CompletedProcess, float, float]:
    """``musictag ARGS`` in a process of its own: the result, its wall time and its peak resident memory (MB)."""
    code = ("import resource, runpy, sys\nsys.argv = ['musictag', *sys.argv[1:]]\ntry:\n"
            "    runpy.run_module('musictag', run_name='__main__')\nfinally:\n"
            "    print(f'peak-rss-kb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', file=sys.stderr)\n")
    start = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if res.returncode not in (0, 1):
        sys.exit(f"musictag {' '.join(args)} failed:\n{res.stderr}")
    peak = [line for line in res.stderr.splitlines() if line.startswith("peak-rss-kb ")][-1]
    return res, seconds, int(peak.split()[1]) / 1024


def speed(data: Path, work: Path, n_tracks: int, n_genres: int = 20, min_tracks: int = 10) -> dict:
    """Learn from and re-score a library of ``n_tracks`` stored tracks in ``n_genres`` genres."""
    import mutagen

    from musictag.analysis.backbone import DEFAULT_BACKBONE, find_backbone
    from musictag.analysis.track_summary import TrackSummary
    from musictag.hashing import quick_hash
    from musictag.library.database import Library
    from musictag.library.rows import FileFacts
    from musictag.paths import path_to_key

    patches, patch_genre = _real_patches(data, work)
    rng = np.random.default_rng(0)
    album_size = 10
    # the 10 GTZAN genres, and the others made of two GTZAN ones mixed
    centres = [np.flatnonzero(patch_genre == g % 10) for g in range(n_genres)]
    second = [np.flatnonzero(patch_genre == (g % 10 + 1 + g // 10) % 10) for g in range(n_genres)]
    names = [f"User Genre {g:04d}" for g in range(n_genres)]
    music = work / "library"
    music.mkdir()
    seed_file = work / "seed.mp3"
    from tests.audiogen import sweep, write_audio

    write_audio(seed_file, sweep(0.5, 22050), 22050, "mp3", 1)
    backbone = find_backbone(DEFAULT_BACKBONE)
    db = work / "big.db"
    start = time.perf_counter()
    with Library(db) as lib, lib.transaction():
        for i in range(n_tracks):
            genre = int(rng.integers(n_genres))
            folder = music / f"{i // 500:03d}"
            folder.mkdir(exist_ok=True)
            path = folder / f"t{i:05d}.mp3"
            shutil.copyfile(seed_file, path)
            tagged = rng.random() >= 0.2
            album = f"album {genre}-{i // (album_size * n_genres)}"
            if tagged:
                _tag(path, names[genre], album)
            st = path.stat()
            pick = rng.choice(centres[genre], size=8)
            if genre >= 10:
                pick[::2] = rng.choice(second[genre], size=4)
            elsewhere = rng.random(8) >= 0.6
            pick[elsewhere] = rng.integers(len(patches), size=int(elsewhere.sum()))
            seq = patches[pick]
            summary = TrackSummary.of(seq, np.zeros((8, len(backbone.tags)), np.float32))
            file_tags = {"genres": [names[genre]] if tagged else [], "album": album if tagged else None,
                         "artist": None}
            key = path_to_key(path)
            lib.save_analysis(key, FileFacts(st.st_size, st.st_mtime_ns, quick_hash(path), 0.5, "mp3"),
                              model_id="gtzan-musicnn-bench", status="ok", embedding=summary.embedding().tobytes(),
                              summary={**summary.to_row(), "backbone": backbone.backbone_id})
            lib.update_track_at(key, file_tags=json.dumps(file_tags))
    build_s = time.perf_counter() - start
    print(f"built {n_tracks} stored tracks in {build_s:.0f} s", file=sys.stderr)

    start = time.perf_counter()  # the floor: reading every file's tags once
    for path in music.glob("*/*.mp3"):
        mutagen.File(path)
    read_tags_s = time.perf_counter() - start

    with Library(db, readonly=True) as lib:
        start = time.perf_counter()
        lib.check_integrity()
        quick_check_s = time.perf_counter() - start

    model = work / "user-model"
    res, learn_s, learn_mb = _peak_rss_run("train", "--from-library", "--db", str(db), "--out", str(model),
                                           "--min-tracks", str(min_tracks))
    meta = json.loads((model / "model.json").read_text())
    print(res.stdout[-1500:], file=sys.stderr)
    progress = [line for line in res.stderr.splitlines() if not line.startswith("peak-rss-kb")]
    res, rescore_s = _musictag("scan", str(music), "--db", str(db), "--model", str(model), "--no-write", "--json")
    report = json.loads(res.stdout)
    assert report["analysed"] == 0, "a re-score must decode nothing"
    return {"tracks": n_tracks, "labelled": meta["training"]["n_tracks"], "genres": len(meta["genres"]),
            "learn_s": round(learn_s, 2), "learn_inside_s": meta["training"]["seconds"],
            "learn_peak_rss_mb": round(learn_mb), "learn_progress_lines": len(progress),
            "model_json_mb": round((model / "model.json").stat().st_size / 2**20, 2),
            "cv_track_accuracy": meta["metrics"]["track_accuracy"],
            "rescore_scan_s": round(rescore_s, 2), "rescore_scan_inside_s": report["seconds"],
            "rescored": report["rescored"],
            "read_tags_floor_s": round(read_tags_s, 2),
            "rescore_over_floor": round(report["seconds"] / read_tags_s, 2),
            "quick_check_s": round(quick_check_s, 3), "db_mb": round(db.stat().st_size / 2**20, 1),
            "cpus": os.cpu_count()}


def main() -> None:
    """Run one of the two measurements; print the figures as JSON (and write them with --json)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["accuracy", "speed"])
    parser.add_argument("data", type=Path, help="a GTZAN-layout folder (../shared/data/gtzan-mini)")
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--genres", type=int, default=20, help="speed: genres of the library")
    parser.add_argument("--min-tracks", type=int, default=10, help="speed: train --from-library's --min-tracks")
    parser.add_argument("--seeds", type=int, default=5, help="accuracy: fold seeds")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="work in this (new) folder and keep it")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    with tempfile.TemporaryDirectory(prefix="bench-learn-") as tmp:
        work = Path(tmp)
        if args.keep:
            args.keep.mkdir(parents=True)
            work = args.keep
        result = accuracy(args.data, work, args.seeds) if args.what == "accuracy" else \
            speed(args.data, work, args.tracks, args.genres, args.min_tracks)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)


if __name__ == "__main__":
    main()
