"""Fitting a genre network on feature windows (TensorFlow), with mixup.

The network learns from single windows, pooled over the training tracks; a track's prediction is
its windows' combined by :func:`musictag.analysis.models.track_scores`, as at inference.
Imports TensorFlow (through :mod:`musictag.training.networks`) only inside :func:`fit_network`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from musictag.training.config import TrainConfig


def stack_windows(windows: Sequence[np.ndarray], labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Flatten per-track windows into ``(N, 44, 216)`` and their per-window labels."""
    x = np.concatenate(windows)
    y = np.concatenate([np.full(len(w), lab) for w, lab in zip(windows, labels, strict=True)])
    return x, y


def fit_network(cfg: TrainConfig, n_genres: int, train: tuple[np.ndarray, np.ndarray],
                val: tuple[np.ndarray, np.ndarray] | None,
                on_epoch: Callable[[int, dict], None] | None = None, fixed_epochs: int | None = None):
    """Train ``cfg.arch`` on scaled windows; early-stop on validation loss (best weights kept).

    With ``val`` None, trains for ``fixed_epochs``. Returns ``(model, history dict, best_epoch)``.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from musictag.audio.decode import quiet_native_stderr

    with quiet_native_stderr():  # TensorFlow's C++ start-up notices ignore TF_CPP_MIN_LOG_LEVEL
        import keras

        from musictag.training.networks import build

    keras.utils.set_random_seed(cfg.seed)
    model = build(cfg.arch, n_genres, cfg.learning_rate)
    x, y = train
    data = _MixupData(x, keras.utils.to_categorical(y, n_genres), cfg.batch_size, cfg.mixup, cfg.seed)
    callbacks = []
    if on_epoch:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: on_epoch(e + 1, logs)))
    if val is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience,
                                                       restore_best_weights=True))
        val_data = (val[0], keras.utils.to_categorical(val[1], n_genres))
        epochs = cfg.epochs
    else:
        val_data, epochs = None, fixed_epochs or cfg.epochs
    hist = model.fit(data, validation_data=val_data, epochs=epochs, verbose=0, callbacks=callbacks)
    history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}
    best = int(np.argmin(history["val_loss"])) + 1 if val is not None else epochs
    return model, history, best


class _MixupData:
    """Shuffled batches with mixup; built lazily so that keras is imported only when training."""

    def __new__(cls, x, y, batch_size, alpha, seed):
        import keras

        class MixupBatches(keras.utils.PyDataset):
            def __init__(self):
                super().__init__()
                self.rng = np.random.default_rng(seed)
                self.order = self.rng.permutation(len(x))

            def __len__(self):
                return int(np.ceil(len(x) / batch_size))

            def __getitem__(self, i):
                idx = self.order[i * batch_size:(i + 1) * batch_size]
                bx, by = x[idx], y[idx]
                if alpha > 0:
                    lam = self.rng.beta(alpha, alpha, size=(len(idx), 1)).astype(np.float32)
                    lam = np.maximum(lam, 1 - lam)
                    j = self.rng.permutation(len(idx))
                    bx = lam[:, :, None, None] * bx + (1 - lam[:, :, None, None]) * bx[j]
                    by = lam * by + (1 - lam) * by[j]
                return bx, by

            def on_epoch_end(self):
                self.order = self.rng.permutation(len(x))

        return MixupBatches()
