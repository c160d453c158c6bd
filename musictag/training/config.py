"""What one ``musictag train`` run on a labelled folder learns from, and how: :class:`TrainConfig`.

Plain Python: the command line reads :data:`INPUTS` and :data:`HEADS` for ``--help`` without NumPy
(tests check they agree with :data:`musictag.analysis.frame_inputs.FRAME_INPUTS` and
:data:`musictag.analysis.heads.HEADS`).
"""

from __future__ import annotations

from dataclasses import dataclass

from musictag.errors import UsageError

#: What ``train --input`` learns from: four frame inputs, and the backbone's patch embeddings.
INPUTS = ("features44", "mel", "mfcc", "cqt", "musicnn")
#: Every head ``train --head`` fits (the heads of :mod:`musictag.analysis.heads`).
HEADS = ("rf", "mlp", "lstm-attention", "gru-attention", "cnn1d", "cnn2d", "transformer", "linear")
#: The head of an input when none is asked for (features44 without ``--head``: the ``--arch`` network).
DEFAULT_HEAD = "gru-attention"
#: Pairs that make no sense, and why (the one-line error says it).
REFUSED = {
    ("musicnn", "cnn2d"): "the backbone's 200 embedding dimensions have no order, so a 2-D convolution over them "
                          "has no local structure to find; use cnn1d (over time) or another head",
}


@dataclass
class TrainConfig:
    """What a run learns from (``input``), which head or network it fits, and the hyper-parameters."""

    input: str = "musicnn"  # one of INPUTS
    head: str | None = None  # one of HEADS; None: DEFAULT_HEAD, except features44 where it means the arch network
    arch: str = "crnn-stats"  # with input "features44" and no head: the network on 5 s windows
    epochs: int = 150
    batch_size: int = 32
    patience: int = 25
    learning_rate: float = 1e-3
    mixup: float = 0.2  # Beta(a, a) mixing of window pairs; 0 = off
    seed: int = 0
    scaling: str = "standard"
    augment: tuple[str, ...] = ("mp3", "loud")  # training tracks are also seen through these

    def __post_init__(self) -> None:
        if self.input not in INPUTS:
            raise UsageError(f"unknown input {self.input!r}; choose one of {', '.join(INPUTS)}")
        if self.head is None and self.input != "features44":
            self.head = DEFAULT_HEAD
        if self.head is not None and self.head not in HEADS:
            raise UsageError(f"unknown head {self.head!r}; choose one of {', '.join(HEADS)}")
        why = REFUSED.get((self.input, self.head))
        if why:
            raise UsageError(f"--head {self.head} does not fit --input {self.input}: {why}")

    @property
    def on_frames(self) -> bool:
        """Whether the run fits a head on frame segments (not the backbone's patches, not an arch network)."""
        return self.input != "musicnn" and self.head is not None
