"""`plans.*.overage_prices` in the manifest: validated with precise errors, stored on the plan."""

from decimal import Decimal

from services.standard.manifest import plans_from_manifest
from tests.services.test_manifest_validation import FULL_MANIFEST, error_at, validate

WITH_OVERAGE = FULL_MANIFEST  # its premium plan declares {active_users: 1000, storage_gb: 500}


def test_overage_prices_are_read_into_the_plan():
    result = validate(WITH_OVERAGE)
    assert result.is_valid, [error.format() for error in result.errors]
    by_code = {spec.code: spec for spec in plans_from_manifest(result.data)}
    assert by_code["premium"].overage_prices == {
        "active_users": Decimal(1000),
        "storage_gb": Decimal(500),
    }


def test_a_negative_overage_price_is_refused_at_its_field():
    error = error_at(
        validate(WITH_OVERAGE.replace("active_users: 1000", "active_users: -1")),
        "/plans/premium/overage_prices/active_users",
    )
    assert "must be at least 0 (found -1)" in error.message
    assert "over max_users" in error.message


def test_an_unknown_overage_metric_is_refused_and_named():
    result = validate(WITH_OVERAGE.replace("storage_gb: 500", "api_calls: 5"))
    assert not result.is_valid
    assert any("overage_prices" in error.pointer for error in result.errors)
    error = error_at(result, "/plans/premium/overage_prices/api_calls")
    assert "is not a field of `/plans/premium/overage_prices`" in error.message
