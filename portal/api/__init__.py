"""The API shell: the /api/ URLconf that mounts every app's routes, and the market's own endpoints."""
