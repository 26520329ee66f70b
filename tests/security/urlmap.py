"""Every URL of the market with a sample path that resolves to it (for tests that visit them all).

Each pattern is filled with sample values (``1`` for numbers, ``abc`` for names, the first
alternative of a regex choice) and kept only when the sample resolves back to the same view, so
a test that visits ``all_urls()`` visits each view once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import Resolver404, get_resolver, resolve
from django.urls.resolvers import RoutePattern, URLPattern, URLResolver

_SAMPLES = ("abc", "1")
_ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>(?:[^()]|\([^()]*\))*)\)")


@dataclass(frozen=True)
class Url:
    path: str
    name: str | None
    callback: object

    @property
    def view_class(self):
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)


def _route_sample(pattern: RoutePattern, word: str) -> str:
    def fill(match: re.Match) -> str:
        converter = type(pattern.converters.get(match.group("name"))).__name__
        return {"IntConverter": "1", "PathConverter": f"{word}/{word}"}.get(converter, word)

    return _ROUTE_PARAMETER.sub(fill, str(pattern))


def _regex_sample(regex: str, word: str) -> str:
    def fill(match: re.Match) -> str:
        first = match.group("body").split("|")[0].replace("\\.", ".")
        return first if re.fullmatch(r"[\w.-]+", first) else word

    text = _REGEX_GROUP.sub(fill, regex)
    text = re.sub(r"\(\?:[^)]*\)\??", "", text)
    text = text.lstrip("^").removesuffix("\\Z").removesuffix("$")
    return text.replace(".*", word).replace("\\.", ".").replace("\\-", "-")


def _sample(pattern, word: str) -> str:
    if isinstance(pattern, RoutePattern):
        return _route_sample(pattern, word)
    return _regex_sample(pattern._regex, word)


def _same_view(path: str, entry: URLPattern) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.func is entry.callback


def _walk(patterns, prefixes: tuple[str, ...]):
    for entry in patterns:
        parts = {prefix + _sample(entry.pattern, word) for prefix in prefixes for word in _SAMPLES}
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, tuple(sorted(parts)))
            continue
        for path in sorted("/" + part for part in parts):
            if _same_view(path, entry):
                yield Url(path=path, name=entry.name, callback=entry.callback)
                break
        else:
            yield Url(path="", name=entry.name, callback=entry.callback)


def all_urls() -> tuple[list[Url], list[Url]]:
    """(every URL with a sample path, the patterns no sample could reach)."""
    reached, unreached = [], []
    for url in _walk(get_resolver().url_patterns, ("",)):
        (reached if url.path else unreached).append(url)
    return reached, unreached
