"""``musictag map``: the library's embeddings drawn as a picture or a page."""
