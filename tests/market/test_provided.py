"""A lower layer's question answered by an app above it (market.lib.provided)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from market.lib.provided import Provided
from services import selectors as catalog
from tenants import selectors as lifecycle


def test_calling_what_no_app_provides_names_the_app_to_install():
    slot = Provided("example.question", provider="someapp")
    with pytest.raises(ImproperlyConfigured, match="add 'someapp' to INSTALLED_APPS"):
        slot(x=1)


def test_a_provided_function_is_called_with_the_arguments():
    slot = Provided("example.question", provider="someapp")
    slot.provide(lambda *, x: x + 1)
    assert slot(x=1) == 2


def test_the_lifecycle_app_answers_the_catalogs_questions():
    assert catalog.services_used_by._function is lifecycle.services_used_by
    assert catalog.plans_in_live_use._function is lifecycle.plans_in_live_use
