"""Portal pages of webhooks and the staff activity page, in Korean and English."""

import pytest
from django.test import TestCase

from events.services import event_record
from tests.factories import StaffFactory
from tests.support.receiver import Receiver
from webhooks.models import Delivery, Endpoint
from webhooks.signing import secret_new

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def _endpoint(organization, url):
    return Endpoint.objects.create(
        owner_kind="organization", organization=organization, url=url,
        event_types=["*"], secret=secret_new(),
    )  # fmt: skip


def test_a_school_adds_an_endpoint_in_korean(world, as_user, receiver):
    client = as_user(world.admin_a)
    page = client.get("/webhooks/")
    assert "웹훅" in page.content.decode() and "엔드포인트 추가" in page.content.decode()
    response = client.post(
        "/webhooks/",
        {"url": receiver.url, "event_types": ["tenant.activated"], "description": "LMS"},
    )
    endpoint = Endpoint.objects.get()
    assert response.status_code == 302 and endpoint.organization == world.school_a
    detail = client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert endpoint.secret in detail and "테스트 이벤트 보내기" in detail


def test_a_refused_url_is_shown_under_its_field_and_nothing_stored(world, as_user, english):
    client = as_user(world.admin_a)
    page = client.post("/webhooks/", {"url": "http://10.1.2.3/x", "event_types": ["*"]})
    assert page.status_code == 200
    assert "10.1.2.3" in page.content.decode() and "Add an endpoint" in page.content.decode()
    assert not Endpoint.objects.exists()


def test_one_school_cannot_open_another_schools_endpoint(world, as_user, receiver):
    theirs = _endpoint(world.school_b, receiver.url)
    client = as_user(world.admin_a)
    assert theirs.url not in client.get("/webhooks/").content.decode()
    assert client.get(f"/webhooks/{theirs.pk}/").status_code == 404
    for action in ("test", "rotate", "toggle", "delete"):
        assert client.post(f"/webhooks/{theirs.pk}/{action}/").status_code == 404
    assert Endpoint.objects.get(pk=theirs.pk).is_active


def test_the_test_event_page_sends_one_delivery(world, as_user, receiver):
    endpoint = _endpoint(world.school_a, receiver.url)
    client = as_user(world.admin_a)
    with TestCase.captureOnCommitCallbacks(execute=False):
        client.post(f"/webhooks/{endpoint.pk}/test/", {"message": "안녕하세요"})
    delivery = Delivery.objects.get()
    assert delivery.endpoint == endpoint and delivery.event.type == "webhook.test"
    assert delivery.event.payload["data"]["message"] == "안녕하세요"


@pytest.mark.parametrize("language", ["ko", "en"])
def test_staff_search_the_activity_by_school_service_actor_and_type(
    world, as_user, settings, language
):
    settings.LANGUAGE_CODE = language
    event_record(
        type="subscription.created", actor=world.admin_a, subscription=world.subscription_a
    )
    event_record(type="tenant.activated", tenant=world.subscription_b.tenant)
    client = as_user(StaffFactory())

    everything = client.get("/staff/activity/").content.decode()
    heading, created = (
        ("활동 기록", "구독 신청") if language == "ko" else ("Activity", "Subscription created")
    )
    assert heading in everything and created in everything

    def rows(**query):  # the type codes shown in the table (the type filter lists them all)
        html = client.get("/staff/activity/", query).content.decode()
        return {t for t in ("subscription.created", "tenant.activated") if f'muted">{t}<' in html}

    assert rows(organization="Beta") == {"tenant.activated"}
    assert rows(service="alpha_tutor") == {"subscription.created"}
    assert rows(actor="admin_a") == {"subscription.created"}
    assert rows(type="tenant.activated") == {"tenant.activated"}
    assert rows() == {"tenant.activated", "subscription.created"}


def test_schools_cannot_open_the_activity_page(world, as_user):
    assert as_user(world.admin_a).get("/staff/activity/").status_code == 403
