"""Loaded by pytest before Django (`-p tests.environment` in pyproject.toml).

Each test run gets its own var/ folder (SQLite database, broker, mail), removed at the end, so
it never touches the data of a running `make run` nor collides with another test run.
Stub vendors on 127.0.0.1 are allowlisted. Worker processes started by the tests inherit
this environment.
"""

import atexit
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if "MARKET_VAR_DIR" not in os.environ:
    run_dir = ROOT / "var" / "test" / f"run-{os.getpid()}"
    os.environ["MARKET_VAR_DIR"] = str(run_dir)
    atexit.register(shutil.rmtree, run_dir, ignore_errors=True)
os.environ.setdefault("VENDOR_ALLOWED_PRIVATE_HOSTS", "127.0.0.1:*,localhost:*")
os.environ.setdefault("VENDOR_HTTP_ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("EMAIL_BACKEND", "file")
os.environ.setdefault("DEBUG", "true")
