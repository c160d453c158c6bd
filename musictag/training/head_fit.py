"""Fitting genre heads on tracks' backbone patch embeddings (the weights :mod:`musictag.heads` runs).

- ``linear``: NumPy/SciPy only (L-BFGS on the L2-penalised multinomial log-loss), no TensorFlow.
- ``gru-attention``: Keras (the ``train`` extra), trained on random ordered sub-sequences of each
  track's patches (2 to 8 of them, the number a scan sees), then copied into NumPy arrays.

Every training rendering of a track (plain and augmented) is one more example of its genre.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from musictag.heads import Head, make_head

#: L2 penalty of the linear head (on summed log-loss; scikit-learn's default C = 1).
LINEAR_L2 = 1.0
GRU_UNITS = 32
ATTENTION_UNITS = 32
#: Sequence lengths the GRU head is trained on: the patches a scan takes from a track (2 .. 8).
TRAIN_LENGTHS = (2, 8)


def standardiser(sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension shift and scale that standardise the patch embeddings of training tracks."""
    x = np.concatenate(sequences)
    return x.mean(axis=0).astype(np.float32), (1.0 / np.maximum(x.std(axis=0), 1e-6)).astype(np.float32)


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
    """``length`` patches of ``seq`` in time order (drawn with replacement when it has fewer)."""
    idx = np.sort(rng.choice(len(seq), size=length, replace=len(seq) < length))
    return seq[idx]


def build_gru_attention(dim: int, n_genres: int, learning_rate: float = 1e-3):
    """The Keras model whose weights :class:`musictag.heads.GruAttentionHead` runs."""
    import keras
    from keras import layers, ops

    inp = keras.Input((None, dim), name="patches")
    x = layers.Dropout(0.2)(inp)
    h = layers.Bidirectional(layers.GRU(GRU_UNITS, return_sequences=True), merge_mode="concat", name="bigru")(x)
    score = layers.Dense(1, use_bias=False, name="att_vector")(
        layers.Dense(ATTENTION_UNITS, activation="tanh", name="att")(h))
    alpha = layers.Softmax(axis=1)(score)
    context = layers.Lambda(lambda t: ops.sum(t[0] * t[1], axis=1), name="pool")([alpha, h])
    out = layers.Dense(n_genres, activation="softmax", name="genres")(layers.Dropout(0.3)(context))
    model = keras.Model(inp, out, name="gru_attention")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def keras_to_head(model, shift: np.ndarray, scale: np.ndarray) -> Head:
    """Copy a :func:`build_gru_attention` model's weights into a NumPy head."""
    bi = model.get_layer("bigru")
    fw_kernel, fw_recurrent, fw_bias = bi.forward_layer.get_weights()
    bw_kernel, bw_recurrent, bw_bias = bi.backward_layer.get_weights()
    att_kernel, att_bias = model.get_layer("att").get_weights()
    (att_vector,) = model.get_layer("att_vector").get_weights()
    kernel, bias = model.get_layer("genres").get_weights()
    return make_head("gru-attention", {
        "shift": shift, "scale": scale, "fw_kernel": fw_kernel, "fw_recurrent": fw_recurrent,
        "fw_bias": fw_bias, "bw_kernel": bw_kernel, "bw_recurrent": bw_recurrent, "bw_bias": bw_bias,
        "att_kernel": att_kernel, "att_bias": att_bias, "att_vector": att_vector, "kernel": kernel, "bias": bias})


def fit_gru_attention(sequences: Sequence[np.ndarray], labels: Sequence[int], n_genres: int, epochs: int = 60,
                      batch_size: int = 16, learning_rate: float = 1e-3, seed: int = 0,
                      on_epoch: Callable[[int, dict], None] | None = None) -> tuple[Head, dict]:
    """Train the GRU-attention head; returns it (as NumPy weights) and the loss history."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from musictag.audio import quiet_native_stderr

    with quiet_native_stderr():
        import keras

    keras.utils.set_random_seed(seed)
    shift, scale = standardiser(sequences)
    scaled = [((s - shift) * scale).astype(np.float32) for s in sequences]
    y = keras.utils.to_categorical(np.asarray(labels), n_genres)
    model = build_gru_attention(scaled[0].shape[1], n_genres, learning_rate)

    # A plain loop of train_on_batch: each batch has its own sequence length (Keras' fit() fixes the
    # shape it saw first), and there are only TRAIN_LENGTHS' few lengths to trace.
    rng = np.random.default_rng(seed)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(scaled))
        per_batch = []  # (loss, accuracy, size): train_on_batch reports each batch on its own
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            length = int(rng.integers(TRAIN_LENGTHS[0], TRAIN_LENGTHS[1] + 1))
            x = np.stack([_subsequence(rng, scaled[j], length) for j in idx])
            loss, accuracy = model.train_on_batch(x, y[idx])
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
    """Fit a head of ``kind`` (one of :data:`musictag.heads.HEADS`) on ``(n_i, dim)`` sequences.

    ``lengths``: each batch is ordered sub-sequences of one random length in that range (a track's
    patch embeddings); None: the sequences are fixed-length segments, used whole. Returns the head
    and its per-epoch history ({} for heads fitted in closed form or by a solver).
    """
    if kind == "linear":
        return fit_linear(sequences, labels, n_genres), {}
    if kind == "gru-attention":
        return fit_gru_attention(sequences, labels, n_genres, epochs, batch_size, learning_rate, seed, on_epoch)
    raise ValueError(f"unknown head {kind!r}")

