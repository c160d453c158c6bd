"""The pretrained backbone: musicnn (MSD) as a LiteRT model folder, checked before it is used.

A backbone folder (``models/musicnn-msd/``, written by :mod:`musictag.musicnn_convert`) holds
``backbone.tflite`` (log-mel patches ``(B, 187, 96)`` to the 200-d penultimate embedding and the 50
tag probabilities), ``manifest.json`` (tag names, output tensor names, the sha256 of every file),
and the licence. Every file is checked against the manifest when the backbone is read: a missing,
damaged or replaced file is refused with one line naming it and what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musictag.errors import UsageError
from musictag.shipped import shipped_models_dir

DEFAULT_BACKBONE = "musicnn-msd"
_REINSTALL = "reinstall musictag, or rebuild it with `python -m musictag.musicnn_convert`"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (what a backbone manifest records)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
    def read(cls, folder: str | os.PathLike) -> BackboneInfo:
        """Read and verify ``folder``; raise :class:`UsageError` naming the first bad file."""
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
        for name, want in files.items():
            path = folder / name
            try:
                got = sha256_file(path)
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


class Backbone:
    """A loaded backbone: one LiteRT interpreter, run on batches of log-mel patches."""

    def __init__(self, info: BackboneInfo, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.info = info
        self._interpreter = Interpreter(model_path=str(info.dir / "backbone.tflite"), num_threads=threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._outputs = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
        self._n = -1

    def run(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings ``(n, 200)`` and tag probabilities ``(n, 50)`` of ``(n, 187, 96)`` patches."""
        from musictag.audio import quiet_native_stderr

        x = np.ascontiguousarray(patches, dtype=np.float32)
        if len(x) != self._n:
            self._interpreter.resize_tensor_input(self._input, x.shape)
            with quiet_native_stderr():  # LiteRT announces its XNNPACK delegate on stderr
                self._interpreter.allocate_tensors()
            self._n = len(x)
        self._interpreter.set_tensor(self._input, x)
        self._interpreter.invoke()
        names = self.info.manifest["outputs"]
        get = self._interpreter.get_tensor
        return get(self._outputs[names["embedding"]]).copy(), get(self._outputs[names["tags"]]).copy()
