"""Genre heads over one sequence ``(n, dim)`` (backbone patch embeddings, or the steps of a segment's
mel bands, MFCC, CQT or hand-made features), run in plain NumPy.

Every head runs without TensorFlow, LiteRT or scikit-learn, at scan time and when the library
re-scores stored tracks; its weights come from :mod:`musictag.training.head_fit`, and each forward
pass is tested equal to the Keras (or scikit-learn) model it was copied from:

- ``linear`` (:mod:`.base`): multinomial logistic regression on the standardised time-mean.
- ``mlp`` (:mod:`.base`): two ReLU layers on the standardised time-mean.
- ``rf`` (:mod:`.forest`): a random forest on the standardised time-mean.
- ``gru-attention``, ``lstm-attention`` (:mod:`.recurrent`): a bidirectional GRU or LSTM over the
  standardised steps, additive attention over time (``gru-attention`` is the second study's best head).
- ``cnn1d``, ``cnn2d`` (:mod:`.conv`): convolutions over time, or over the time x dim image.
- ``transformer`` (:mod:`.transformer`): one self-attention encoder block with sinusoidal positions.

Per-step probabilities (``patch_probabilities``: ``info``'s timeline of a backbone model) are the head
run on each step alone; a model on frames shows each segment's probabilities instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musictag.analysis.heads.base import Head, LinearHead, MlpHead, softmax
from musictag.analysis.heads.conv import Cnn1dHead, Cnn2dHead
from musictag.analysis.heads.forest import ForestHead
from musictag.analysis.heads.recurrent import GruAttentionHead, LstmAttentionHead, gru_sequence, lstm_sequence
from musictag.analysis.heads.transformer import TransformerHead

__all__ = ["HEADS", "VECTOR_HEADS", "Head", "LinearHead", "MlpHead", "ForestHead", "GruAttentionHead",
           "LstmAttentionHead", "Cnn1dHead", "Cnn2dHead", "TransformerHead", "gru_sequence", "lstm_sequence",
           "softmax", "load_head", "make_head"]

#: Every head ``musictag train --head`` knows. Vector heads read a sequence's mean over time; the
#: others read the sequence itself.
HEADS = ("rf", "mlp", "lstm-attention", "gru-attention", "cnn1d", "cnn2d", "transformer", "linear")
VECTOR_HEADS = ("rf", "mlp", "linear")

_KINDS: dict[str, type[Head]] = {cls.kind: cls for cls in (
    ForestHead, MlpHead, LstmAttentionHead, GruAttentionHead, Cnn1dHead, Cnn2dHead, TransformerHead, LinearHead)}
#: The weights each kind's ``head.npz`` must hold.
_WEIGHTS = {kind: cls.required for kind, cls in _KINDS.items()}


def load_head(kind: str, path: Path) -> Head:
    """Load a head of ``kind`` from its ``head.npz`` (:class:`UsageError` when it is unreadable or incomplete)."""
    import zipfile

    from musictag.errors import UsageError

    try:
        with np.load(path) as data:
            head = _KINDS[kind]({k: data[k] for k in data.files})
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise UsageError(f"{path}: unreadable head weights ({e}); retrain the model with `musictag train`") from None
    missing = sorted(_WEIGHTS[kind] - set(head.w))
    if missing:
        raise UsageError(f"{path}: head weights incomplete (no {', '.join(missing)}); retrain the model")
    return head


def make_head(kind: str, weights: dict[str, np.ndarray]) -> Head:
    """A head of ``kind`` with the given weights."""
    return _KINDS[kind](weights)
