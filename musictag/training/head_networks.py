"""Keras networks for the sequence heads, and copying their weights into :mod:`musictag.analysis.heads`.

Every network reads a batch of standardised ``(n, dim)`` sequences of any length ``n`` >= 1, ends in
a layer named ``embedding`` (the head's ``embed``), then dropout and the dense softmax ``genres``.
Only layers the NumPy heads reproduce exactly are used (no batch normalisation). Keras is imported
inside the functions: importing this module does not load TensorFlow.
"""

from __future__ import annotations

import numpy as np

from musictag.analysis.heads import Head, make_head
from musictag.analysis.heads.conv import CONV_LAYERS
from musictag.analysis.heads.transformer import positional_frequencies

#: Heads trained in Keras (the rest: ``linear`` by SciPy, ``rf`` by scikit-learn).
KERAS_HEADS = ("mlp", "lstm-attention", "gru-attention", "cnn1d", "cnn2d", "transformer")
MLP_UNITS = (128, 64)
RNN_UNITS = 32
ATTENTION_UNITS = 32
#: Filters of each of the CONV_LAYERS convolutions.
CNN1D_FILTERS = (32, 64)
CNN2D_FILTERS = (8, 16)
D_MODEL = 32
TRANSFORMER_HEADS = 2
KEY_DIM = 16
FEED_FORWARD = 64


def _mlp(x):
    from keras import layers

    x = layers.GlobalAveragePooling1D(name="mean")(x)
    x = layers.Dropout(0.3)(layers.Dense(MLP_UNITS[0], activation="relu", name="hidden1")(x))
    return layers.Dense(MLP_UNITS[1], activation="relu", name="hidden2")(x)


def _recurrent_attention(cell):
    def body(x):
        from keras import layers, ops

        h = layers.Bidirectional(cell(RNN_UNITS, return_sequences=True), merge_mode="concat",
                                 name="recurrent")(layers.Dropout(0.2)(x))
        score = layers.Dense(1, use_bias=False, name="att_vector")(
            layers.Dense(ATTENTION_UNITS, activation="tanh", name="att")(h))
        alpha = layers.Softmax(axis=1)(score)
        return layers.Lambda(lambda t: ops.sum(t[0] * t[1], axis=1), name="pool")([alpha, h])
    return body


def _cnn1d(x):
    from keras import layers

    for i, filters in enumerate(CNN1D_FILTERS):
        x = layers.Conv1D(filters, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling1D(2, padding="same")(x)
    return layers.GlobalAveragePooling1D()(x)


def _cnn2d(x):
    from keras import layers

    x = layers.Reshape((-1, x.shape[-1], 1))(x)
    for i, filters in enumerate(CNN2D_FILTERS):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, padding="same")(x)
    # the mean over time only: where along the frequency axis a pattern sits is what tells genres apart
    from keras import ops

    return layers.Flatten()(layers.Lambda(lambda t: ops.mean(t, axis=1), name="time_mean")(x))


def _transformer(x):
    from keras import layers, ops

    frequencies = positional_frequencies(D_MODEL)

    def add_positions(t):
        angles = ops.expand_dims(ops.cast(ops.arange(ops.shape(t)[1]), "float32"), 1) * frequencies
        return t + ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=1)

    x = layers.Lambda(add_positions, name="positions")(layers.Dense(D_MODEL, name="proj")(x))
    attended = layers.MultiHeadAttention(TRANSFORMER_HEADS, KEY_DIM, name="attention")(x, x)
    x = layers.LayerNormalization(name="norm1")(x + attended)
    ff = layers.Dense(D_MODEL, name="ff2")(layers.Dense(FEED_FORWARD, activation="relu", name="ff1")(x))
    x = layers.LayerNormalization(name="norm2")(x + ff)
    return layers.GlobalAveragePooling1D()(x)


def _bodies():
    from keras import layers

    return {"mlp": _mlp, "lstm-attention": _recurrent_attention(layers.LSTM),
            "gru-attention": _recurrent_attention(layers.GRU), "cnn1d": _cnn1d, "cnn2d": _cnn2d,
            "transformer": _transformer}


def build_head_network(kind: str, dim: int, n_genres: int, learning_rate: float = 1e-3):
    """The compiled Keras model (softmax output) whose weights the NumPy head of ``kind`` runs."""
    import keras
    from keras import layers

    inp = keras.Input((None, dim), name="sequence")
    embedding = layers.Identity(name="embedding")(_bodies()[kind](inp))
    out = layers.Dense(n_genres, activation="softmax", name="genres")(layers.Dropout(0.3)(embedding))
    model = keras.Model(inp, out, name=kind.replace("-", "_"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _layers(model, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``{layer}_{variable}`` (kernel, bias, gamma, beta) of the named plain layers."""
    return {f"{name}_{v.name}": np.asarray(v) for name in names for v in model.get_layer(name).weights}


_CONVS = tuple(f"conv{i}" for i in range(CONV_LAYERS))


def _recurrent_weights(model) -> dict[str, np.ndarray]:
    bi = model.get_layer("recurrent")
    weights = _layers(model, ("att",))
    for side, layer in (("fw", bi.forward_layer), ("bw", bi.backward_layer)):
        weights.update(zip((f"{side}_kernel", f"{side}_recurrent", f"{side}_bias"), layer.get_weights(), strict=True))
    (weights["att_vector"],) = model.get_layer("att_vector").get_weights()
    return weights


def _transformer_weights(model) -> dict[str, np.ndarray]:
    attention = model.get_layer("attention")
    weights = _layers(model, ("proj", "norm1", "ff1", "ff2", "norm2"))
    for part in ("query", "key", "value", "output"):
        kernel, bias = getattr(attention, f"{part}_dense").get_weights()
        prefix = "out" if part == "output" else part
        weights.update({f"{prefix}_kernel": kernel, f"{prefix}_bias": bias})
    return weights


def keras_to_head(model, shift: np.ndarray, scale: np.ndarray) -> Head:
    """Copy a :func:`build_head_network` model's weights into the NumPy head of its kind."""
    kind = model.name.replace("_", "-")
    weights = {
        "mlp": lambda: _layers(model, ("hidden1", "hidden2")),
        "lstm-attention": lambda: _recurrent_weights(model),
        "gru-attention": lambda: _recurrent_weights(model),
        "cnn1d": lambda: _layers(model, _CONVS),
        "cnn2d": lambda: _layers(model, _CONVS),
        "transformer": lambda: _transformer_weights(model),
    }[kind]()
    kernel, bias = model.get_layer("genres").get_weights()
    return make_head(kind, {"shift": shift, "scale": scale, **weights, "kernel": kernel, "bias": bias})
