"""Decode + feature throughput, memory of an hour-long file, and ``musictag --help`` start-up time.

Single process, BLAS/OpenMP pinned to one thread, so "x realtime" is per core. Times are the
process's CPU seconds (other load on the machine does not count); ``--wall`` for wall-clock time.
Run from the repository root:

    python bench/bench_features.py [--data DIR] [--json results.json] [--wall] [--no-hour]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported, here and in the child processes

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import soxr  # noqa: E402

from musictag.analysis.features import EXCERPT_S, N_EXCERPTS, audio_features, track_features  # noqa: E402
from musictag.audio.decode import load  # noqa: E402
from musictag.audio.formats import AUDIO_EXTENSIONS  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan-mini"

# Runs in a fresh interpreter: warm up on a short file, then analyse the long one and report the
# peak resident set size before and after. VmHWM, not ru_maxrss: Linux carries the parent's peak
# over the exec into the child's ru_maxrss (this script holds an hour of audio when it starts it).
_HOUR_CHILD = """
import json, re, sys, time
from pathlib import Path
from musictag.analysis.features import track_features
clock = time.perf_counter if sys.argv[3] == "wall" else time.process_time

def peak_mb():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024

track_features(sys.argv[1])
base = peak_mb()
t = clock()
result = track_features(sys.argv[2])
seconds = clock() - t
print(json.dumps({"seconds": seconds, "windows": len(result.windows), "duration": result.duration,
                  "base_mb": base, "peak_mb": peak_mb()}))
"""


CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}


def timed(fn: Callable[[], object], clock: str = "cpu") -> tuple[float, object]:
    """Time of one call of ``fn`` on ``clock`` ("cpu" or "wall") and its result."""
    now = CLOCK[clock]
    t = now()
    result = fn()
    return now() - t, result


def clips(data: Path) -> list[Path]:
    """Every audio file under ``data``, sorted."""
    return sorted(p for p in data.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())


def music(files: list[Path], seconds: float, sr: int) -> np.ndarray:
    """Concatenate mono clips (resampled to ``sr``) until ``seconds`` long; loop them if too few."""
    parts, total, i = [], 0, 0
    want = int(seconds * sr)
    while total < want:
        y, rate = sf.read(files[i % len(files)], dtype="float32", always_2d=True)
        y = soxr.resample(y.mean(axis=1), rate, sr)
        parts.append(y)
        total += len(y)
        i += 1
    return np.concatenate(parts)[:want]


def bench_clips(files: list[Path], clock: str) -> dict:
    """Decode + features of every clip, whole (each is under the excerpt limit)."""
    audio_s = decode_s = total_s = 0.0
    for path in files:
        t_decode, _ = timed(lambda p=path: load(p), clock)
        t_total, result = timed(lambda p=path: track_features(p), clock)
        audio_s += result.duration
        decode_s += t_decode
        total_s += t_total
    return {"files": len(files), "audio_s": audio_s, "decode_s": decode_s, "total_s": total_s,
            "features_s": total_s - decode_s, "x_realtime": audio_s / total_s}


def bench_track(path: Path, repeat: int, clock: str) -> dict:
    """A long track the way scan analyses it (excerpts), against decoding and analysing it whole."""
    duration = sf.info(path).duration
    excerpts = statistics.median(timed(lambda: track_features(path), clock)[0] for _ in range(repeat))
    decode_s = statistics.median(timed(lambda: load(path), clock)[0] for _ in range(repeat))
    y = load(path)
    features_s = statistics.median(timed(lambda: audio_features(y), clock)[0] for _ in range(repeat))
    return {"duration_s": duration, "excerpts_s": excerpts, "x_realtime": duration / excerpts,
            "analysed_s": min(duration, N_EXCERPTS * EXCERPT_S),
            "whole_decode_s": decode_s, "whole_features_s": features_s,
            "whole_x_realtime": duration / (decode_s + features_s)}


def write_hour(path: Path, minute: np.ndarray, sr: int, channels: int) -> None:
    """Write 60 copies of a one-minute block, in the format ``path``'s suffix names."""
    block = np.stack([minute * (1.0 - 0.3 * c) for c in range(channels)], axis=1)
    if path.suffix == ".m4a":
        import av

        layout = "stereo" if channels == 2 else "mono"
        with av.open(str(path), "w", format="ipod") as out:
            stream = out.add_stream("alac", rate=sr)
            stream.layout = layout
            for i in range(60 * len(block) // 4096):
                chunk = block[(i * 4096) % len(block):][:4096]
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk.T), format="fltp", layout=layout)
                frame.rate, frame.pts = sr, i * 4096
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        return
    kind = {".flac": "FLAC", ".mp3": "MP3"}[path.suffix]
    with sf.SoundFile(path, "w", sr, channels, format=kind) as f:
        for _ in range(60):
            f.write(block)


def bench_hour(path: Path, short: Path, clock: str) -> dict:
    """Time and peak-memory growth of analysing an hour-long file, in a fresh process."""
    done = subprocess.run([sys.executable, "-c", _HOUR_CHILD, str(short), str(path), clock],
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    result["growth_mb"] = result["peak_mb"] - result["base_mb"]
    return result


def bench_help(repeat: int) -> dict:
    """Median wall time of ``musictag --help`` (the console script) and ``python -m musictag --help``."""
    script = Path(sys.executable).parent / "musictag"
    commands = {"python -m musictag --help": [sys.executable, "-m", "musictag", "--help"]}
    if script.exists() or shutil.which("musictag"):
        commands["musictag --help"] = [str(script) if script.exists() else "musictag", "--help"]
    out = {}
    for name, cmd in commands.items():
        times = [timed(lambda c=cmd: subprocess.run(c, capture_output=True, check=True), "wall")[0]
                 for _ in range(repeat)]
        out[name] = statistics.median(times)
    return out


def main() -> None:
    """Run every benchmark, print a table and optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled clips (gtzan-mini)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--repeat", type=int, default=5, help="runs for the medians (default 5)")
    parser.add_argument("--no-hour", action="store_true", help="skip the hour-long files (~1 min)")
    parser.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time")
    args = parser.parse_args()
    clock = "wall" if args.wall else "cpu"

    files = clips(args.data)
    if not files:
        parser.error(f"no audio files under {args.data}")
    results: dict = {"clock": clock, "load_average": os.getloadavg()[0], "cpu_count": os.cpu_count()}
    results["first_call_s"], _ = timed(lambda: track_features(files[0]), "wall")  # imports, JIT, filters
    results["clips"] = bench_clips(files, clock)

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        track = tmp_path / "four-minutes.mp3"
        y = music(files, 240.0, 44100)
        sf.write(track, np.stack([y, 0.8 * y], axis=1), 44100, format="MP3")
        results["mp3_4min"] = bench_track(track, args.repeat, clock)
        if not args.no_hour:
            short = tmp_path / "short.wav"
            sf.write(short, y[: 2 * 44100], 44100)
            results["hour"] = {}
            for name, sr, channels in (("flac", 44100, 2), ("mp3", 8000, 1), ("m4a", 8000, 1)):
                path = tmp_path / f"hour.{name}"
                write_hour(path, music(files, 60.0, sr), sr, channels)
                results["hour"][f"{name} {sr // 1000} kHz {'stereo' if channels == 2 else 'mono'}"] = (
                    bench_hour(path, short, clock))
    results["help_s"] = bench_help(max(args.repeat, 5))

    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def report(r: dict) -> None:
    """Print the figures as a small table."""
    c, t = r["clips"], r["mp3_4min"]
    what = "CPU seconds" if r["clock"] == "cpu" else "wall-clock seconds"
    print(f"one process, 1 BLAS thread, {what}; load average {r['load_average']:.1f} on {r['cpu_count']} cores")
    print(f"first call (imports, numba, wall): {r['first_call_s']:.2f} s")
    print(f"{'what':<44}{'audio':>9}{'time':>9}{'x realtime':>12}")
    print(f"{'gtzan-mini, ' + str(c['files']) + ' clips, decode + features':<44}"
          f"{c['audio_s']:>8.0f}s{c['total_s']:>8.2f}s{c['x_realtime']:>12.0f}")
    print(f"{'  of which decode':<44}{'':>9}{c['decode_s']:>8.2f}s")
    print(f"{'4-min MP3 44.1k stereo, excerpts (scan)':<44}{t['duration_s']:>8.0f}s"
          f"{t['excerpts_s']:>8.2f}s{t['x_realtime']:>12.0f}")
    print(f"{'4-min MP3, decoded and analysed whole':<44}{t['duration_s']:>8.0f}s"
          f"{t['whole_decode_s'] + t['whole_features_s']:>8.2f}s{t['whole_x_realtime']:>12.0f}")
    print(f"  (scan analyses {N_EXCERPTS} excerpts, {t['analysed_s']:.0f} s of the {t['duration_s']:.0f} s; "
          "x realtime counts the whole track)")
    for name, h in r.get("hour", {}).items():
        print(f"{'60-min ' + name:<44}{h['duration']:>8.0f}s{h['seconds']:>8.2f}s"
              f"{h['duration'] / h['seconds']:>12.0f}   peak RSS {h['peak_mb']:.0f} MB "
              f"(+{h['growth_mb']:.0f} MB)")
    for name, seconds in r["help_s"].items():
        print(f"{name:<44}{'':>9}{seconds:>8.3f}s   (median, wall)")


if __name__ == "__main__":
    main()
