"""The training side: everything ``musictag train`` and ``musictag evaluate`` need and scanning does not.

Nothing here is imported by ``scan``, ``similar`` or ``info``. TensorFlow comes in only when a Keras
network is fitted or converted: :mod:`.networks` imports it, and is imported inside those functions.

- :mod:`.from_folder`: ``musictag train DIR`` end to end (features, split, fit, figures, model folder).
- :mod:`.from_library`: ``musictag train --from-library``: a head from the library's stored analyses.
- :mod:`.evaluation`: ``musictag evaluate``: held-out figures of a model folder on a labelled folder.
- :mod:`.labelled_tree`: the tracks of a ``<genre>/<track>`` folder.
- :mod:`.feature_sets`: the per-track arrays learned from (features, frame segments or patch embeddings), cached.
- :mod:`.augmentations`: the MP3 / loud renderings training tracks are also heard through.
- :mod:`.config`: what a ``musictag train DIR`` run fits, and how.
- :mod:`.metrics`: the held-out figures (accuracy, per-genre precision / recall / F1, confidence).
- :mod:`.splits`: track-level splits (random, k-fold, GTZAN's filtered lists, album-grouped k-fold).
- :mod:`.window_fit`: fitting a network on feature windows; :mod:`.networks`: the Keras builders.
- :mod:`.head_fit`: fitting heads on sequences (the backbone's patch embeddings, frame segments).
- :mod:`.learners`: the three kinds of thing ``musictag train DIR`` fits (window network, head on patches, head on
  frame segments), one interface.
- :mod:`.model_folders`: writing what was fitted as a model folder (network or head).
- :mod:`.plots`: the confusion matrix, learning curves and the UMAP map of held-out embeddings.
"""
