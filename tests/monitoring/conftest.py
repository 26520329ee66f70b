"""Fixtures of the monitoring tests."""

from __future__ import annotations

import pytest

from bench.stubs import StubVendors
from market.models import MarketPolicy
from tests.monitoring.helpers import STAFF_ALERTS


@pytest.fixture(autouse=True)
def _monitoring_settings(settings):
    settings.MARKET_STAFF_ALERT_EMAILS = STAFF_ALERTS
    # English, so assertions on wording keep passing once Korean translations arrive.
    settings.LANGUAGE_CODE = "en"
    # The factories set passwords; the production hasher costs ~1 s per user here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MARKET_BASE_URL = "https://market.test"


@pytest.fixture
def policy(db):
    return MarketPolicy.load()


@pytest.fixture
def stub_vendors():
    """Start stub health endpoints on loopback ports; every one started is stopped afterwards."""
    created = []

    def start(**options) -> StubVendors:
        stubs = StubVendors(ports=options.pop("ports", 2), **options).start_in_thread()
        created.append(stubs)
        return stubs

    yield start
    for stubs in created:
        stubs.stop()
