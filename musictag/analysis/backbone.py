"""The pretrained backbone: musicnn (MSD) as a LiteRT model folder, checked before it is used.

A backbone folder (``models/musicnn-msd/``, written by :mod:`musictag.training.musicnn_convert`) holds
``backbone.tflite`` (log-mel patches ``(B, 187, 96)`` to the 200-d penultimate embedding and the 50
tag probabilities), ``manifest.json`` (tag names, output tensor names, the sha256 of every file),
and the licence. Every file is checked against the manifest when the backbone is read: a missing,
damaged or replaced file is refused with one line naming it and what to do.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musictag.errors import UsageError, short_reason
from musictag.hashing import file_digest
from musictag.shipped import shipped_models_dir

DEFAULT_BACKBONE = "musicnn-msd"
_REINSTALL = "reinstall musictag, or rebuild it with `python -m musictag.training.musicnn_convert`"


@dataclass(frozen=True)
class BackboneInfo:
    """A checked backbone folder: where it is, what it outputs, and its identity."""

    dir: Path
    manifest: dict
    sha256: str  # of backbone.tflite: a head is tied to exactly these weights

    @property
    def name(self) -> str:
        """The backbone's name, e.g. ``musicnn-msd``."""
        return str(self.manifest["name"])

    @property
    def backbone_id(self) -> str:
        """Name plus the start of the weights' checksum: what the library stores per track."""
        return f"{self.name}-{self.sha256[:10]}"

    @property
    def tags(self) -> list[str]:
        """The names of the tag outputs, in output order."""
        return list(self.manifest["tags"])

    @classmethod
    def read(cls, folder: str | os.PathLike, check_files: bool = True) -> BackboneInfo:
        """Read and verify ``folder``; raise :class:`UsageError` naming the first bad file.

        ``check_files`` False reads the manifest alone (its names and identity), for what only shows them.
        """
        folder = Path(folder)
        manifest_path = folder / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text())
            files = dict(manifest["files"])
        except FileNotFoundError:
            raise UsageError(f"{manifest_path}: backbone manifest missing; {_REINSTALL}") from None
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise UsageError(f"{manifest_path}: unreadable backbone manifest ({e}); {_REINSTALL}") from None
        if "backbone.tflite" not in files:
            raise UsageError(f"{manifest_path}: names no backbone.tflite; {_REINSTALL}")
        for name, want in files.items() if check_files else ():
            path = folder / name
            try:
                got = file_digest([path])  # SHA-256, what the manifest records
            except FileNotFoundError:
                raise UsageError(f"{path}: backbone file missing; {_REINSTALL}") from None
            except OSError as e:
                raise UsageError(f"{path}: cannot read the backbone file ({e.strerror}); {_REINSTALL}") from None
            if got != want:
                raise UsageError(f"{path}: damaged or replaced (checksum does not match the manifest); {_REINSTALL}")
        return cls(folder, manifest, files["backbone.tflite"])


def find_backbone(name: str, near: Path | None = None) -> BackboneInfo:
    """The backbone ``name``: beside the model folder ``near`` first, else the one shipped with musictag."""
    candidates = ([near.parent / name] if near is not None else []) + [shipped_models_dir() / name]
    for folder in candidates:
        if folder.is_dir():
            return BackboneInfo.read(folder)
    raise UsageError(f"backbone {name!r} not found (looked in {', '.join(str(c) for c in candidates)}); "
                     f"{_REINSTALL}")


#: ``MUSICTAG_RUNTIME``: ``openvino`` or ``litert`` forces that runtime; unset (``auto``): OpenVINO where it
#: is installed and works, else LiteRT.
RUNTIME_ENV = "MUSICTAG_RUNTIME"
#: ``MUSICTAG_PRECISION``: ``f32`` (default) or ``bf16`` (OpenVINO on a CPU with native bf16 only).
#: bf16 is 2.9x faster than f32 here, track embeddings within cosine 0.9997 of f32's, but it moved one
#: real track of 123 across the shipped threshold (0.9903 -> 0.9892), so it is not the default.
PRECISION_ENV = "MUSICTAG_PRECISION"
RUNTIMES = ("auto", "openvino", "litert")
PRECISIONS = ("f32", "bf16")


def runtime_settings() -> dict[str, str]:
    """This process's ``MUSICTAG_RUNTIME`` and ``MUSICTAG_PRECISION`` ("" where unset), for a scan to hand to
    its workers: they are forked from a server that may have started under another environment."""
    return {name: os.environ.get(name, "") for name in (RUNTIME_ENV, PRECISION_ENV)}


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX512-BF16), as OpenVINO's bf16 path needs."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def _wanted(env: str, choices: tuple[str, ...], default: str) -> str:
    value = os.environ.get(env, default).strip().lower() or default
    if value not in choices:
        raise UsageError(f"${env} is {value!r}; choose one of {', '.join(choices)}")
    return value


class Backbone:
    """A loaded backbone, run on batches of log-mel patches: OpenVINO where it works (about twice LiteRT's
    speed in f32 on these CPUs), else LiteRT; both give the same outputs (tested on reference patches).

    ``runtime`` and ``precision`` say what runs; ``note`` why OpenVINO is not used, when it was wanted
    and could not be (a missing or broken install): the scan says it in one line.
    """

    def __init__(self, info: BackboneInfo, threads: int = 1) -> None:
        self.info = info
        self.note: str | None = None
        runtime = _wanted(RUNTIME_ENV, RUNTIMES, "auto")
        precision = _wanted(PRECISION_ENV, PRECISIONS, "f32")
        if precision == "bf16" and not native_bf16():
            self.note, precision = "this CPU has no native bf16: the backbone runs in f32", "f32"
        if runtime != "litert":
            try:
                self._run = self._openvino(threads, precision)
                self.runtime, self.precision = "openvino", precision
                return
            except Exception as e:  # a missing or broken OpenVINO, or a file it cannot read: LiteRT instead
                self.note = f"OpenVINO not usable ({short_reason(e)}); the backbone runs on LiteRT"
        self._run = self._litert(threads)
        self.runtime, self.precision = "litert", "f32"

    def describe(self) -> dict[str, str | None]:
        """What runs the backbone: ``runtime``, ``precision`` and ``note`` (why not OpenVINO, or None)."""
        return {"runtime": self.runtime, "precision": self.precision, "note": self.note}

    def _openvino(self, threads: int, precision: str):
        import openvino as ov

        core = ov.Core()
        model = core.read_model(str(self.info.dir / "backbone.tflite"))
        shape = self.info.manifest["input"]
        # One patch per inference, on a static shape: 11 % faster than a dynamic batch in f32 and 20 % in
        # bf16 (measured, 8 patches, one thread), and no slower than a static batch of 8.
        model.reshape([1, int(shape["patch_frames"]), int(shape["n_mels"])])
        # OpenVINO picks bf16 by itself on such CPUs unless told: the precision is always chosen here. It also
        # pins its thread to a core, the same core in every worker process: two workers then ran at 64 ms a
        # patch each instead of 29 (measured), so pinning is off and the system spreads the workers.
        compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": precision,
                                                     "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1,
                                                     "ENABLE_CPU_PINNING": False})
        request = compiled.create_infer_request()
        names = self.info.manifest["outputs"]
        embedding, tags = compiled.output(names["embedding"]), compiled.output(names["tags"])

        def run(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            embeddings, probabilities = [], []
            for patch in x:
                out = request.infer({0: patch[None]})
                embeddings.append(np.array(out[embedding], np.float32))
                probabilities.append(np.array(out[tags], np.float32))
            return np.concatenate(embeddings), np.concatenate(probabilities)

        return run

    def _litert(self, threads: int):
        from ai_edge_litert.interpreter import Interpreter

        from musictag.audio.decode import quiet_native_stderr

        path = self.info.dir / "backbone.tflite"
        try:
            interpreter = Interpreter(model_path=str(path), num_threads=threads)
        except (ValueError, RuntimeError) as e:
            raise UsageError(f"{path}: unreadable backbone ({short_reason(e)}); {_REINSTALL}") from None
        index = interpreter.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in interpreter.get_output_details()}
        names = self.info.manifest["outputs"]
        allocated = [-1]

        def run(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if len(x) != allocated[0]:
                interpreter.resize_tensor_input(index, x.shape)
                with quiet_native_stderr():  # LiteRT announces its XNNPACK delegate on stderr
                    interpreter.allocate_tensors()
                allocated[0] = len(x)
            interpreter.set_tensor(index, x)
            interpreter.invoke()
            get = interpreter.get_tensor
            return get(outputs[names["embedding"]]).copy(), get(outputs[names["tags"]]).copy()

        return run

    def run(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings ``(n, 200)`` and tag probabilities ``(n, 50)`` of ``(n, 187, 96)`` patches."""
        return self._run(np.ascontiguousarray(patches, dtype=np.float32))
