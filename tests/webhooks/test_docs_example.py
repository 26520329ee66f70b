"""docs/api.md's LMS receiver accepts a real delivery of tenant.activated, once."""

import importlib.util
from pathlib import Path

import pytest

from events.services import event_record
from tests.webhooks.conftest import make_endpoint
from webhooks import dispatch, signing
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "lms_receiver.py"


def _example():
    spec = importlib.util.spec_from_file_location("lms_receiver", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_documented_receiver_handles_tenant_activated(receiver, two_schools, capsys):
    subscription, _ = two_schools
    endpoint = make_endpoint(receiver.url, organization=subscription.organization)
    event = event_record(type="tenant.activated", tenant=subscription.tenant)
    [delivery_id] = dispatch.event_fan_out(event_id=event.pk)
    dispatch.delivery_send(delivery_id=delivery_id)
    [request] = receiver.requests
    lms = _example()

    assert lms.handle(request["body"], request["headers"], endpoint.secret) == 204
    assert subscription.tenant.tenant_id in capsys.readouterr().out
    assert lms.handle(request["body"], request["headers"], endpoint.secret) == 204  # a retry
    assert capsys.readouterr().out == ""
    forged = dict(request["headers"]) | {
        "webhook-signature": signing.signature(
            secret=signing.secret_new(),
            message_id=Delivery.objects.get().message_id,
            timestamp=int(request["headers"]["webhook-timestamp"]),
            body=request["body"],
        )
    }
    assert _example().handle(request["body"], forged, endpoint.secret) == 400
