"""The published standard (/standard/...) and the market's public keys (/.well-known/jwks.json).

Included at the site root by ``market/urls.py``; every page here is public.
"""

from django.urls import path, re_path

from services import standard_views

urlpatterns = [
    path("standard/", standard_views.standard_index, name="standard-index"),
    # Raw files: only these shapes of name reach the view, which then serves a name only when
    # it is one of the files that exist (no "..", no slashes inside a file name).
    re_path(
        r"^standard/(?P<name>openapi\.yaml|openapi\.bundled\.yaml|(?:schemas|examples)/[A-Za-z0-9][A-Za-z0-9_.-]*)$",
        standard_views.standard_raw,
        name="standard-raw",
    ),
    path("standard/<slug:slug>/", standard_views.standard_page, name="standard-page"),
    path(".well-known/jwks.json", standard_views.jwks, name="jwks"),
]
