"""KELI TUTOR's market functions mounted in a Django project (WSGI).

In a real project the two lines at the bottom go in ``<project>/wsgi.py``. Serve with any WSGI
server, e.g. ``gunicorn django_site:application`` (run from examples/frameworks with
examples/keli_tutor and the repository root on PYTHONPATH).
"""

import os

import django
import tutor
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path
from market_api import market_adapter

from vendorkit.adapter import StandardWSGIMiddleware

DATABASE = os.environ.get("KELI_DB", "keli_tutor.sqlite3")
with tutor.connect(DATABASE) as db:  # the tutor's own tables, as its Flask app makes them
    db.executescript(tutor.SCHEMA)


def home(request):  # the project's own pages stay as they are
    return HttpResponse("KELI TUTOR on Django")


settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret"),
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
)
django.setup()
urlpatterns = [path("", home)]

application = StandardWSGIMiddleware(get_wsgi_application(), market_adapter(DATABASE))
