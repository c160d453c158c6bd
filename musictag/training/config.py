"""What one ``musictag train`` run on a labelled folder learns from, and how: :class:`TrainConfig`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """What a run learns from (``input``), which head or network it fits, and the hyper-parameters."""

    input: str = "musicnn"  # what is learned from: the backbone's patch embeddings, or "features44"
    head: str = "gru-attention"  # with input "musicnn": "linear" or "gru-attention"
    arch: str = "crnn-stats"  # with input "features44": the network
    epochs: int = 150
    batch_size: int = 32
    patience: int = 25
    learning_rate: float = 1e-3
    mixup: float = 0.2  # Beta(a, a) mixing of window pairs; 0 = off
    seed: int = 0
    scaling: str = "standard"
    augment: tuple[str, ...] = ("mp3", "loud")  # training tracks are also seen through these

