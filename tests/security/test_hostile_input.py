"""Hostile input: whatever a vendor submits, the market answers with a result, never a crash.

- The property-based tests of the manifest parser and validator
  (``tests/services/test_manifest_properties.py``) run at least 1,000 documents in the normal
  run with no exception escaping; this file counts them.
- YAML alias bombs and Python tags are refused when submitted through the market's own entry
  point, and leave stored data as it was. How fast they are refused is a performance claim:
  ``python -m tests.security.bench_hostile_yaml`` prints it; no test here times anything.
"""

from __future__ import annotations

import pytest

from services.models import Manifest, Service
from services.services import RegistrationError, service_register
from tests.factories import VendorFactory
from tests.security.hostile_documents import billion_laughs, deep_nesting, python_tag
from tests.services import test_manifest_properties as properties

pytestmark = pytest.mark.django_db


def test_the_property_tests_validate_at_least_1000_documents_and_nothing_escapes(monkeypatch):
    validated = []
    real = properties.validate_manifest_text

    def counting(text, **options):
        result = real(text, **options)  # an exception here fails the property test, and this
        validated.append(result.is_valid)
        return result

    monkeypatch.setattr(properties, "validate_manifest_text", counting)

    properties.test_mutated_seed_manifests_always_get_a_result()
    properties.test_random_documents_always_get_a_result()

    assert len(validated) >= 1000, len(validated)
    # Both outcomes occur, so the run explores the rules rather than one kind of rubbish.
    assert True in validated and False in validated


def _refused(raw_text: str) -> RegistrationError:
    vendor = VendorFactory()
    with pytest.raises(RegistrationError) as refused:
        service_register(vendor=vendor, raw_text=raw_text)
    assert Service.objects.count() == 0
    kept = Manifest.objects.get(vendor=vendor)  # kept so the vendor sees what it sent
    assert kept.is_valid is False and kept.data is None
    return refused.value


def test_an_alias_bomb_submitted_as_a_manifest_is_refused_at_its_first_alias():
    refused = _refused(billion_laughs())

    [error] = refused.errors
    assert "YAML aliases (*name) are not allowed" in error.message
    assert error.line == 2


def test_a_small_alias_bomb_is_refused_for_its_alias_not_for_its_size():
    # Small enough to expand harmlessly: the refusal must come from the alias rule itself.
    refused = _refused(billion_laughs(levels=2, width=3))

    assert "YAML aliases (*name) are not allowed" in refused.errors[0].message


def test_a_python_tag_submitted_as_a_manifest_runs_nothing_and_is_refused(tmp_path):
    target = tmp_path / "created-by-yaml"

    refused = _refused(python_tag(str(target)))

    assert not target.exists()
    assert "!!python/object/apply:os.mkdir is not allowed" in refused.errors[0].message


def test_deep_nesting_is_refused_without_a_crash():
    refused = _refused(deep_nesting())

    assert refused.errors[0].message
