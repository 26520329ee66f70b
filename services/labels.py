"""Display labels for catalog codes (features, categories): a school never sees a slug.

The labels are English source strings translated through the market's catalogs (`locale/`), so
the Korean page says `AI 채팅` where the manifest says `ai_chat`. A code without a label is shown
with its underscores and hyphens as spaces, never as the bare slug.
"""

from django.utils.translation import gettext_lazy as _

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


def feature_label(code: str) -> str:
    return str(FEATURE_LABELS.get(code) or _fallback(code))


def category_label(code: str) -> str:
    return str(CATEGORY_LABELS.get(code) or _fallback(code))


def metric_unit(code: str) -> str:
    return str(METRIC_UNITS.get(code) or _fallback(code))
