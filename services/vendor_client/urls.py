"""The one builder of the standard's URLs: a manifest endpoint joined to the base URL.

Every caller that turns a manifest's ``endpoints`` into a URL (the vendor client, the health
probes' targets, the launch redirect, the access URL of a tenant) builds it here, so
``{tenant_id}`` is expanded and quoted, and base URL and path are joined, one way only.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

TENANT_PLACEHOLDER = "{tenant_id}"
# The founding document's usage path: called when usage reports are mandatory and a manifest
# declares no ``endpoints.usage_report`` of its own.
STANDARD_USAGE_PATH = "/mt/tenant/{tenant_id}/usage"


def endpoint_url(base_url: str, path: str) -> str:
    """A manifest endpoint's path joined to the service's base URL (one slash between)."""
    return f"{str(base_url).rstrip('/')}/{str(path).lstrip('/')}"


def standard_url(
    base_url: str,
    template: str,
    *,
    tenant_id: str | None = None,
    query: dict[str, str] | None = None,
) -> str:
    """The full URL of ``template`` under ``base_url``: ``{tenant_id}`` URL-quoted, ``query`` added.

    Raises ValueError when the template has ``{tenant_id}`` and no tenant id is given.
    """
    path = str(template)
    if TENANT_PLACEHOLDER in path:
        if tenant_id is None:
            raise ValueError(f"the endpoint {template!r} needs a tenant_id")
        path = path.replace(TENANT_PLACEHOLDER, quote(str(tenant_id), safe=""))
    url = endpoint_url(base_url, path)
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    return url
