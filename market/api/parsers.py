"""Request body parsers that refuse oversized bodies (413) before reading them into memory.

DRF reads the request stream itself and so skips Django's DATA_UPLOAD_MAX_MEMORY_SIZE check;
these parsers apply it, so a huge body is a 413 problem and never a 500 or a memory spike.
"""

import json

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from market.api.exceptions import PayloadTooLarge


def read_bounded(stream, parser_context: dict | None) -> bytes:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    request = (parser_context or {}).get("request")
    if limit is not None and request is not None:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise PayloadTooLarge(_("The body may be at most %(n)s bytes.") % {"n": limit})
    data = stream.read(limit + 1 if limit is not None else -1)
    if limit is not None and len(data) > limit:
        raise PayloadTooLarge(_("The body may be at most %(n)s bytes.") % {"n": limit})
    return data


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class BoundedJSONParser(BaseParser):
    """application/json, strict (no NaN/Infinity), with the size limit."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = read_bounded(stream, parser_context)
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(_("The body is not valid %(enc)s text.") % {"enc": encoding}) from None
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as error:
            raise ParseError(
                _("The body is not valid JSON: %(error)s") % {"error": error}
            ) from None


class _ManifestTextParser(BaseParser):
    """A manifest submitted as the raw body; returned as bytes for the manifest validator.

    The validator reads YAML 1.2's JSON subset too, so a JSON manifest goes the same way.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        return read_bounded(stream, parser_context)


class YamlManifestParser(_ManifestTextParser):
    media_type = "application/yaml"


class TextYamlManifestParser(_ManifestTextParser):
    media_type = "text/yaml"


class LegacyYamlManifestParser(_ManifestTextParser):
    media_type = "application/x-yaml"


class PlainTextManifestParser(_ManifestTextParser):
    media_type = "text/plain"


class JsonManifestParser(_ManifestTextParser):
    media_type = "application/json"


MANIFEST_PARSERS = [
    YamlManifestParser,
    TextYamlManifestParser,
    LegacyYamlManifestParser,
    PlainTextManifestParser,
    JsonManifestParser,
]


def manifest_text_of(request) -> bytes:
    """The raw manifest of a request parsed with MANIFEST_PARSERS (an empty body gives b"")."""
    data = request.data
    return data if isinstance(data, bytes) else b""
