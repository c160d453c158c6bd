"""A tag editor's pass over a whole library (Picard, beets): the rescan after it, against analysing it all again.

1. Copies N four-minute 44.1 kHz stereo MP3s (``bench_scan.py``'s, built once and cached in ``--workdir``) into
   a folder of their own, and scans them into a fresh library (``--jobs J``, tags written).
2. Edits every file's tags with mutagen as Picard does: a new title, a genre of the user's, a 200 KB front
   cover (the ID3 tag grows past its padding: mutagen rewrites the file, the audio moves).
3. Times, each end to end in a subprocess:
   - the rescan after the pass (every file changed in size and mtime, its audio as it was: its tags read
     again, nothing analysed);
   - a forced re-analysis of the same files (a scan into a fresh library: what a rescan did before the
     audio hash);
   - a rescan with nothing changed (the process's own start-up and walk),
   and, in this process, the floor: reading every file's tags once with mutagen; and the check the rescan
   makes of each changed file alone (its quick hash and audio hash: a few reads, no decoding).

Run from the repository root (needs the shipped model, or ``--model``):

    python bench/bench_tagpass.py --tracks 100 --jobs 2 [--workdir DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from bench_scan import DATA, _musictag, build_library  # noqa: E402  (bench/ is on sys.path when run as a script)

COVER_BYTES = 200_000


def picard_pass(paths: list[Path]) -> float:
    """Give every file a new title, the genre "Polka" and a front cover with mutagen; the seconds it took."""
    from mutagen.id3 import APIC, ID3, TCON, TIT2, ID3NoHeaderError

    cover = b"\xff\xd8\xff\xe0" + os.urandom(COVER_BYTES)
    started = time.perf_counter()
    for i, path in enumerate(paths):
        try:
            tags = ID3(path)
        except ID3NoHeaderError:
            tags = ID3()
        tags.add(TIT2(encoding=3, text=f"Track {i} (remastered)"))
        tags.add(TCON(encoding=3, text=["Polka"]))
        tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="", data=cover))
        tags.save(path)
    return time.perf_counter() - started


def read_tags_floor(paths: list[Path]) -> float:
    """Seconds to read every file's tags once with mutagen (imports done before)."""
    import mutagen

    mutagen.File(paths[0])
    started = time.perf_counter()
    for path in paths:
        mutagen.File(path)
    return time.perf_counter() - started


def hash_check(paths: list[Path]) -> float:
    """Seconds for the check a rescan makes of each changed file: its quick hash and audio hash, from one opening."""
    from musictag.audio.payload import file_hashes

    started = time.perf_counter()
    for path in paths:
        file_hashes(path)
    return time.perf_counter() - started


def _fresh(db: Path) -> Path:
    for leftover in db.parent.glob(db.name + "*"):
        leftover.unlink()
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100, help="four-minute MP3s (default 100)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/musictag-bench-scan"))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    model = ["--model", str(args.model)] if args.model else []
    common = ["--jobs", str(args.jobs), "--min-confidence", "0"]  # every track tagged: the pass makes them the user's

    built = build_library(args.workdir / "mp3", args.tracks, args.data, args.jobs)
    folder = args.workdir / "tagpass"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    paths = [Path(shutil.copy2(p, folder / p.name)) for p in built]  # bench_scan's files stay untouched
    db = _fresh(args.workdir / "tagpass.db")
    first, first_s, _ = _musictag("scan", str(folder), "--db", str(db), *common, *model)
    if first["analysed"] != args.tracks:
        sys.exit(f"bench_tagpass: the first scan analysed {first['analysed']} of {args.tracks} files")

    edit_s = picard_pass(paths)
    after, after_s, _ = _musictag("scan", str(folder), "--db", str(db), *common, *model)
    if (after["analysed"], after["tags_edited"], after["kept"]) != (0, args.tracks, args.tracks):
        sys.exit(f"bench_tagpass: the rescan after the tag pass analysed {after['analysed']}, saw "
                 f"{after['tags_edited']} tag edits, kept {after['kept']} genres (wanted 0, {args.tracks}, "
                 f"{args.tracks})")
    unchanged, unchanged_s, _ = _musictag("scan", str(folder), "--db", str(db), *common, *model)
    forced, forced_s, _ = _musictag("scan", str(folder), "--db", str(_fresh(args.workdir / "tagpass-forced.db")),
                                    *common, *model)
    floor_s, hashes_s = read_tags_floor(paths), hash_check(paths)

    n = args.tracks
    figures = {"tracks": n, "jobs": args.jobs, "cpus": os.cpu_count(), "first_scan_s": round(first_s, 2),
               "tag_pass_s": round(edit_s, 2), "rescan_after_tag_pass_s": round(after_s, 2),
               "forced_reanalysis_s": round(forced_s, 2), "forced_analysed": forced["analysed"],
               "unchanged_rescan_s": round(unchanged_s, 2), "unchanged_skipped": unchanged["skipped"],
               "read_tags_floor_s": round(floor_s, 3), "hash_check_s": round(hashes_s, 3),
               "rescan_over_forced": round(after_s / forced_s, 4)}
    print(f"{n} four-minute MP3s, --jobs {args.jobs}: first scan {first_s:.1f} s; Picard-like tag pass (title, "
          f"genre, {COVER_BYTES // 1000} KB cover) with mutagen {edit_s:.2f} s")
    print(f"rescan after the tag pass: {after_s:.2f} s ({after_s / n * 1000:.0f} ms a track; 0 analysed, "
          f"{after['tags_edited']} tag edits read, {after['kept']} genres kept as the user's)")
    print(f"forced re-analysis of the same files (a fresh library): {forced_s:.1f} s "
          f"({forced['analysed']} analysed); the rescan takes {after_s / forced_s:.3f} of it")
    print(f"rescan with nothing changed: {unchanged_s:.2f} s; floor, every file's tags read once with mutagen: "
          f"{floor_s:.3f} s ({floor_s / n * 1000:.1f} ms a track); the audio-hash check of every file (files in "
          f"the page cache): {hashes_s:.3f} s ({hashes_s / n * 1000:.2f} ms a track)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
