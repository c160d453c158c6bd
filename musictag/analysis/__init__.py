"""From PCM to genres: log-mel patches, the pretrained backbone, the heads, the models that combine them."""
