"""Filter types the API's filter sets share."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from market.lib.months import month_parse

MAX_ID = 2**63 - 1


class IdFilter(django_filters.Filter):
    """An integer id; anything else is a 400 (not a silent empty result, not a database error)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class MonthField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return month_parse(value)
        except ValueError:
            raise ValidationError(_("Give a month as YYYY-MM, e.g. 2026-03.")) from None


class MonthFilter(django_filters.Filter):
    """`?month=2026-03`: rows of that month (stored as its first day)."""

    field_class = MonthField
