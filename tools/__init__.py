"""Build tools of the repository (not part of the running market)."""
