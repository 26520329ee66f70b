"""Load the standard's JSON Schemas from docs/standard/schemas/ (the single copy of each)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "standard" / "schemas"


@lru_cache(maxsize=32)
def load_schema(file_name: str) -> dict:
    """The parsed schema `docs/standard/schemas/<file_name>`; cached, do not mutate it."""
    return json.loads((SCHEMA_DIR / file_name).read_text(encoding="utf-8"))
