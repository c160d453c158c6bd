"""musictag: genres and similarity for a music library, straight from the audio."""

__version__ = "0.1.0"
