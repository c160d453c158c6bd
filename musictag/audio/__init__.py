"""A user's audio file: opened once, checked (content, truncation), decoded to mono PCM."""
