"""A small browser for launch tests: the market through Django's test client, tools over HTTP.

It follows redirects and auto-submitting forms the way a browser does and records every URL it
visits, so a test can assert that no token ever appears in one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import requests
from django.test import Client
from django.urls import reverse

MARKET_HOST = "testserver"
# The start of a compact JWS (base64url of '{"'): a token that must never be in a URL.
JWT_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.")


@dataclass
class Page:
    url: str
    status: int
    text: str
    headers: dict


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append(
                {
                    "action": attributes.get("action", ""),
                    "method": attributes.get("method", "get").lower(),
                    "auto": "data-autosubmit" in attributes,
                    "fields": {},
                }
            )
        elif tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1]["fields"][attributes["name"]] = attributes.get("value", "")


def forms_of(text: str) -> list[dict]:
    parser = _FormParser()
    parser.feed(text)
    return parser.forms


class Browser:
    def __init__(self, client) -> None:
        self.client = client
        self.http = requests.Session()
        self.visited: list[str] = []

    def _market(self, method: str, url: str, data: dict | None) -> Page:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if method == "post":
            response = self.client.post(path, data=data or {})
        else:
            response = self.client.get(path)
        return Page(url, response.status_code, response.content.decode(), dict(response.items()))

    def _tool(self, method: str, url: str, data: dict | None) -> Page:
        response = self.http.request(method, url, data=data, allow_redirects=False, timeout=10)
        return Page(url, response.status_code, response.text, dict(response.headers))

    def request(self, method: str, url: str, data: dict | None = None, *, follow=True) -> Page:
        """Open ``url``, then follow redirects and auto-submitting forms until a page stays."""
        for _hop in range(20):
            self.visited.append(url)
            on_market = urlsplit(url).hostname in (MARKET_HOST, None)
            page = (self._market if on_market else self._tool)(method, url, data)
            if not follow:
                return page
            if page.status in (301, 302, 303, 307) and "Location" in page.headers:
                url = urljoin(url, page.headers["Location"])
                method, data = "get", None
                continue
            auto = [form for form in forms_of(page.text) if form["auto"]]
            if page.status == 200 and auto:
                form = auto[0]
                url = urljoin(url, form["action"])
                method, data = form["method"], dict(form["fields"])
                if method == "get":
                    url = f"{url}?{urlencode(data)}"
                    data = None
                continue
            return page
        raise AssertionError(f"more than 20 hops, last at {url}")

    def get(self, url: str, **kwargs) -> Page:
        return self.request("get", url, **kwargs)

    def post(self, url: str, data: dict, **kwargs) -> Page:
        return self.request("post", url, data, **kwargs)


def frame_url_for(client: Client, service_id: str, initiation_url: str) -> str:
    page = client.post(
        reverse("lti-vendor-register", args=[service_id]), {"initiation_url": initiation_url}
    )
    assert page.status_code == 200, page.content
    src = re.search(r'<iframe[^>]* src="([^"]+)"', page.content.decode())[1]
    return unescape(src)


def http_follow(
    session: requests.Session, url: str, *, data=None, visited: list
) -> requests.Response:
    """Follow redirects and auto-submitting forms over real HTTP, like a browser."""
    method = "post" if data is not None else "get"
    for _hop in range(20):
        visited.append(url)
        response = session.request(method, url, data=data, allow_redirects=False, timeout=10)
        if response.status_code in (302, 303) and "Location" in response.headers:
            url, method, data = (
                requests.compat.urljoin(url, response.headers["Location"]),
                "get",
                None,
            )
            continue
        auto = [form for form in forms_of(response.text) if form["auto"]]
        if response.status_code == 200 and auto:
            url, method, data = auto[0]["action"], "post", auto[0]["fields"]
            continue
        return response
    raise AssertionError("too many hops")
