"""Vendor answers are data, never markup: the one check of every URL a vendor answer carries.

A vendor's answer may hand the market URLs (``access_url`` in an activate or status answer,
any other ``*_url`` member a later answer adds). The market stores them, shows them to
schools as links and returns them to integrators, so each one must be an absolute ``https``
URL (plain ``http`` only for the development hosts of ``VENDOR_HTTP_ALLOWED_HOSTS``), with a
host, no user name or password, no whitespace or control characters and at most
``MAX_URL_CHARS`` characters. ``javascript:``, ``data:``, relative and protocol-relative URLs
are refused.

``VendorClient`` applies this to every 2xx answer it reads, after the response schema: an
answer that breaks it is an ``invalid_body`` outcome (an unclear answer: never final, retried,
its reason recorded on the operation) and nothing it carries is stored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from services.standard.manifest import http_url_allowed

MAX_URL_CHARS = 500  # Tenant.access_url's length: a longer URL would be cut, so it is refused
MAX_DEPTH = 4


def _url_members(
    body: Any, path: tuple[str, ...] = (), depth: int = 0
) -> Iterator[tuple[str, Any]]:
    if depth > MAX_DEPTH:
        return
    if isinstance(body, dict):
        for key, value in body.items():
            name = str(key)
            where = (*path, name)
            if name == "url" or name.endswith("_url"):
                yield ".".join(where), value
            elif isinstance(value, dict | list):
                yield from _url_members(value, where, depth + 1)
    elif isinstance(body, list):
        for index, value in enumerate(body[:100]):
            yield from _url_members(value, (*path, str(index)), depth + 1)


def url_problem(value: Any, *, http_allowed_hosts: Collection[str] | None = None) -> str | None:
    """Why ``value`` may not be used as a link the market shows, or None when it may."""
    if http_allowed_hosts is None:
        http_allowed_hosts = tuple(settings.VENDOR_HTTP_ALLOWED_HOSTS or ())
    if not isinstance(value, str):
        return f"is not a string ({type(value).__name__})"
    shown = repr(value[:80])
    if len(value) > MAX_URL_CHARS:
        return f"is longer than {MAX_URL_CHARS} characters"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return f"contains whitespace or control characters ({shown})"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"has an invalid host or port ({shown})"
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        found = f"the scheme {scheme!r}" if scheme else "no scheme"
        return f"must be an https URL, found {found} ({shown})"
    if not parts.hostname:
        return f"has no host ({shown})"
    if parts.username is not None or parts.password is not None:
        return f"must not carry a user name or password ({parts.hostname})"
    if scheme == "http" and not http_url_allowed(value, http_allowed_hosts):
        allowed = ", ".join(sorted(http_allowed_hosts)) or "none"
        return (
            f"must use https: plain http is accepted only for the development hosts the market "
            f"allows ({allowed}), found {shown}"
        )
    return None


def answer_url_problem(body: Any) -> str | None:
    """The first URL member of a vendor answer that may not be used, with why; None if all may."""
    for where, value in _url_members(body):
        if value is None:
            continue  # an absent optional URL written as null
        problem = url_problem(value)
        if problem:
            return f"{where} {problem}"
    return None
