"""The one displayed state (tenants.display) and the school's retry after a refused activation.

A refused activation runs against a real stub vendor over HTTP (as in test_outcomes.py), so the
states come from the executor itself, not from hand-set rows.
"""

import pytest
from django.utils import translation

from tenants.display import Display, display_state, tenant_display_state, with_last_operation
from tenants.errors import LifecycleError
from tenants.models import LifecycleEvent, Operation, Subscription, Tenant
from tenants.operations import dispatch
from tenants.operations.reconcile import tenant_sync_status
from tenants.recovery import subscription_retry_activation
from tests.factories import SchoolAdminFactory, SubscriptionFactory
from tests.support.stub_vendor import StubVendor, refuse, register_stub_service, reply
from tests.support.vendors import TEST_CREDENTIALS
from tests.tenants.test_outcomes import activation, fresh, run, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module", autouse=True)
def compiled_translations(django_db_blocker):
    """Korean is asserted: compile the .po files (as `make test` does) and reload them."""
    from django.core.management import call_command
    from django.utils.translation import trans_real

    call_command("compile_translations", verbosity=0)
    trans_real._translations = {}
    trans_real._default = None


@pytest.fixture(autouse=True)
def dispatched(monkeypatch):
    """(operation id, countdown) of every hand-over to the broker; nothing reaches a broker."""
    sent = []
    monkeypatch.setattr(
        dispatch, "send_to_worker", lambda pk, *, countdown=None: sent.append((pk, countdown))
    )
    return sent


@pytest.fixture
def stub():
    with StubVendor(api_key=TEST_CREDENTIALS.api_key) as vendor:
        yield vendor


@pytest.fixture
def service(stub):
    return register_stub_service(stub)


S = Tenant.State
VENDOR_MESSAGE = "Plan basic is not sold to schools on Jeju island"


@pytest.fixture
def failed(stub, service, settings, django_capture_on_commit_callbacks):
    settings.MARKET_STAFF_ALERT_EMAILS = ["ops@market.example"]
    stub.script("activate", refuse(422, VENDOR_MESSAGE))
    subscription = subscribe(service)
    SchoolAdminFactory(organization=subscription.organization, email="admin@hallym.ac.kr")
    with django_capture_on_commit_callbacks(execute=True):
        assert run(activation(subscription)) == "failed"
    return Subscription.objects.select_related("tenant").get(pk=subscription.pk)


def test_a_refused_activation_is_failed_not_active_with_the_vendors_words_as_detail(failed):
    with translation.override("ko"):
        state = display_state(failed)
        assert state.code == Display.FAILED
        assert state.label == "실패"
        assert state.explanation == "활성화에 실패했습니다."
        assert state.detail == VENDOR_MESSAGE  # quoted as is, never as our sentence
        assert "다시 시도" in state.next_step and "지원" in state.next_step
        assert state.can_retry and not state.usable and not state.settling
    with translation.override("en"):
        state = display_state(failed)
        assert (state.label, state.explanation) == ("Failed", "Activation failed.")
    # The subscription's own status is still "active": the display is what tells the truth.
    assert failed.status == Subscription.Status.ACTIVE


def test_staff_are_told_of_a_refused_activation(failed, mailoutbox):
    alerts = [message for message in mailoutbox if message.to == ["ops@market.example"]]
    assert len(alerts) == 1
    assert f"/admin/tenants/operation/{activation(failed).pk}/" in alerts[0].body


def test_the_annotated_list_and_the_single_read_agree(failed, django_assert_num_queries):
    annotated = with_last_operation(Subscription.objects.select_related("tenant")).get(pk=failed.pk)
    with django_assert_num_queries(0):
        assert display_state(annotated).code == Display.FAILED
    plain = Subscription.objects.select_related("tenant").get(pk=failed.pk)
    with django_assert_num_queries(1):
        assert display_state(plain).code == Display.FAILED
    assert tenant_display_state(failed.tenant).code == Display.FAILED


def test_the_school_asks_for_a_retry_and_the_service_becomes_ready(
    failed, stub, dispatched, django_capture_on_commit_callbacks, mailoutbox
):
    stub.script("activate")  # the vendor fixed it: back to its normal answer
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        operation = subscription_retry_activation(subscription=failed, requested_by=None)
    assert operation.state == Operation.State.QUEUED
    assert fresh(failed.tenant).state == S.ACTIVATING
    assert display_state(Subscription.objects.get(pk=failed.pk)).code == Display.ACTIVATING
    assert LifecycleEvent.objects.filter(tenant=failed.tenant, kind="operation_retried").exists()
    assert dispatched and dispatched[-1][0] == operation.pk
    assert run(operation) == "succeeded"
    subscription = Subscription.objects.get(pk=failed.pk)
    assert display_state(subscription).code == Display.ACTIVE


@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_retry_of_a_tenant_that_is_not_failed_is_refused_and_changes_nothing(
    stub, service, dispatched, language
):
    subscription = subscribe(service)
    assert run(activation(subscription)) == "succeeded"
    tenant = fresh(subscription.tenant)
    operations = Operation.objects.filter(tenant=tenant).count()
    events = LifecycleEvent.objects.filter(tenant=tenant).count()
    with translation.override(language), pytest.raises(LifecycleError) as raised:
        subscription_retry_activation(subscription=subscription, requested_by=None)
    expected = {
        "ko": "다시 시도할 수 있는 것은 실패한 활성화뿐입니다. 현재 상태: 활성.",
        "en": "Only a failed activation can be tried again. Current state: Active.",
    }[language]
    assert raised.value.message == expected
    assert raised.value.status == 409
    assert fresh(tenant).state == S.ACTIVE
    assert Operation.objects.filter(tenant=tenant).count() == operations
    assert LifecycleEvent.objects.filter(tenant=tenant).count() == events


def test_the_service_is_ready_email_has_the_access_url_never_the_password(
    stub, service, django_capture_on_commit_callbacks, mailoutbox
):
    stub.script("activate")
    subscription = subscribe(service)
    SchoolAdminFactory(
        organization=subscription.organization, email="portal@hallym.ac.kr", preferred_language="en"
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert run(activation(subscription)) == "succeeded"
    tenant = fresh(subscription.tenant)
    assert tenant.access_url
    ready = [m for m in mailoutbox if tenant.access_url in m.body]
    recipients = sorted(address for m in ready for address in m.to)
    assert recipients == ["admin@hallym.ac.kr", "portal@hallym.ac.kr"]
    by_address = {m.to[0]: m for m in ready}
    assert "준비" in by_address["admin@hallym.ac.kr"].subject  # the service admin, in Korean
    assert "is ready" in by_address["portal@hallym.ac.kr"].subject
    for message in ready:
        if tenant.temp_password:
            assert tenant.temp_password not in message.body
        assert f"/school/subscriptions/{subscription.pk}/" in message.body


def test_the_ready_email_with_a_temporary_password_never_contains_it(settings, mailoutbox):
    from tenants.emails import send_service_ready

    subscription = SubscriptionFactory(admin_email="admin@school.example")
    tenant = subscription.tenant
    tenant.state = S.ACTIVE
    tenant.access_url = "https://tutor.example/app/school"
    tenant.temp_password = "Tmp-Secret-4711"
    tenant.save()
    mailoutbox.clear()
    assert send_service_ready(subscription) >= 1
    body = "\n".join(m.subject + m.body for m in mailoutbox)
    assert "https://tutor.example/app/school" in body
    assert "Tmp-Secret-4711" not in body
    assert "임시 비밀번호" in body  # it says where to read it instead


@pytest.mark.parametrize(
    ("status", "tenant_state", "expected"),
    [
        (Subscription.Status.ACTIVE, S.REQUESTED, Display.REQUESTED),
        (Subscription.Status.ACTIVE, S.ACTIVATING, Display.ACTIVATING),
        (Subscription.Status.ACTIVE, S.ACTIVE, Display.ACTIVE),
        (Subscription.Status.ACTIVE, S.UPDATING, Display.UPDATING),
        (Subscription.Status.ACTIVE, S.REACTIVATING, Display.REACTIVATING),
        (Subscription.Status.ACTIVE, S.NEEDS_ATTENTION, Display.NEEDS_ATTENTION),
        (Subscription.Status.CANCELLED, S.DEACTIVATING, Display.DEACTIVATING),
        (Subscription.Status.ENDED, S.DEACTIVATED, Display.DEACTIVATED),
        (Subscription.Status.ENDED, S.PURGED, Display.PURGED),
        (Subscription.Status.ENDED, S.ACTIVE, Display.ENDED),  # a newer subscription runs it
        (Subscription.Status.CANCELLED, S.ACTIVE, Display.CANCELLED),
    ],
)
def test_each_state_has_one_display(status, tenant_state, expected):
    subscription = SubscriptionFactory(status=status, tenant__state=tenant_state)
    state = display_state(subscription)
    assert state.code == expected
    assert state.explanation  # every state says what it means
    assert state.can_retry is False


def test_every_drift_is_recorded_not_only_the_first(stub, service):
    subscription = subscribe(service)
    assert run(activation(subscription)) == "succeeded"
    tenant = fresh(subscription.tenant)
    body = {"tenant_id": tenant.tenant_id, "plan": "basic"}
    stub.script(
        "status",
        reply(200, {**body, "status": "deactivated"}),  # drift
        reply(200, {**body, "status": "deactivated"}),  # the same drift an hour later
        reply(200, {**body, "status": "active", "plan": "premium"}),  # another difference
        reply(200, {**body, "status": "active"}),  # agrees again
        reply(200, {**body, "status": "deactivated"}),  # drifts again
    )
    for _ in range(5):
        tenant = tenant_sync_status(tenant=fresh(tenant))
    kinds = list(
        LifecycleEvent.objects.filter(tenant=tenant, kind__startswith="drift")
        .order_by("created_at", "id")
        .values_list("kind", flat=True)
    )
    assert kinds == [
        "drift_detected",
        "drift_detected",
        "drift_resolved",
        "drift_detected",
    ]
    assert fresh(tenant).drifted is True
    assert fresh(tenant).state == S.ACTIVE  # never overwritten


def test_no_ready_email_when_the_subscription_changed_before_it_went_out(mailoutbox):
    from tenants.emails import send_service_ready

    subscription = SubscriptionFactory(status=Subscription.Status.CANCELLED)
    mailoutbox.clear()
    assert send_service_ready(subscription) == 0
    assert mailoutbox == []
