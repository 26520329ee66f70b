"""WSGI entry point (gunicorn market.wsgi)."""

import os
import sys

from django.core.wsgi import get_wsgi_application

from market.lib.env import EnvError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "market.settings")
try:
    application = get_wsgi_application()
except EnvError as error:
    sys.stderr.write(f"Configuration error: {error}\n")
    sys.exit(2)
