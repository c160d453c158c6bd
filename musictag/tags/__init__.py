"""A user's tags: the genre field read and written safely, undone by restore, playlists."""
