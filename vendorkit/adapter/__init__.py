"""Add the Service Market's standard API to an existing web application.

The vendor writes plain functions over its own data; ``StandardAdapter`` serves the standard's
endpoints around them (verification of every scheme the market sends, the timestamp window,
idempotency by request id, the exact bodies and error answers, health, the 202 pattern), and
``StandardWSGIMiddleware`` / ``StandardASGIMiddleware`` mount it in Flask, Django, Starlette or
FastAPI. See docs/standard/quickstart.md.

Needs PyPI ``http-message-signatures`` (RFC 9421); never imports the market.
"""

from vendorkit.adapter.asgi import StandardASGIMiddleware
from vendorkit.adapter.core import HttpRequest, HttpResponse, StandardAdapter
from vendorkit.adapter.results import (
    Activated,
    Activation,
    Deactivated,
    Pending,
    TenantPurged,
    TenantStatus,
    VendorRefusal,
)
from vendorkit.adapter.stores import MemoryStore, RedisStore, SQLStore
from vendorkit.adapter.verify import jwt_bearer_verifier
from vendorkit.adapter.wsgi import StandardWSGIMiddleware

__all__ = [
    "Activated",
    "Activation",
    "Deactivated",
    "HttpRequest",
    "HttpResponse",
    "MemoryStore",
    "Pending",
    "RedisStore",
    "SQLStore",
    "StandardASGIMiddleware",
    "StandardAdapter",
    "StandardWSGIMiddleware",
    "TenantPurged",
    "TenantStatus",
    "VendorRefusal",
    "jwt_bearer_verifier",
]
