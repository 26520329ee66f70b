"""Usage collection records usage.collected and usage.rejected, one per report, in bulk."""

import pytest
import responses

from events.models import Event
from tests.monitoring.test_usage import GOOD_USAGE, answer, collect, live_tenant

pytestmark = pytest.mark.django_db


def test_collected_and_rejected_reports_are_in_the_log():
    good, bad = live_tenant(), live_tenant()
    with responses.RequestsMock() as mock:
        answer(mock, good)
        answer(mock, bad, usage_body={**GOOD_USAGE, "api_calls": -1})
        collect()
    collected = Event.objects.get(type="usage.collected")
    rejected = Event.objects.get(type="usage.rejected")
    assert (collected.tenant_id, collected.organization_id) == (good.pk, good.organization_id)
    assert collected.vendor_id == good.service.vendor_id
    assert collected.payload["usage_report"]["metrics"] == GOOD_USAGE
    assert rejected.tenant_id == bad.pk and "api_calls" in rejected.payload["usage_report"]["error"]
