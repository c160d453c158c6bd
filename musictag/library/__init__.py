"""The SQLite library and what is read from it: the database, the similarity index and search, listings, labels."""
