import pytest
from django.core.management import CommandError, call_command

from tests.webhooks.conftest import make_endpoint
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db


def test_the_command_sends_a_test_event_and_prints_the_answer(receiver, two_schools, capsys):
    endpoint = make_endpoint(receiver.url, organization=two_schools[0].organization)
    call_command("send_test_webhook", str(endpoint.pk), "--message", "ping")
    assert "delivered" in capsys.readouterr().out
    [request] = receiver.requests
    assert b'"type":"webhook.test"' in request["body"] and b'"message":"ping"' in request["body"]
    assert Delivery.objects.get().state == "succeeded"


def test_the_command_fails_clearly_when_the_endpoint_refuses(receiver, two_schools):
    endpoint = make_endpoint(receiver.url, organization=two_schools[0].organization)
    receiver.script(500)
    with pytest.raises(CommandError, match="did not accept"):
        call_command("send_test_webhook", str(endpoint.pk))
    with pytest.raises(CommandError, match="no webhook endpoint 999"):
        call_command("send_test_webhook", "999")
