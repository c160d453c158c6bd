"""Fitting genre heads on ``(n, dim)`` sequences (the weights :mod:`musictag.analysis.heads` runs).

- ``linear``: NumPy/SciPy only (L-BFGS on the L2-penalised multinomial log-loss), no TensorFlow.
- ``rf``: scikit-learn (the ``train`` extra), :mod:`musictag.training.forest_fit`.
- the others: Keras (the ``train`` extra) networks of :mod:`musictag.training.head_networks`, all
  trained by one loop, then copied into NumPy arrays. A track's patch embeddings are trained on as
  random ordered sub-sequences (2 to 8 patches, the number a scan sees); segments are used whole.

Every training rendering of a track (plain and augmented) is one more example of its genre.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from musictag.analysis.heads import VECTOR_HEADS, Head, make_head
from musictag.training.head_networks import KERAS_HEADS, build_head_network, keras_to_head
from musictag.training.standardise import standardiser

#: L2 penalty of the linear head (on summed log-loss; scikit-learn's default C = 1).
LINEAR_L2 = 1.0
#: Sequence lengths the sequence heads are trained on for patch embeddings: the patches a scan takes
#: from a track (2 .. 8).
TRAIN_LENGTHS = (2, 8)


def fit_linear(sequences: Sequence[np.ndarray], labels: Sequence[int], n_genres: int,
               l2: float = LINEAR_L2, ftol: float | None = None) -> Head:
    """Logistic regression on each track's mean patch embedding, standardised.

    ``ftol``: stop once an L-BFGS step lowers the loss by less than this fraction (None: SciPy's
    default, 2.2e-9); a library of thousands of tracks is learned at 1e-6 in a third of the steps.
    """
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    x = np.stack([s.mean(axis=0) for s in sequences])
    shift, scale = standardiser([x])
    z = ((x - shift) * scale).astype(np.float64)
    y = np.asarray(labels)
    n, d = z.shape

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[: d * n_genres].reshape(d, n_genres), theta[d * n_genres:]
        logits = z @ w + b
        logp = logits - logsumexp(logits, axis=1, keepdims=True)
        p = np.exp(logp)
        p[np.arange(n), y] -= 1.0
        value = -logp[np.arange(n), y].sum() + 0.5 * l2 * np.sum(w * w)
        return value, np.concatenate([(z.T @ p + l2 * w).ravel(), p.sum(axis=0)])

    result = minimize(loss, np.zeros(d * n_genres + n_genres), jac=True, method="L-BFGS-B",
                      options={"maxiter": 1000, **({"ftol": ftol} if ftol else {})})
    w, b = result.x[: d * n_genres].reshape(d, n_genres), result.x[d * n_genres:]
    return make_head("linear", {"shift": shift, "scale": scale, "kernel": w, "bias": b})


def _subsequence(rng: np.random.Generator, seq: np.ndarray, length: int) -> np.ndarray:
    """``length`` steps of ``seq`` in time order (drawn with replacement when it has fewer)."""
    idx = np.sort(rng.choice(len(seq), size=length, replace=len(seq) < length))
    return seq[idx]


def _crop(rng: np.random.Generator, seq: np.ndarray, length: int) -> np.ndarray:
    """A random contiguous ``length`` steps of ``seq``."""
    start = int(rng.integers(0, len(seq) - length + 1))
    return seq[start:start + length]


def _batch(rng: np.random.Generator, seqs: list[np.ndarray], lengths: tuple[int, int] | None) -> np.ndarray:
    """One batch ``(b, n, dim)``: ordered sub-sequences of one random length in ``lengths``, or (None) the
    sequences whole, each cropped to the shortest."""
    if lengths is None:
        length = min(len(s) for s in seqs)
        return np.stack([_crop(rng, s, length) for s in seqs])
    length = int(rng.integers(lengths[0], lengths[1] + 1))
    return np.stack([_subsequence(rng, s, length) for s in seqs])


def fit_keras_head(kind: str, sequences: Sequence[np.ndarray], labels: Sequence[int], n_genres: int,
                   epochs: int = 60, batch_size: int = 16, learning_rate: float = 1e-3, seed: int = 0,
                   on_epoch: Callable[[int, dict], None] | None = None,
                   lengths: tuple[int, int] | None = TRAIN_LENGTHS) -> tuple[Head, dict]:
    """Train the Keras network of ``kind``; returns it as a NumPy head and the per-epoch loss and accuracy."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from musictag.audio.decode import quiet_native_stderr

    with quiet_native_stderr():
        import keras

    keras.utils.set_random_seed(seed)
    # Vector heads average over time first: standardising the steps by the spread of the means
    # standardises the means.
    fitted = [np.stack([s.mean(axis=0) for s in sequences])] if kind in VECTOR_HEADS else sequences
    shift, scale = standardiser(fitted)
    scaled = [((np.asarray(s, np.float32) - shift) * scale).astype(np.float32) for s in sequences]
    y = keras.utils.to_categorical(np.asarray(labels), n_genres)
    model = build_head_network(kind, scaled[0].shape[1], n_genres, learning_rate)

    # A plain loop of train_on_batch: each batch may have its own sequence length (Keras' fit() fixes
    # the shape it saw first); Keras retraces once for a new shape, then runs one relaxed trace.
    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(scaled))
        per_batch = []  # (loss, accuracy, size): train_on_batch reports each batch on its own
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            loss, accuracy = model.train_on_batch(_batch(rng, [scaled[j] for j in idx], lengths), y[idx])
            per_batch.append((float(loss), float(accuracy), len(idx)))
        values = np.asarray(per_batch)
        logs = {"loss": float(np.average(values[:, 0], weights=values[:, 2])),
                "accuracy": float(np.average(values[:, 1], weights=values[:, 2]))}
        for key, value in logs.items():
            history[key].append(value)
        if on_epoch:
            on_epoch(epoch, logs)
    return keras_to_head(model, shift, scale), history


def fit_head(kind: str, sequences: Sequence[np.ndarray], labels: Sequence[int], n_genres: int, epochs: int = 60,
             batch_size: int = 16, learning_rate: float = 1e-3, seed: int = 0,
             on_epoch: Callable[[int, dict], None] | None = None,
             lengths: tuple[int, int] | None = TRAIN_LENGTHS) -> tuple[Head, dict]:
    """Fit a head of ``kind`` (one of :data:`musictag.analysis.heads.HEADS`) on ``(n_i, dim)`` sequences.

    ``lengths``: each batch is ordered sub-sequences of one random length in that range (a track's
    patch embeddings); None: the sequences are segments, used whole (a batch of unequal ones is
    randomly cropped to its shortest). ``linear`` and ``rf`` read whole time-means either way. Returns
    the head and its per-epoch history ({} for heads fitted in closed form or by a solver).
    """
    if kind == "linear":
        return fit_linear(sequences, labels, n_genres), {}
    if kind == "rf":
        from musictag.training.forest_fit import fit_forest

        return fit_forest(sequences, labels, n_genres, seed), {}
    if kind in KERAS_HEADS:
        return fit_keras_head(kind, sequences, labels, n_genres, epochs, batch_size, learning_rate, seed, on_epoch,
                              lengths)
    raise ValueError(f"unknown head {kind!r}")
