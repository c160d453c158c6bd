"""Scan throughput on 4-minute MP3s, its cost against decoding alone, rescan time and worker memory.

1. Builds (once, cached in ``--workdir``) N four-minute 44.1 kHz stereo MP3s, each a different
   chain of the gtzan-mini clips, untagged.
2. Scans them with ``musictag scan --jobs J`` into a fresh library, end to end in a subprocess
   (start-up, fork server warm-up, analysis, DB, tag writes): tracks per minute; meanwhile samples
   every worker's peak RSS (VmHWM, counting the pages shared with the fork server) and PSS (its
   fair share of them). The written tags are then restored, so a next run starts alike.
3. Decodes the same files fully (``musictag.audio.decode.load``) with J processes: scan time / decode time.
4. Rescan with nothing changed: a library of ``--rescan-tracks`` synthetic rows (tiny files,
   rows with their size and mtime, written straight into the DB), timed end to end.
5. With ``--cluster local:N`` (or a scheduler's address): the same files scanned again with
   ``--cluster`` into another fresh library, its throughput against step 2's in the same run; and
   the engine's own cost per file: no-op tasks through a local cluster of N workers set up as
   ``musictag.scan.cluster`` sets it up, one at a time (round trip) and kept 4 per worker in
   flight as the scan keeps them (per-file cost at full pipeline).

6. With ``--runtimes litert,openvino-f32,openvino-bf16``: the same files scanned once per backbone
   runtime (``--no-write``, fresh libraries), each beside the decode floor and bliss-rs (PyPI
   ``bliss-audio``, skipped with a note when absent) analysing the same files in the same run, and
   the time from starting a scan of a folder of one track to its end (start-up to the first track).
   With ``--baseline DIR`` as well: the same scan by an earlier version's checkout, and each runtime's
   throughput as a multiple of it.

Run from the repository root (needs the shipped model, or ``--model``):

    python bench/bench_scan.py --tracks 100 --jobs 2 [--cluster local:2] [--rescan-tracks 10000] [--workdir DIR]
        [--runtimes litert,openvino-f32,openvino-bf16 [--baseline CHECKOUT]] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan-mini"
TRACK_S = 240.0
TARGETS = {"tracks_per_minute": 200, "rescan_10000_s": 5.0, "worker_peak_mb": 500}


def _clips(data: Path) -> list[Path]:
    clips = sorted(p for p in data.rglob("*") if p.suffix.lower() in (".wav", ".au"))
    if not clips:
        sys.exit(f"no clips under {data}")
    return clips


def _build_one(args: tuple[Path, list[Path], int]) -> None:
    out, clips, index = args
    import soundfile as sf
    import soxr

    parts, total, k = [], 0.0, index
    while total < TRACK_S:
        y, sr = sf.read(clips[k % len(clips)], dtype="float32", always_2d=True)
        y = soxr.resample(y.mean(axis=1), sr, 44100)
        parts.append(y)
        total += len(y) / 44100
        k += 7  # a different chain for each track
    mono = np.concatenate(parts)[: int(TRACK_S * 44100)]
    stereo = np.stack([mono, np.roll(mono, 441) * 0.9], axis=1)
    tmp = out.with_suffix(".tmp.mp3")
    sf.write(tmp, stereo, 44100, format="MP3")
    tmp.rename(out)


def build_library(folder: Path, n: int, data: Path, jobs: int) -> list[Path]:
    """N four-minute MP3s under ``folder`` (those already there are kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = _clips(data)
    paths = [folder / f"track{i:05d}.mp3" for i in range(n)]
    todo = [(p, clips, i) for i, p in enumerate(paths) if not p.exists()]
    if todo:
        print(f"building {len(todo)} four-minute MP3s in {folder} ...", file=sys.stderr)
        with Pool(jobs) as pool:
            pool.map(_build_one, todo)
    _untag(paths)
    return paths


def _untag(paths: list[Path]) -> None:
    """Remove genre tags left by an earlier, interrupted run, so that every scan writes them all."""
    from musictag.tags.tagfile import read_genres, write_genres

    for path in paths:
        if read_genres(path):
            write_genres(path, [])


def _descendants(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                children = Path(f"/proc/{p}/task/{task}/children").read_text().split()
                out.extend(int(c) for c in children)
                stack.extend(int(c) for c in children)
        except OSError:
            pass
    return out


def _memory(pid: int) -> tuple[float, float] | None:
    """(VmHWM, Pss) in MB of a process, None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        if "musictag" not in Path(f"/proc/{pid}/cmdline").read_text() and "python" not in status.split()[1]:
            return None
        hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
        pss = int(re.search(r"Pss:\s+(\d+)", Path(f"/proc/{pid}/smaps_rollup").read_text()).group(1)) / 1024
        return hwm, pss
    except (OSError, AttributeError):
        return None


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _musictag(*args: str, sample: bool = False, env: dict[str, str] | None = None, cwd: Path | None = None
              ) -> tuple[dict, float, dict[int, tuple[float, float]]]:
    """Run ``musictag ARGS --json`` (``env`` added to the environment; from ``cwd``, whose ``musictag`` package
    then runs, when given); return its summary, wall seconds, and per-process memory peaks (with ``sample``;
    key -1 then holds the main process's CPU seconds, as last seen)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "musictag", *args, "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}, cwd=cwd)
    peaks: dict[int, tuple[float, float]] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.5):
            cpu = _cpu_seconds(proc.pid)
            if cpu is not None:
                peaks[-1] = (cpu, cpu)
            for pid in _descendants(proc.pid):
                mem = _memory(pid)
                if mem:
                    old = peaks.get(pid, (0.0, 0.0))
                    peaks[pid] = (max(old[0], mem[0]), max(old[1], mem[1]))

    watcher = threading.Thread(target=watch, daemon=True)
    if sample:
        watcher.start()
    out, err = proc.communicate()
    done.set()
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"musictag {' '.join(args)} failed ({proc.returncode}):\n{err}")
    return json.loads(out), seconds, peaks


def _decode(path: Path) -> int:
    from musictag.audio.decode import load

    return len(load(path))


def decode_only(paths: list[Path], jobs: int) -> float:
    """Seconds to decode every file fully (to 22,050 Hz mono) with ``jobs`` processes."""
    with Pool(jobs) as pool:
        pool.map(_decode, paths[:jobs])  # imports, outside the timing
        started = time.perf_counter()
        pool.map(_decode, paths, chunksize=1)
        return time.perf_counter() - started


def _bliss(path: Path) -> int:
    import bliss_audio

    return len(bliss_audio.Song(str(path)).analysis)


def bliss_only(paths: list[Path], jobs: int) -> float | None:
    """Seconds for bliss-rs (PyPI ``bliss-audio``, what blissify runs) to analyse every file with ``jobs``
    processes; None (and a note) when it is not installed."""
    try:
        import bliss_audio  # noqa: F401
    except ImportError:
        print("bliss-audio is not installed (pip install bliss-audio): no bliss-rs figure", file=sys.stderr)
        return None
    with Pool(jobs) as pool:
        pool.map(_bliss, paths[:jobs])  # imports, outside the timing
        started = time.perf_counter()
        pool.map(_bliss, paths, chunksize=1)
        return time.perf_counter() - started


#: ``--runtimes``: what runs the backbone, as the environment tells a scan (musictag.analysis.backbone).
RUNTIMES = {"litert": {"MUSICTAG_RUNTIME": "litert"},
            "openvino-f32": {"MUSICTAG_RUNTIME": "openvino", "MUSICTAG_PRECISION": "f32"},
            "openvino-bf16": {"MUSICTAG_RUNTIME": "openvino", "MUSICTAG_PRECISION": "bf16"}}


def scan_with(runtime: str | None, folder: Path, db: Path, jobs: int, model: list[str],
              checkout: Path | None = None) -> dict:
    """One end-to-end scan of ``folder`` into a fresh library with the backbone on ``runtime`` (None: the
    default), by the musictag of ``checkout`` when given (an earlier version); its figures."""
    for leftover in db.parent.glob(db.name + "*"):
        leftover.unlink()
    summary, seconds, peaks = _musictag("scan", str(folder.absolute()), "--db", str(db.absolute()), "--jobs",
                                        str(jobs), "--no-write", *model, sample=True,
                                        env=RUNTIMES[runtime] if runtime else None, cwd=checkout)
    peaks.pop(-1, None)
    worker = max((p[0] for p in peaks.values()), default=0.0)
    return {"runtime": summary.get("runtime"), "note": summary.get("runtime_note"), "scan_s": round(seconds, 2),
            "tracks_per_minute": round(summary["analysed"] / seconds * 60, 1), "worker_peak_mb": round(worker, 1)}


def first_track(path: Path, workdir: Path, runtime: str, model: list[str]) -> float:
    """Seconds from starting ``musictag scan`` on a folder of one track to its end (one track analysed):
    start-up, fork server warm-up, the worker's model load and compile, one analysis."""
    one = workdir / "first"
    one.mkdir(parents=True, exist_ok=True)
    link = one / path.name
    if not link.exists():
        link.symlink_to(path)
    db = workdir / f"first-{runtime}.db"
    for leftover in workdir.glob(db.name + "*"):
        leftover.unlink()
    summary, seconds, _ = _musictag("scan", str(one), "--db", str(db), "--jobs", "1", "--no-write", *model,
                                    env=RUNTIMES[runtime])
    if summary["analysed"] != 1:
        sys.exit(f"bench_scan: the first-track scan analysed {summary['analysed']} files")
    return seconds


def rescan(folder: Path, db: Path, n: int, model: list[str]) -> tuple[float, dict]:
    """Seconds for ``musictag scan`` over ``n`` unchanged tracks already in the library."""
    from musictag.analysis.models import ModelInfo
    from musictag.library.database import Library
    from musictag.paths import path_to_key

    model_id = ModelInfo.read(model[1] if model else None).model_id
    folder.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    rows = []
    for i in range(n):
        path = folder / f"{i // 500:03d}" / f"t{i:05d}.mp3"
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(b"\xff\xfb" + i.to_bytes(4, "little"))
        st = path.stat()
        rows.append({"path": path_to_key(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                     "quick_hash": f"{i:032x}", "status": "ok", "model_id": model_id, "genre": "rock",
                     "confidence": 0.9, "tag_state": "kept", "format": "mp3"})
    with Library(db) as library:
        library.db["tracks"].insert_all(rows, batch_size=2000)
    summary, seconds, _ = _musictag("scan", str(folder), "--db", str(db), *model)
    assert summary["skipped"] == n and summary["analysed"] == 0, summary
    return seconds, summary


def _noop(i: int) -> int:
    return i


def engine_overhead(workers: int, n: int = 2000) -> tuple[float, float]:
    """Milliseconds per no-op task through a local Dask cluster with the scan's scheduler settings and one
    thread a worker (the workers load nothing): one at a time (a round trip), and with
    ``IN_FLIGHT_PER_THREAD`` per worker outstanding (the scan's pipeline)."""
    import dask
    from distributed import Client, LocalCluster, wait

    from musictag.scan.cluster import IN_FLIGHT_PER_THREAD, SCHEDULER_CONFIG

    with dask.config.set(SCHEDULER_CONFIG), LocalCluster(n_workers=workers, threads_per_worker=1,
                                                         dashboard_address=None, silence_logs=50) as cluster, \
            Client(cluster) as client:
        client.submit(_noop, -1, pure=False).result()
        started = time.perf_counter()
        for i in range(n // 4):
            client.submit(_noop, i, pure=False).result()
        round_trip = (time.perf_counter() - started) / (n // 4)
        window = IN_FLIGHT_PER_THREAD * workers
        started = time.perf_counter()
        pending = set(client.map(_noop, range(window), pure=False))
        submitted = window
        while pending:
            done = wait(list(pending), return_when="FIRST_COMPLETED").done
            for future in done:
                pending.discard(future)
                future.result()
                if submitted < n:
                    pending.add(client.submit(_noop, submitted, pure=False))
                    submitted += 1
        pipelined = (time.perf_counter() - started) / n
    return round_trip * 1000, pipelined * 1000


def start_seconds(address: str, jobs: int, model_dir: Path | None, probe: Path) -> tuple[float, float]:
    """Seconds until the scan's engines are ready (workers started, model loaded): the local pool of
    ``jobs``, then the cluster at ``address`` (probe included)."""
    from musictag.analysis.models import ModelInfo
    from musictag.scan.cluster import Cluster
    from musictag.scan.pool import Pool

    info = ModelInfo.read(model_dir)
    started = time.perf_counter()
    with Pool(os.fspath(info.dir), jobs, model_id=info.model_id) as pool:
        pool.start()
        pool_s = time.perf_counter() - started
    started = time.perf_counter()
    with Cluster(address, os.fspath(info.dir), model_id=info.model_id, probe_path=str(probe)) as cluster:
        cluster.start()
        cluster_s = time.perf_counter() - started
    return pool_s, cluster_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100, help="four-minute MP3s to scan (default 100)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rescan-tracks", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/musictag-bench-scan"))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--cluster", default=None, help="also scan with --cluster ADDRESS (e.g. local:2) and compare")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="with --runtimes: also scan the same files with the musictag of this checkout (an "
                             "earlier version, e.g. from `git worktree add DIR COMMIT`), with its own default model")
    parser.add_argument("--runtimes", default=None,
                        help=f"also scan the same files once per backbone runtime ({', '.join(RUNTIMES)}), "
                             "beside the decode floor and bliss-rs in the same run")
    args = parser.parse_args()
    model = ["--model", str(args.model)] if args.model else []

    paths = build_library(args.workdir / "mp3", args.tracks, args.data, args.jobs)
    db = args.workdir / "scan.db"
    for leftover in args.workdir.glob("scan.db*"):
        leftover.unlink()
    summary, seconds, peaks = _musictag("scan", str(args.workdir / "mp3"), "--db", str(db), "--jobs",
                                        str(args.jobs), *model, sample=True)
    _musictag("restore", "--db", str(db))
    main_cpu = peaks.pop(-1, (0.0, 0.0))[0]
    workers = sorted(peaks.items(), key=lambda kv: -kv[1][0])[: args.jobs]
    rate = summary["analysed"] / seconds * 60
    decode_s = decode_only(paths, args.jobs)
    if args.cluster:
        cluster_db = args.workdir / "cluster.db"
        for leftover in args.workdir.glob("cluster.db*"):
            leftover.unlink()
        cluster_summary, cluster_s, cluster_peaks = _musictag("scan", str(args.workdir / "mp3"), "--db",
                                                              str(cluster_db), "--cluster", args.cluster, *model,
                                                              sample=True)
        cluster_main_cpu = cluster_peaks.pop(-1, (0.0, 0.0))[0]
        _musictag("restore", "--db", str(cluster_db))
        n_workers = int(args.cluster.removeprefix("local:")) if args.cluster.startswith("local:") else args.jobs
        round_trip_ms, pipelined_ms = engine_overhead(n_workers)
        pool_start_s, cluster_start_s = start_seconds(args.cluster, args.jobs, args.model, paths[0])
    if args.runtimes:
        bliss_s = bliss_only(paths, args.jobs)
        compared = {}
        for name in args.runtimes.split(","):
            if name not in RUNTIMES:
                sys.exit(f"bench_scan: unknown runtime {name!r}; choose from {', '.join(RUNTIMES)}")
            compared[name] = row = scan_with(name, args.workdir / "mp3", args.workdir / f"{name}.db", args.jobs,
                                             model)
            row["over_decode"] = round(row["scan_s"] / decode_s, 2)
            row["first_track_s"] = round(first_track(paths[0], args.workdir, name, model), 2)
            row["bliss_over_scan"] = round(bliss_s / row["scan_s"], 2) if bliss_s else None
            print(f"{name:14s} ({row['runtime']}): {row['tracks_per_minute']:.0f} tracks/min, scan / decode "
                  f"{row['over_decode']:.2f}, bliss-rs time / scan time "
                  f"{row['bliss_over_scan'] if bliss_s else '–'}, worker peak {row['worker_peak_mb']:.0f} MB, "
                  f"one track analysed {row['first_track_s']:.1f} s after start"
                  + (f" ({row['note']})" if row["note"] else ""))
        figures_runtimes = {"bliss_s": round(bliss_s, 2) if bliss_s else None, "runtimes": compared}
        if args.baseline:
            old = scan_with(None, args.workdir / "mp3", args.workdir / "baseline.db", args.jobs, model, args.baseline)
            old["over_decode"] = round(old["scan_s"] / decode_s, 2)
            figures_runtimes["baseline"] = {"checkout": str(args.baseline), **old}
            print(f"baseline ({args.baseline}): {old['tracks_per_minute']:.0f} tracks/min, scan / decode "
                  f"{old['over_decode']:.2f}; "
                  + ", ".join(f"{name} {row['tracks_per_minute'] / old['tracks_per_minute']:.2f} x"
                              for name, row in compared.items()))
        if bliss_s:
            print(f"bliss-rs, same files, {args.jobs} processes: {bliss_s:.1f} s, "
                  f"{len(paths) / bliss_s * 60:.0f} tracks/min")
    rescan_s, _ = rescan(args.workdir / "rescan", args.workdir / "rescan.db", args.rescan_tracks, model)
    figures = {
        "tracks": args.tracks, "jobs": args.jobs, "analysed": summary["analysed"], "failed": summary["failed"],
        "scan_s": round(seconds, 2), "tracks_per_minute": round(rate, 1),
        "decode_only_s": round(decode_s, 2), "scan_over_decode": round(seconds / decode_s, 2),
        "worker_peak_mb": round(max((w[1][0] for w in workers), default=0.0), 1),
        "worker_peak_pss_mb": round(max((w[1][1] for w in workers), default=0.0), 1),
        "worker_peak_mb_reported": round(summary["worker_peak_rss"] / 2**20, 1),
        "main_cpu_s_per_track": round(main_cpu / max(1, summary["analysed"]), 4),
        "rescan_tracks": args.rescan_tracks, "rescan_s": round(rescan_s, 2), "cpus": os.cpu_count(),
    }
    if args.runtimes:
        figures.update(figures_runtimes)
    if args.cluster:
        cluster_rate = cluster_summary["analysed"] / cluster_s * 60
        figures.update({"cluster": args.cluster, "cluster_analysed": cluster_summary["analysed"],
                        "cluster_failed": cluster_summary["failed"], "cluster_scan_s": round(cluster_s, 2),
                        "cluster_tracks_per_minute": round(cluster_rate, 1),
                        "cluster_over_pool": round(cluster_rate / rate, 3),
                        "cluster_scan_over_decode": round(cluster_s / decode_s, 2),
                        "cluster_main_cpu_s_per_track": round(cluster_main_cpu / max(1, cluster_summary["analysed"]),
                                                              4),
                        "pool_start_s": round(pool_start_s, 2), "cluster_start_s": round(cluster_start_s, 2),
                        "cluster_over_pool_after_start": round((seconds - pool_start_s) / (cluster_s - cluster_start_s),
                                                               3),
                        "engine_round_trip_ms": round(round_trip_ms, 2),
                        "engine_pipelined_ms_per_file": round(pipelined_ms, 3)})
    print(f"scan of {args.tracks} four-minute MP3s, --jobs {args.jobs}: {seconds:.1f} s, "
          f"{rate:.0f} tracks/min (target >= {TARGETS['tracks_per_minute']})")
    print(f"decode only, same files, {args.jobs} processes: {decode_s:.1f} s; scan / decode = "
          f"{seconds / decode_s:.2f}")
    print(f"main process (walk, DB, tag writes): {figures['main_cpu_s_per_track'] * 1000:.0f} ms CPU per track")
    print(f"rescan of {args.rescan_tracks} unchanged tracks: {rescan_s:.2f} s (target <= "
          f"{TARGETS['rescan_10000_s']} s for 10,000)")
    print(f"peak memory per worker: {figures['worker_peak_mb']:.0f} MB RSS, of which its own share (PSS) "
          f"{figures['worker_peak_pss_mb']:.0f} MB (target <= {TARGETS['worker_peak_mb']} MB)")
    if args.cluster:
        from musictag.scan.cluster import IN_FLIGHT_PER_THREAD

        print(f"scan with --cluster {args.cluster}, same files: {cluster_s:.1f} s, {cluster_rate:.0f} tracks/min = "
              f"{cluster_rate / rate:.2f} x the local pool (target >= 0.85); scan / decode = "
              f"{cluster_s / decode_s:.2f}")
        print(f"ready to analyse after: local pool {pool_start_s:.1f} s, cluster {cluster_start_s:.1f} s; after "
              f"that, cluster / pool throughput = {figures['cluster_over_pool_after_start']:.2f}; main process "
              f"{figures['cluster_main_cpu_s_per_track'] * 1000:.0f} ms CPU per track with the cluster")
        print(f"Dask's own cost per file (no-op tasks, {n_workers} workers): {round_trip_ms:.2f} ms one at a time, "
              f"{pipelined_ms:.3f} ms each with {IN_FLIGHT_PER_THREAD} per worker in flight")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
