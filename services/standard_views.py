"""The published standard: its pages rendered from docs/standard/*.md, its raw files, and the
market's public signing keys. All public: a vendor reads them before it has an account.

Markdown is rendered with raw HTML switched off (any HTML in a page is shown as text) and with
links rewritten: ``outcomes.md`` becomes the outcomes page, ``schemas/x.schema.json`` the raw
schema, and a link with any scheme but http, https or mailto is dropped.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import markdown
from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe
from markdown.extensions import Extension
from markdown.extensions.toc import slugify_unicode
from markdown.treeprocessors import Treeprocessor

from services.vendor_client.jwt_keys import public_jwks


def standard_dir() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "standard"


@dataclass(frozen=True)
class StandardPage:
    slug: str
    file_name: str
    title: str
    summary: str


PAGES = (
    StandardPage(
        "api",
        "README.md",
        _("The vendor API, standard v1"),
        _("Every endpoint, header, body and error a vendor service implements."),
    ),
    StandardPage(
        "manifest",
        "manifest.md",
        _("The manifest"),
        _("What manifest.yaml declares: endpoints, authentication, plans, isolation."),
    ),
    StandardPage(
        "signing",
        "signing.md",
        _("Signing requests"),
        _("How the market signs every request, with test vectors."),
    ),
    StandardPage(
        "outcomes",
        "outcomes.md",
        _("What the market does with each answer"),
        _("The outcome of every status code and body, retries included."),
    ),
    StandardPage(
        "lti",
        "lti.md",
        _("LTI 1.3 launches"),
        _(
            "Launching a service as an LTI 1.3 tool, and registering it by manifest or LTI Dynamic Registration."
        ),
    ),
    StandardPage(
        "conformance",
        "conformance.md",
        _("The conformance kit"),
        _("How to check a service against the standard, check by check."),
    ),
    StandardPage(
        "listing",
        "listing.md",
        _("Getting listed"),
        _("The listing checklist: required conformance checks, a price on every plan, approval."),
    ),
    StandardPage(
        "quickstart",
        "quickstart.md",
        _("Quickstart: wrap an existing service"),
        _("From a running web service to a listed one with vendorkit.adapter, step by step."),
    ),
)
PAGES_BY_SLUG = {page.slug: page for page in PAGES}
PAGES_BY_FILE = {page.file_name: page for page in PAGES}

# Raw files: a name in the URL maps to a file only when it is listed here (no path handling).
RAW_FOLDERS = {"schemas": ".schema.json", "examples": ".yaml"}
CONTENT_TYPES = {
    ".schema.json": "application/schema+json",
    ".yaml": "application/yaml",
}
SAFE_SCHEMES = ("http", "https", "mailto")
OPENAPI_FILES = ("openapi.yaml", "openapi.bundled.yaml")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def raw_files() -> dict[str, Path]:
    """Every raw file that may be served, by its name under /standard/ (read each time, so a
    new schema is served without a restart)."""
    root = standard_dir()
    # openapi.bundled.yaml: the same document with the schemas inlined (tools/openapi_bundle.py).
    files = {name: root / name for name in OPENAPI_FILES}
    for folder, suffix in RAW_FOLDERS.items():
        directory = root / folder
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            if path.is_file() and path.name.endswith(suffix) and _FILE_NAME.match(path.name):
                files[f"{folder}/{path.name}"] = path
    return {name: path for name, path in files.items() if path.is_file()}


def _content_type(name: str) -> str:
    for suffix, content_type in CONTENT_TYPES.items():
        if name.endswith(suffix):
            return f"{content_type}; charset=utf-8"
    return "text/plain; charset=utf-8"


# -- Markdown -------------------------------------------------------------------------------


class _LinkRewriter(Treeprocessor):
    """Points links between the standard's files at the market's URLs; drops unsafe ones."""

    def run(self, root: etree.Element) -> None:
        raw = raw_files()
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is None:
                    continue
                rewritten = _rewrite(value, raw)
                if rewritten is None:
                    del element.attrib[attribute]
                else:
                    element.set(attribute, rewritten)
            if element.tag == "table":
                element.set("class", "table")


def _rewrite(href: str, raw: dict[str, Path]) -> str | None:
    parts = urlsplit(href)
    if parts.scheme:
        return href if parts.scheme.lower() in SAFE_SCHEMES else None
    if not parts.path:
        return href  # "#fragment"
    path = parts.path.removeprefix("./")
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    if path in PAGES_BY_FILE:
        return reverse("standard-page", args=[PAGES_BY_FILE[path].slug]) + fragment
    if path in raw:
        return reverse("standard-raw", args=[path])
    if path.rstrip("/") in RAW_FOLDERS:
        return reverse("standard-index") + f"#{path.rstrip('/')}"
    return None  # a file the market does not publish


class _StandardLinks(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        # No raw HTML: what looks like a tag is shown as text.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_LinkRewriter(md), "standard_links", 1)


def render_markdown(text: str) -> str:
    converter = markdown.Markdown(
        extensions=["tables", "fenced_code", "toc", _StandardLinks()],
        extension_configs={"toc": {"slugify": slugify_unicode}},
        output_format="html",
    )
    return converter.convert(text)


@functools.lru_cache(maxsize=32)
def _rendered(path: str, modified: float) -> str:
    return render_markdown(Path(path).read_text(encoding="utf-8"))


def rendered_page(page: StandardPage) -> str | None:
    """The page's HTML, or None when its file does not exist (yet)."""
    path = standard_dir() / page.file_name
    try:
        modified = path.stat().st_mtime
    except OSError:
        return None
    return _rendered(str(path), modified)


def published_pages() -> list[StandardPage]:
    return [page for page in PAGES if (standard_dir() / page.file_name).is_file()]


# -- views ----------------------------------------------------------------------------------


@require_safe
def standard_index(request):
    files = raw_files()
    schemas = sorted(name for name in files if name.startswith("schemas/"))
    examples = sorted(name for name in files if name.startswith("examples/"))
    return render(
        request,
        "standard/index.html",
        {
            "pages": published_pages(),
            "has_openapi": "openapi.yaml" in files,
            "has_openapi_bundle": "openapi.bundled.yaml" in files,
            "schemas": [(name, name.split("/", 1)[1]) for name in schemas],
            "examples": [(name, name.split("/", 1)[1]) for name in examples],
        },
    )


@require_safe
def standard_page(request, slug: str):
    page = PAGES_BY_SLUG.get(slug)
    body = rendered_page(page) if page is not None else None
    if body is None:
        raise Http404("No such page of the standard.")
    return render(
        request,
        "standard/page.html",
        {"page": page, "body": body, "pages": published_pages()},
    )


@require_safe
@cache_control(public=True, max_age=300)
def standard_raw(request, name: str):
    path = raw_files().get(name)
    if path is None:
        raise Http404("No such file in the standard.")
    response = HttpResponse(path.read_bytes(), content_type=_content_type(name))
    # Public documents: schema tools and validators in browsers may fetch them.
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
@cache_control(public=True, max_age=300)
def jwks(request):
    """The market's public keys; vendors verify service and launch tokens with them."""
    response = JsonResponse(public_jwks())
    response["Access-Control-Allow-Origin"] = "*"
    return response
