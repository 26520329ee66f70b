"""Loaded by pytest before Django (`-p tests.environment` in pyproject.toml).

The suite gets its own var/ folder (database, broker, mail) so it never touches the data of a
running `make run`, and the development allowlist so stub vendors on 127.0.0.1 can be called.
Worker processes started by the tests inherit this environment.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("MARKET_VAR_DIR", str(ROOT / "var" / "test"))
os.environ.setdefault("VENDOR_ALLOWED_PRIVATE_HOSTS", "127.0.0.1:*,localhost:*")
os.environ.setdefault("VENDOR_HTTP_ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("EMAIL_BACKEND", "file")
os.environ.setdefault("DEBUG", "true")
