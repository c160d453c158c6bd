"""Keras builders for the genre networks, all behind one interface: ``build(arch, n_genres)``.

Every builder takes windows shaped ``(44, 216, 1)`` (already scaled) and returns a model whose
output is the softmax over genres; the layer named ``embedding`` (the one just before softmax)
is the vector used for similarity. Imported only by training: it pulls in TensorFlow.

- ``cnn``: the seed study's CNN (3 x [Conv 3x3, BatchNorm, MaxPool 2x2, Dropout], Dense 128).
- ``crnn``: the seed study's CRNN (same convolutions, 2 x BiLSTM, Dense embedding).
- ``linear``: logistic regression on each window's per-row mean and standard deviation.
- ``crnn-stats``: the shipped default; few filters, one BiGRU, and a statistics-pooling path
  beside it, which small training sets need (see the README's ablation).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

from musictag.analysis.features import N_FEATURES, WINDOW_FRAMES

INPUT_SHAPE = (N_FEATURES, WINDOW_FRAMES, 1)


@keras.saving.register_keras_serializable(package="musictag")
class StatsPooling(layers.Layer):
    """Per-row mean and standard deviation over time: ``(44, 216, 1)`` -> ``(88,)``."""

    def call(self, x):
        x = keras.ops.squeeze(x, axis=-1)
        mean = keras.ops.mean(x, axis=-1)
        var = keras.ops.mean(keras.ops.square(x - keras.ops.expand_dims(mean, -1)), axis=-1)
        return keras.ops.concatenate([mean, keras.ops.sqrt(var + 1e-6)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * input_shape[1])


def _conv_stack(x, filters: tuple[int, ...], dropout: float, norm_after_pool: bool = False,
                momentum: float = 0.9):
    """The study's blocks: Conv 3x3 (ReLU), BatchNorm, MaxPool 2x2, Dropout.

    ``norm_after_pool`` normalises the pooled map instead (a quarter of the work, same role).
    ``momentum`` is that of BatchNorm's moving statistics: the study's networks need 0.9 on a
    small collection (with Keras' 0.99 their statistics are still near the initial values after
    the few hundred steps gtzan-mini gives, and at inference they stay at chance while training
    accuracy rises); the shipped ``crnn-stats`` measured better with 0.99 (README ablation).
    """
    for f in filters:
        x = layers.Conv2D(f, 3, padding="same", activation="relu")(x)
        if norm_after_pool:
            x = layers.BatchNormalization(momentum=momentum)(layers.MaxPooling2D(2)(x))
        else:
            x = layers.MaxPooling2D(2)(layers.BatchNormalization(momentum=momentum)(x))
        x = layers.Dropout(dropout)(x)
    return x


def _to_sequence(x):
    """(features, time, channels) -> (time, features * channels), for the recurrent layers."""
    _, h, w, c = x.shape
    x = layers.Permute((2, 1, 3))(x)
    return layers.Reshape((w, h * c))(x)


def _head(x, n_genres: int, width: int, dropout: float) -> tuple:
    emb = layers.Dense(width, activation="relu", name="embedding")(x)
    x = layers.Dropout(dropout)(emb)
    return layers.Dense(n_genres, activation="softmax", name="genres")(x)


def build_cnn(n_genres: int) -> keras.Model:
    """The seed study's CNN."""
    inp = keras.Input(INPUT_SHAPE, name="features")
    x = layers.Flatten()(_conv_stack(inp, (16, 32, 64), 0.25))
    return keras.Model(inp, _head(x, n_genres, 128, 0.5), name="cnn")


def build_crnn(n_genres: int) -> keras.Model:
    """The seed study's CRNN: convolutions, two bidirectional LSTMs, a dense embedding."""
    inp = keras.Input(INPUT_SHAPE, name="features")
    x = _to_sequence(_conv_stack(inp, (16, 32, 64), 0.25))
    # unroll=True: a rolled LSTM does not convert to builtin TFLite ops with a dynamic batch.
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True, unroll=True))(x)
    x = layers.Bidirectional(layers.LSTM(64, unroll=True))(x)
    return keras.Model(inp, _head(x, n_genres, 128, 0.5), name="crnn")


def build_linear(n_genres: int) -> keras.Model:
    """Logistic regression on per-row mean and std of the window (88 numbers)."""
    inp = keras.Input(INPUT_SHAPE, name="features")
    stats = layers.BatchNormalization(name="embedding")(StatsPooling()(inp))
    out = layers.Dense(n_genres, activation="softmax", name="genres",
                       kernel_regularizer=keras.regularizers.l2(1e-3))(stats)
    return keras.Model(inp, out, name="linear")


def build_crnn_stats(n_genres: int) -> keras.Model:
    """Small CRNN with a statistics-pooling path beside the recurrent one (the shipped default)."""
    inp = keras.Input(INPUT_SHAPE, name="features")
    x = _to_sequence(_conv_stack(inp, (8, 16, 32), 0.3, norm_after_pool=True, momentum=0.99))
    x = layers.Bidirectional(layers.GRU(32, unroll=True))(x)
    x = layers.Dropout(0.3)(x)
    # the 88 statistics differ in scale by orders of magnitude (means vs spreads): normalise them
    stats = layers.BatchNormalization()(StatsPooling()(inp))
    x = layers.Concatenate()([x, stats])
    return keras.Model(inp, _head(x, n_genres, 64, 0.5), name="crnn-stats")


ARCHITECTURES: dict[str, Callable[[int], keras.Model]] = {
    "cnn": build_cnn,
    "crnn": build_crnn,
    "linear": build_linear,
    "crnn-stats": build_crnn_stats,
}


def build(arch: str, n_genres: int, learning_rate: float = 1e-3) -> keras.Model:
    """Build and compile architecture ``arch`` for ``n_genres`` classes (Adam, cross-entropy)."""
    model = ARCHITECTURES[arch](n_genres)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def with_embedding(model: keras.Model) -> keras.Model:
    """The same network with two outputs: genre probabilities and the embedding."""
    return keras.Model(model.inputs, [model.output, model.get_layer("embedding").output])
