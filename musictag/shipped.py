"""Where the models shipped with musictag are, and which one is the default: no NumPy, so ``--help`` may ask."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: The model ``musictag scan`` uses unless told otherwise: a folder of :func:`shipped_models_dir`.
DEFAULT_MODEL_NAME = "genres-musicnn"


def shipped_models_dir() -> Path:
    """The folder of the model folders shipped with musictag (``musictag.models``, or ``models/`` of a checkout)."""
    try:
        return Path(str(resources.files("musictag.models")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "models"
