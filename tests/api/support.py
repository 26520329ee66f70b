"""Helpers of the API tests: a JSON client with a bearer token, and problem assertions."""

from __future__ import annotations

import datetime
import json

from django.test import Client
from django.utils import timezone

API = "/api/v1"


class ApiClient:
    """The Django test client speaking JSON with a bearer token (or none)."""

    def __init__(self, token: str | None = None, client: Client | None = None):
        self.token = token
        self.client = client or Client()

    def _headers(self, headers: dict | None) -> dict:
        result = {"HTTP_ACCEPT_LANGUAGE": "en"}
        if self.token:
            result["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        for name, value in (headers or {}).items():
            result["HTTP_" + name.upper().replace("-", "_")] = value
        return result

    def get(self, path: str, params: dict | None = None, headers: dict | None = None):
        return self.client.get(path, params or {}, **self._headers(headers))

    def post(self, path: str, data=None, *, content_type="application/json", headers=None):
        body = data if isinstance(data, str | bytes) else json.dumps({} if data is None else data)
        return self.client.generic(
            "POST", path, body, content_type=content_type, **self._headers(headers)
        )

    def patch(self, path: str, data=None, *, content_type="application/json", headers=None):
        body = data if isinstance(data, str | bytes) else json.dumps(data or {})
        return self.client.generic(
            "PATCH", path, body, content_type=content_type, **self._headers(headers)
        )

    def delete(self, path: str, headers=None):
        return self.client.delete(path, **self._headers(headers))


def problem_of(response) -> dict:
    """The problem body, after checking the response is one."""
    assert response["Content-Type"] == "application/problem+json", response.content[:300]
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "errors"}
    assert body["status"] == response.status_code
    return body


def ids(response) -> set:
    return {row["id"] for row in response.json()["results"]}


def next_year() -> str:
    return (timezone.localdate() + datetime.timedelta(days=365)).isoformat()
