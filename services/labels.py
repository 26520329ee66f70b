"""Display labels for catalog codes (features, categories): a school never sees a slug.

A code's label, in the reader's language, comes from the first of:
1. a `CatalogLabel` staff set in the admin (a correction wins over everything);
2. the `labels` section of the manifest of a service that uses the code;
3. the market's built-in labels below (English source strings translated through `locale/`);
4. the code with underscores and hyphens as spaces, capitalised — never the bare slug.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from services.models import CatalogLabel, Service

FEATURE_LABELS = {
    "ai_chat": _("AI chat"),
    "file_upload": _("File upload"),
    "rag": _("Answers from your documents"),
    "discussion": _("Discussion board"),
    "quiz": _("Quizzes"),
    "api_integration": _("API integration"),
    "analytics": _("Learning analytics"),
    "lti": _("LMS launch (LTI)"),
}
CATEGORY_LABELS = {
    "tutoring": _("Tutoring"),
    "ai": _("AI"),
    "assessment": _("Assessment"),
    "collaboration": _("Collaboration"),
    "analytics": _("Analytics"),
    "lms": _("Learning management"),
}
METRIC_UNITS = {
    "ai_tokens": _("AI token"),
    "api_calls": _("API call"),
    "storage_gb": _("GB of storage"),
    "active_users": _("active user"),
}


def _fallback(code: str) -> str:
    return code.replace("_", " ").replace("-", " ").strip().capitalize() or code


_BUILT_IN = {"features": FEATURE_LABELS, "categories": CATEGORY_LABELS}
_KIND_SECTION = {CatalogLabel.Kind.FEATURE: "features", CatalogLabel.Kind.CATEGORY: "categories"}


class LabelBook:
    """Labels for the codes of some services, looked up in the active language."""

    def __init__(self, *, staff: dict, manifests: dict):
        self._staff = staff
        self._manifests = manifests

    def _label(self, section: str, code: str) -> str:
        korean = (get_language() or "ko").startswith("ko")
        for source in (self._staff, self._manifests):
            found = source.get((section, code))
            if found:
                return found[0] if korean else found[1]
        return str(_BUILT_IN[section].get(code) or _fallback(code))

    def feature(self, code: str) -> str:
        return self._label("features", code)

    def category(self, code: str) -> str:
        return self._label("categories", code)


def label_book(services: Iterable[Service] = ()) -> LabelBook:
    """The labels for these services' codes: one query for the staff's labels."""
    staff = {
        (_KIND_SECTION[row.kind], row.code): (row.label_ko, row.label_en)
        for row in CatalogLabel.objects.all()
    }
    manifests: dict = {}
    for service in services:
        labels = service.manifest_data.get("labels") or {}
        for section in ("features", "categories"):
            for code, label in (labels.get(section) or {}).items():
                if isinstance(label, dict) and label.get("ko") and label.get("en"):
                    manifests.setdefault((section, code), (label["ko"], label["en"]))
    return LabelBook(staff=staff, manifests=manifests)


def feature_label(code: str) -> str:
    """The built-in label only (no staff or manifest labels): for text outside the catalog."""
    return str(FEATURE_LABELS.get(code) or _fallback(code))


def category_label(code: str) -> str:
    return str(CATEGORY_LABELS.get(code) or _fallback(code))


def metric_unit(code: str) -> str:
    return str(METRIC_UNITS.get(code) or _fallback(code))
