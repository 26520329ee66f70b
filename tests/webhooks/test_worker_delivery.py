"""Webhooks through a real Celery worker to loopback receivers, verified by standardwebhooks."""

import datetime
import json
import time

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from events import services as event_services
from tenants.operations.services import subscription_renew
from tests.support.receiver import Receiver
from tests.support.worker import WorkerProcess, wait_until
from tests.webhooks.conftest import make_endpoint
from webhooks import dispatch
from webhooks.models import Delivery, Endpoint

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def start_worker():
    started = []

    def start(**env):
        worker = WorkerProcess(extra_env={k: str(v) for k, v in env.items()})
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.kill()


def _renew(subscription):
    return subscription_renew(
        subscription=subscription, ends_on=subscription.ends_on + datetime.timedelta(days=30)
    )


def _verified(endpoint: Endpoint, request: dict) -> dict:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return Webhook(endpoint.secret).verify(request["body"], headers)


def test_a_change_reaches_its_school_verified_and_never_the_other_school(two_schools, start_worker):
    first, second = two_schools
    with Receiver() as mine, Receiver() as theirs:
        endpoint = make_endpoint(mine.url, organization=first.organization)
        make_endpoint(theirs.url, organization=second.organization)
        start_worker()

        _renew(first)

        wait_until(lambda: mine.of_type("subscription.renewed"), timeout=30)
        body = _verified(endpoint, mine.of_type("subscription.renewed")[0])
        assert body["data"]["subscription"]["id"] == first.pk
        assert body["data"]["data"]["previous_ends_on"] == first.ends_on.isoformat()
        wait_until(
            lambda: Delivery.objects.filter(state="succeeded").count() == 1,
            message="the delivery was not marked delivered",
        )
        assert theirs.requests == []
        assert Delivery.objects.count() == 1


def test_retries_after_a_500_and_a_timeout_carry_the_same_webhook_id(two_schools, start_worker):
    first, _ = two_schools
    with Receiver() as receiver:
        endpoint = make_endpoint(receiver.url, organization=first.organization)
        receiver.script(500)
        receiver.script(204, delay=3)  # longer than the worker's 1 s total timeout
        start_worker(WEBHOOK_RETRY_SCHEDULE_SECONDS="1,1,1", WEBHOOK_TOTAL_TIMEOUT_MS=1000)

        _renew(first)

        wait_until(
            lambda: Delivery.objects.filter(state="succeeded").exists(),
            timeout=40,
            message="the third attempt was never made or never succeeded",
        )
        assert len(receiver.requests) == 3
        assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
        for request in receiver.requests:
            _verified(endpoint, request)
        attempts = Delivery.objects.get().attempt_log.order_by("number")
        assert [a.error_kind for a in attempts] == ["http", "timeout", ""]


def test_an_endpoint_is_disabled_after_the_limit_and_the_owner_mailed(
    two_schools, start_worker, sent_mail_dir
):
    first, _ = two_schools
    with Receiver() as receiver:
        endpoint = make_endpoint(receiver.url, organization=first.organization)
        receiver.script(500, times=20)
        start_worker(WEBHOOK_RETRY_SCHEDULE_SECONDS="1,1,1,1,1", WEBHOOK_DISABLE_AFTER_FAILURES=3)

        _renew(first)

        wait_until(
            lambda: not Endpoint.objects.get(pk=endpoint.pk).is_active,
            timeout=40,
            message="the endpoint was never disabled",
        )
        wait_until(lambda: list(sent_mail_dir.iterdir()), message="no e-mail to the owner")
        assert len(receiver.requests) == 3
        mailed = "".join(p.read_text() for p in sent_mail_dir.iterdir())
        assert first.organization.contact_email in mailed


def test_a_worker_killed_between_change_and_delivery_delivers_once_after_restart(
    two_schools, start_worker
):
    first, _ = two_schools
    with Receiver() as receiver:
        endpoint = make_endpoint(receiver.url, organization=first.organization)
        start_worker().kill()  # the only worker is dead when the change commits

        _renew(first)
        assert Delivery.objects.count() == 0 and receiver.requests == []

        start_worker()
        wait_until(lambda: receiver.requests, timeout=30, message="nothing delivered after restart")
        # The minute's sweep runs meanwhile, and must not send it a second time.
        dispatch.deliveries_sweep(now=timezone.now() + datetime.timedelta(seconds=10))
        wait_until(lambda: Delivery.objects.filter(state="succeeded").exists())
        time.sleep(2)
        assert len(receiver.requests) == 1
        assert json.loads(receiver.requests[0]["body"])["type"] == "subscription.renewed"
        _verified(endpoint, receiver.requests[0])


def test_an_event_whose_fan_out_message_was_lost_is_delivered_by_the_sweep(
    two_schools, start_worker, monkeypatch
):
    first, _ = two_schools
    monkeypatch.setattr(event_services, "_subscribers", [])  # the web process died at commit
    with Receiver() as receiver:
        make_endpoint(receiver.url, organization=first.organization)
        start_worker()
        _renew(first)
        assert Delivery.objects.count() == 0

        result = dispatch.deliveries_sweep(now=timezone.now() + datetime.timedelta(seconds=10))

        assert result["fanned_out"] == 1
        wait_until(lambda: receiver.requests, timeout=30, message="the sweep never delivered it")
        assert len(receiver.requests) == 1
