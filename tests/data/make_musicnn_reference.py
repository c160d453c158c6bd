"""Make ``tests/data/musicnn_reference.npz``: musicnn's own MSD network on four real patches.

How the committed file was made (run once, outside the project's environment)::

    /work/side/tf215/bin/python tests/data/make_musicnn_reference.py \\
        /work/side/mnn /work/shared/data/gtzan-mini tests/data/musicnn_reference.npz

with Python 3.11.7, TensorFlow 2.15.1 (``TF_ENABLE_ONEDNN_OPTS=0``, set by this script), NumPy 1.26.4
and librosa 0.10.2. ``/work/side/mnn`` is the PyPI wheel ``musicnn-0.1.0-py3-none-any.whl``
unpacked (``pip download musicnn==0.1.0 --no-deps``; the ``musicnn`` package itself is not
installed, the folder is put on ``sys.path``) and ``/work/shared/data/gtzan-mini`` holds GTZAN clips
as ``<genre>/<genre>.0000N.wav``.

For each of ``classical.00000``, ``metal.00000``, ``hiphop.00000`` and ``jazz.00000`` the first
187-frame patch of the clip is taken from::

    y, _ = librosa.load(path, sr=16000)               # mono
    mel = librosa.feature.melspectrogram(y=y, sr=16000, hop_length=256, n_fft=512, n_mels=96).T
    patch = np.log10(10000 * mel.astype(np.float32) + 1)[:187]

(float32 throughout, unlike musicnn's extractor, which casts the mel to float16 first). The
patches go through musicnn's *own* ``models.define_model(x, is_training, 'MSD_musicnn', 50)`` in
TF1 graph mode, restored from the wheel's ``MSD_musicnn`` checkpoint with
``tf.compat.v1.train.Saver`` exactly as ``musicnn/extractor.py`` does, fed with
``is_training=False``.

Keys of the compressed npz:

- ``patches`` (4, 187, 96) float32: the log-mel patches fed to the network;
- ``embedding`` (4, 200) float32: the ``penultimate`` output (``batch_normalization_10``);
- ``tags`` (4, 50) float32: ``sigmoid(logits)``, in ``configuration.MSD_LABELS`` order;
- ``clips`` (4,) str: the clip names.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

CLIPS = ("classical.00000", "metal.00000", "hiphop.00000", "jazz.00000")
N_FRAMES = 187


def log_mel_patch(path: Path) -> np.ndarray:
    """The first 187-frame musicnn log-mel patch of ``path``, float32 (187, 96)."""
    import librosa

    y, sr = librosa.load(str(path), sr=16000)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, hop_length=256, n_fft=512, n_mels=96).T
    log_mel = np.log10(np.float32(10000) * mel.astype(np.float32) + np.float32(1)).astype(np.float32)
    if log_mel.shape[0] < N_FRAMES:
        raise ValueError(f"{path} is shorter than one patch")
    return log_mel[:N_FRAMES]


def run_musicnn(musicnn_dir: Path, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run musicnn's own MSD_musicnn graph on ``patches``; return (embedding, tags)."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    sys.path.insert(0, str(musicnn_dir))
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    from musicnn import configuration as config
    from musicnn import models

    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        outputs = models.define_model(x, is_training, "MSD_musicnn", len(config.MSD_LABELS))
        logits, penultimate = outputs[0], outputs[-1]
        tags = tf.nn.sigmoid(logits)
    sess = tf.compat.v1.Session()
    sess.run(tf.compat.v1.global_variables_initializer())
    saver = tf.compat.v1.train.Saver()
    saver.restore(sess, str(musicnn_dir / "musicnn" / "MSD_musicnn") + "/")
    embedding, tag_values = sess.run([penultimate, tags], feed_dict={x: patches, is_training: False})
    sess.close()
    return np.asarray(embedding, np.float32), np.asarray(tag_values, np.float32)


def main(argv: list[str]) -> None:
    """Command line: MUSICNN_DIR GTZAN_MINI_DIR OUT_NPZ."""
    musicnn_dir, gtzan_dir, out = Path(argv[0]), Path(argv[1]), Path(argv[2])
    patches = np.stack([log_mel_patch(gtzan_dir / c.split(".")[0] / f"{c}.wav") for c in CLIPS]).astype(np.float32)
    assert np.isfinite(patches).all()
    embedding, tags = run_musicnn(musicnn_dir, patches)
    assert embedding.shape == (len(CLIPS), 200) and tags.shape == (len(CLIPS), 50)
    np.savez_compressed(out, patches=patches, embedding=embedding, tags=tags, clips=np.array(CLIPS))
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    for clip, row in zip(CLIPS, tags, strict=True):
        print(clip, np.round(row[:12], 3))


if __name__ == "__main__":
    main(sys.argv[1:])
