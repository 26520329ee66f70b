"""KELI TUTOR's market functions mounted in a Starlette application (ASGI; FastAPI the same way:
``app = StandardASGIMiddleware(FastAPI(...), adapter)``).

Serve with ``uvicorn starlette_app:app`` (run from examples/frameworks with examples/keli_tutor
and the repository root on PYTHONPATH).
"""

import os

import tutor
from market_api import market_adapter
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from vendorkit.adapter import StandardASGIMiddleware

DATABASE = os.environ.get("KELI_DB", "keli_tutor.sqlite3")
with tutor.connect(DATABASE) as db:  # the tutor's own tables, as its Flask app makes them
    db.executescript(tutor.SCHEMA)


async def home(request):  # the application's own pages stay as they are
    return PlainTextResponse("KELI TUTOR on Starlette")


app = StandardASGIMiddleware(Starlette(routes=[Route("/", home)]), market_adapter(DATABASE))
