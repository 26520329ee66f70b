"""Every row of the outcome table (docs/standard/outcomes.md) against a stub vendor over HTTP.

Each test runs one attempt in-process with `operation_execute` against a real HTTP server on
127.0.0.1 that answers the way the row says; dispatches to the broker are recorded, not sent.
"""

import datetime
import ipaddress
import socket

import pytest
from django.db import connection
from django.utils import timezone, translation

from tenants.models import LifecycleEvent, Operation, Subscription, Tenant
from tenants.operations import claim, dispatch, reconcile
from tenants.operations.apply import operation_execute
from tenants.operations.services import (
    subscription_change_plan,
    subscription_create,
    tenant_deactivate,
    tenant_purge,
)
from tests.factories import OrganizationFactory
from tests.support.stub_vendor import (
    StubVendor,
    accepted,
    conflict,
    drip,
    empty,
    endless_chunked,
    error,
    gone,
    hang,
    huge,
    malformed,
    not_found,
    rate_limited,
    redirect,
    refuse,
    register_stub_service,
    reply,
    reset,
    unavailable,
)
from tests.support.vendors import TEST_CREDENTIALS

pytestmark = pytest.mark.django_db

S = Tenant.State
OS = Operation.State
ASYNC = {"async": True, "poll_interval_seconds": 1, "timeout_seconds": 60}
VENDOR_MESSAGE = "Plan basic is not sold to schools on Jeju island"


# --- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _english():
    """Messages for staff are asserted in English (the market's default language is Korean)."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _quick_vendor_calls(settings):
    """Hanging and dripping stubs are cut off after half a second instead of ten."""
    settings.VENDOR_TOTAL_TIMEOUT = 0.5
    settings.VENDOR_CONNECT_TIMEOUT = 0.5


@pytest.fixture(autouse=True)
def dispatched(monkeypatch):
    """(operation id, countdown) of every hand-over to the broker; nothing reaches a broker."""
    sent: list[tuple[int, float | None]] = []

    def record(operation_id, *, countdown=None):
        sent.append((operation_id, countdown))

    monkeypatch.setattr(dispatch, "send_to_worker", record)
    monkeypatch.setattr(reconcile, "send_to_worker", record)
    return sent


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    """Every TCP connect made during the test; anything but loopback is refused before the call."""
    attempts: list[tuple[str, int]] = []
    real_connect = socket.socket.connect

    def guarded(self, address):
        if isinstance(address, tuple):
            attempts.append((address[0], address[1]))
            if not ipaddress.ip_address(address[0].split("%", 1)[0]).is_loopback:
                raise ConnectionRefusedError(f"test tripwire: refused {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return attempts


@pytest.fixture
def stub():
    with StubVendor(api_key=TEST_CREDENTIALS.api_key) as vendor:
        yield vendor


@pytest.fixture
def service(stub):
    return register_stub_service(stub)


@pytest.fixture
def async_service(stub):
    return register_stub_service(stub, operations=ASYNC)


def subscribe(service, *, plan: str = "basic", slug: str = "hallym_univ") -> Subscription:
    school = OrganizationFactory(name="한림대학교", slug=slug)
    return subscription_create(
        organization=school,
        service=service,
        plan=service.plans.get(code=plan),
        ends_on=timezone.localdate() + datetime.timedelta(days=90),
        max_users=50,
        storage_limit_gb=5,
        admin_email="admin@hallym.ac.kr",
        admin_name="홍길동",
    )


def activation(subscription: Subscription) -> Operation:
    return Operation.objects.get(subscription=subscription, kind=Operation.Kind.ACTIVATE)


def run(operation: Operation) -> str:
    return operation_execute(operation_id=operation.pk)


def run_when_due(operation: Operation, time_machine) -> str:
    """Move the clock to the operation's next attempt, then run it."""
    operation.refresh_from_db()
    time_machine.move_to(operation.next_attempt_at + datetime.timedelta(seconds=1))
    return run(operation)


def fresh(obj):
    obj.refresh_from_db()
    return obj


def active_subscription(service) -> Subscription:
    subscription = subscribe(service)
    assert run(activation(subscription)) == "succeeded"
    assert fresh(subscription.tenant).state == S.ACTIVE
    return subscription


def assert_retried(operation: Operation, tenant_state: str, started: datetime.datetime) -> None:
    """The answer was unclear: the operation waits for a later attempt and nothing is final."""
    operation.refresh_from_db()
    assert operation.state == OS.QUEUED
    assert operation.next_attempt_at > started
    assert operation.finished_at is None
    assert operation.first_failure_at is not None
    assert fresh(operation.tenant).state == tenant_state


# --- activate -----------------------------------------------------------------------------------


def test_activate_200_makes_the_tenant_active_with_the_password_encrypted_at_rest(service, stub):
    subscription = subscribe(service)

    assert run(activation(subscription)) == "succeeded"

    tenant = fresh(subscription.tenant)
    assert tenant.state == S.ACTIVE
    assert tenant.access_url == f"{stub.base_url}/app/hallym_univ"
    assert tenant.temp_password == stub.temp_password
    with connection.cursor() as cursor:
        cursor.execute("SELECT temp_password FROM tenants_tenant WHERE id = %s", [tenant.pk])
        raw = cursor.fetchone()[0]
    assert raw and stub.temp_password not in raw
    sent = stub.requests_to("activate")[0]
    assert sent.json()["plan"] == "basic"
    assert sent.headers["X-Market-API-Key"] == TEST_CREDENTIALS.api_key
    assert sent.request_id == str(activation(subscription).request_id)


def test_activate_200_saying_the_vendor_emails_the_credentials_is_noted(service, stub):
    stub.script(
        "activate",
        reply(
            200,
            {
                "status": "activated",
                "tenant_id": "hallym_univ",
                "access_url": "https://hallym.stub.example/",
                "credentials_delivery": "email",
            },
        ),
    )
    subscription = subscribe(service)

    assert run(activation(subscription)) == "succeeded"

    tenant = fresh(subscription.tenant)
    assert tenant.state == S.ACTIVE
    assert tenant.credentials_emailed_by_vendor is True
    assert tenant.temp_password == ""


def test_activate_409_with_the_tenant_active_on_the_same_plan_is_a_success(service, stub):
    stub.seed_tenant("hallym_univ", status="active", plan="basic")
    subscription = subscribe(service)

    assert run(activation(subscription)) == "succeeded"

    tenant = fresh(subscription.tenant)
    assert tenant.state == S.ACTIVE
    assert tenant.plan_code == "basic"
    # The status answer carries no access URL: the manifest's user_access gives it.
    assert tenant.access_url == f"{stub.base_url}/app/hallym_univ"
    assert [r.endpoint for r in stub.requests if r.endpoint != "health"] == ["activate", "status"]
    assert LifecycleEvent.objects.filter(tenant=tenant, kind="activation_confirmed").exists()


@pytest.mark.parametrize(
    ("vendor_status", "vendor_plan"), [("active", "premium"), ("suspended", "basic")]
)
def test_activate_409_with_the_tenant_in_another_shape_needs_attention_with_the_reason(
    service, stub, vendor_status, vendor_plan, mailoutbox, django_capture_on_commit_callbacks
):
    stub.seed_tenant("hallym_univ", status=vendor_status, plan=vendor_plan)
    subscription = subscribe(service)

    with django_capture_on_commit_callbacks(execute=True):
        assert run(activation(subscription)) == "needs-attention"

    tenant = fresh(subscription.tenant)
    assert tenant.state == S.NEEDS_ATTENTION
    assert vendor_status in tenant.attention_reason
    assert vendor_plan in tenant.attention_reason
    assert "basic" in tenant.attention_reason
    assert fresh(activation(subscription)).state == OS.NEEDS_ATTENTION
    assert len(mailoutbox) == 1, "staff are alerted once"


def test_activate_409_for_a_tenant_the_status_does_not_know_needs_attention(service, stub):
    stub.script("activate", conflict())
    subscription = subscribe(service)

    assert run(activation(subscription)) == "needs-attention"

    tenant = fresh(subscription.tenant)
    assert tenant.state == S.NEEDS_ATTENTION
    assert "unknown" in tenant.attention_reason


def test_activate_409_whose_status_check_is_unclear_is_retried(service, stub):
    stub.seed_tenant("hallym_univ")
    stub.script("status", error(502))
    subscription = subscribe(service)
    started = timezone.now()

    assert run(activation(subscription)) == "retry-scheduled"

    assert_retried(activation(subscription), S.ACTIVATING, started)


def test_activate_202_on_an_async_service_polls_status_until_active(
    async_service, stub, dispatched, time_machine, django_capture_on_commit_callbacks
):
    stub.script("activate", accepted(settle_after_polls=1))
    subscription = subscribe(async_service)
    operation = activation(subscription)

    with django_capture_on_commit_callbacks(execute=True):
        assert run(operation) == "polling"
    assert fresh(operation).state == OS.POLLING
    assert fresh(subscription.tenant).state == S.ACTIVATING
    # The next poll is handed to the worker at the manifest's interval, not left to the
    # once-a-minute reconciler.
    assert dispatched == [(operation.pk, 1.0)]

    assert run_when_due(operation, time_machine) == "polling"  # status still says not found
    assert run_when_due(operation, time_machine) == "succeeded"

    tenant = fresh(subscription.tenant)
    assert tenant.state == S.ACTIVE
    assert tenant.access_url == f"{stub.base_url}/app/hallym_univ"
    assert len(stub.requests_to("activate")) == 1
    assert len(stub.requests_to("status")) == 2
    # A poll is a new question, never a repeat of the activation's request id.
    assert str(operation.request_id) not in stub.request_ids("status")


def test_activate_202_that_never_settles_needs_attention_after_timeout_seconds(
    async_service, stub, time_machine
):
    stub.script("activate", accepted(settle_after_polls=10_000))
    subscription = subscribe(async_service)
    operation = activation(subscription)
    assert run(operation) == "polling"

    time_machine.move_to(timezone.now() + datetime.timedelta(seconds=ASYNC["timeout_seconds"] + 5))
    assert run(operation) == "needs-attention"

    tenant = fresh(subscription.tenant)
    assert tenant.state == S.NEEDS_ATTENTION
    assert "never finished" in tenant.attention_reason


def test_activate_202_without_async_in_the_manifest_is_an_unclear_answer(service, stub):
    stub.script("activate", accepted())
    subscription = subscribe(service)
    started = timezone.now()

    assert run(activation(subscription)) == "retry-scheduled"

    assert_retried(activation(subscription), S.ACTIVATING, started)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_activate_other_4xx_fails_and_keeps_the_vendor_message(service, stub, status):
    stub.script("activate", refuse(status, VENDOR_MESSAGE))
    subscription = subscribe(service)
    operation = activation(subscription)

    assert run(operation) == "failed"

    operation.refresh_from_db()
    assert operation.state == OS.FAILED
    assert operation.finished_at is not None
    assert operation.last_status_code == status
    assert VENDOR_MESSAGE in operation.last_error
    tenant = fresh(subscription.tenant)
    assert tenant.state == S.NEEDS_ATTENTION
    assert VENDOR_MESSAGE in tenant.attention_reason
    event = LifecycleEvent.objects.get(tenant=tenant, kind="activate_failed")
    assert VENDOR_MESSAGE in event.message


UNCLEAR_ANSWERS = {
    "timeout": hang(5),
    "one byte per second": drip(0.2),
    "connection reset": reset(),
    "500": error(500),
    "502": error(502),
    "503": unavailable(retry_after=1),
    "429": rate_limited(retry_after=1),
    "malformed JSON": malformed(),
    "empty body": empty(),
    "2xx against the schema": reply(200, {"status": "activated"}),
    "2xx about another tenant": reply(
        200,
        {"status": "activated", "tenant_id": "someone_else", "access_url": "https://x.example/"},
    ),
    "10 MiB body": huge(10 * 1024 * 1024),
    "endless chunked body": endless_chunked(),
    "redirect to the metadata address": redirect("http://169.254.169.254/latest/meta-data/"),
}


@pytest.mark.parametrize("answer", list(UNCLEAR_ANSWERS), ids=list(UNCLEAR_ANSWERS))
def test_activate_unclear_answers_are_retried_never_final(service, stub, answer, connections):
    stub.script("activate", UNCLEAR_ANSWERS[answer])
    subscription = subscribe(service)
    started = timezone.now()

    assert run(activation(subscription)) == "retry-scheduled"

    assert_retried(activation(subscription), S.ACTIVATING, started)
    assert {host for host, _port in connections} == {"127.0.0.1"}


def test_activate_with_the_vendor_refusing_connections_is_retried(service, stub):
    subscription = subscribe(service)
    stub.down()
    started = timezone.now()

    assert run(activation(subscription)) == "retry-scheduled"

    operation = fresh(activation(subscription))
    assert operation.last_error_kind == "connection"
    assert_retried(operation, S.ACTIVATING, started)


@pytest.mark.parametrize(
    "answer",
    [rate_limited(retry_after=120), unavailable(retry_after=120)],
    ids=["429", "503"],
)
def test_retry_after_is_honoured(service, stub, answer):
    stub.script("activate", answer)
    subscription = subscribe(service)

    assert run(activation(subscription)) == "retry-scheduled"

    operation = fresh(activation(subscription))
    assert operation.next_attempt_at >= operation.started_at + datetime.timedelta(seconds=120)


def test_retries_reuse_the_request_id_until_the_vendor_answers(service, stub, time_machine):
    stub.script("activate", error(500), hang(5), rate_limited(retry_after=1))
    subscription = subscribe(service)
    operation = activation(subscription)

    assert run(operation) == "retry-scheduled"
    assert run_when_due(operation, time_machine) == "retry-scheduled"
    assert run_when_due(operation, time_machine) == "retry-scheduled"
    assert run_when_due(operation, time_machine) == "succeeded"

    assert fresh(operation).attempts == 4
    assert stub.request_ids("activate") == {str(operation.request_id)}
    assert len(stub.requests_to("activate")) == 4
    assert fresh(subscription.tenant).state == S.ACTIVE


def test_a_redirect_to_another_local_port_is_never_followed(service, stub, connections):
    with StubVendor(api_key=TEST_CREDENTIALS.api_key) as elsewhere:
        stub.script("activate", redirect(f"{elsewhere.base_url}/mt/tenant/hallym_univ/activate"))
        subscription = subscribe(service)

        assert run(activation(subscription)) == "retry-scheduled"

        assert elsewhere.requests == []
        assert ("127.0.0.1", elsewhere.port) not in connections
    assert fresh(activation(subscription)).last_error_kind == "redirect"


# --- deactivate ---------------------------------------------------------------------------------


def test_deactivate_200_stores_data_preserved_and_the_reactivation_deadline(service, stub):
    subscription = active_subscription(service)
    operation = tenant_deactivate(tenant=subscription.tenant, reason="admin_request")

    assert run(operation) == "succeeded"

    tenant = fresh(subscription.tenant)
    assert tenant.state == S.DEACTIVATED
    assert tenant.data_preserved is True
    vendor_deadline = stub.tenants["hallym_univ"]["reactivation_deadline"]
    assert tenant.reactivation_deadline == datetime.datetime.fromisoformat(vendor_deadline)
    assert stub.requests_to("deactivate")[0].json()["reason"] == "admin_request"


def test_deactivate_200_without_data_kept_stores_no_deadline(service, stub):
    subscription = active_subscription(service)
    operation = tenant_deactivate(
        tenant=subscription.tenant, reason="violation", preserve_data=False
    )

    assert run(operation) == "succeeded"

    tenant = fresh(subscription.tenant)
    assert tenant.data_preserved is False
    assert tenant.reactivation_deadline is None


@pytest.mark.parametrize(("answer", "status"), [(not_found(), 404), (gone(), 410)])
def test_deactivate_404_or_410_means_done(service, stub, answer, status):
    subscription = active_subscription(service)
    stub.script("deactivate", answer)
    operation = tenant_deactivate(tenant=subscription.tenant, reason="admin_request")

    assert run(operation) == "succeeded"

    assert fresh(operation).state == OS.SUCCEEDED
    tenant = fresh(subscription.tenant)
    assert tenant.state == S.DEACTIVATED
    if status == 410:
        assert tenant.data_preserved is False


def test_deactivate_other_4xx_fails_for_staff_with_the_vendor_message(service, stub):
    subscription = active_subscription(service)
    stub.script("deactivate", refuse(422, VENDOR_MESSAGE))
    operation = tenant_deactivate(tenant=subscription.tenant, reason="admin_request")

    assert run(operation) == "failed"

    tenant = fresh(subscription.tenant)
    assert tenant.state == S.NEEDS_ATTENTION
    assert VENDOR_MESSAGE in tenant.attention_reason


@pytest.mark.parametrize(
    "answer", [error(500), hang(5), malformed()], ids=["500", "timeout", "bad"]
)
def test_deactivate_unclear_answers_are_retried(service, stub, answer):
    subscription = active_subscription(service)
    stub.script("deactivate", answer)
    operation = tenant_deactivate(tenant=subscription.tenant, reason="admin_request")
    started = timezone.now()

    assert run(operation) == "retry-scheduled"

    assert_retried(operation, S.DEACTIVATING, started)


def test_deactivate_202_on_an_async_service_polls_until_deactivated(
    async_service, stub, time_machine
):
    subscription = active_subscription(async_service)
    stub.script("deactivate", accepted(settle_after_polls=1))
    operation = tenant_deactivate(tenant=subscription.tenant, reason="admin_request")

    assert run(operation) == "polling"
    assert fresh(subscription.tenant).state == S.DEACTIVATING
    assert run_when_due(operation, time_machine) == "polling"  # the vendor still says active
    assert run_when_due(operation, time_machine) == "succeeded"

    assert fresh(subscription.tenant).state == S.DEACTIVATED


# --- update -------------------------------------------------------------------------------------


def test_update_200_changes_the_plan(service, stub):
    subscription = active_subscription(service)
    operation = subscription_change_plan(
        subscription=subscription, plan=service.plans.get(code="standard")
    )
    assert fresh(subscription.tenant).state == S.UPDATING

    assert run(operation) == "succeeded"

    tenant = fresh(subscription.tenant)
    assert tenant.state == S.ACTIVE
    assert tenant.plan_code == "standard"
    assert fresh(subscription).plan.code == "standard"
    assert stub.requests_to("update")[0].json()["plan"] == "standard"


@pytest.mark.parametrize("status", [400, 403, 422])
def test_update_4xx_fails_and_keeps_the_old_plan(service, stub, status):
    subscription = active_subscription(service)
    stub.script("update", refuse(status, VENDOR_MESSAGE))
    operation = subscription_change_plan(
        subscription=subscription, plan=service.plans.get(code="standard")
    )

    assert run(operation) == "failed"

    assert VENDOR_MESSAGE in fresh(operation).last_error
    tenant = fresh(subscription.tenant)
    assert tenant.state == S.ACTIVE
    assert tenant.plan_code == "basic"
    assert fresh(subscription).plan.code == "basic"


def test_update_unclear_answer_is_retried(service, stub):
    subscription = active_subscription(service)
    stub.script("update", error(503))
    operation = subscription_change_plan(
        subscription=subscription, plan=service.plans.get(code="standard")
    )
    started = timezone.now()

    assert run(operation) == "retry-scheduled"

    assert_retried(operation, S.UPDATING, started)
    assert fresh(subscription).plan.code == "basic"


def test_update_202_on_an_async_service_polls_until_the_new_plan_shows(
    async_service, stub, time_machine
):
    subscription = active_subscription(async_service)
    stub.script("update", accepted(settle_after_polls=1))
    operation = subscription_change_plan(
        subscription=subscription, plan=async_service.plans.get(code="premium")
    )

    assert run(operation) == "polling"
    assert run_when_due(operation, time_machine) == "polling"  # still the old plan
    assert run_when_due(operation, time_machine) == "succeeded"

    assert fresh(subscription.tenant).plan_code == "premium"
    assert fresh(subscription).plan.code == "premium"


# --- delete -------------------------------------------------------------------------------------


def deactivated_tenant(service) -> Tenant:
    subscription = active_subscription(service)
    assert run(tenant_deactivate(tenant=subscription.tenant, reason="admin_request")) == (
        "succeeded"
    )
    return fresh(subscription.tenant)


def test_delete_200_purges(service, stub):
    tenant = deactivated_tenant(service)
    operation = tenant_purge(tenant=tenant)
    assert fresh(tenant).state == S.PURGING

    assert run(operation) == "succeeded"

    tenant = fresh(tenant)
    assert tenant.state == S.PURGED
    assert tenant.purged_at is not None
    assert stub.tenants["hallym_univ"]["status"] == "purged"


@pytest.mark.parametrize("answer", [not_found(), gone()], ids=["404", "410"])
def test_delete_404_or_410_means_already_gone(service, stub, answer):
    tenant = deactivated_tenant(service)
    stub.script("delete", answer)

    assert run(tenant_purge(tenant=tenant)) == "succeeded"

    assert fresh(tenant).state == S.PURGED


def test_delete_unclear_answer_is_retried(service, stub):
    tenant = deactivated_tenant(service)
    stub.script("delete", error(500))
    operation = tenant_purge(tenant=tenant)
    started = timezone.now()

    assert run(operation) == "retry-scheduled"

    assert_retried(operation, S.PURGING, started)


# --- status (the hourly sync) -------------------------------------------------------------------


def test_status_disagreeing_with_the_market_flags_drift_and_changes_nothing(service, stub):
    subscription = active_subscription(service)
    stub.tenants["hallym_univ"]["status"] = "deactivated"

    tenant = reconcile.tenant_sync_status(tenant=fresh(subscription.tenant))

    tenant = fresh(tenant)
    assert tenant.state == S.ACTIVE
    assert tenant.drifted is True
    assert "deactivated" in tenant.drift_reason


def test_status_on_another_plan_flags_drift(service, stub):
    subscription = active_subscription(service)
    stub.tenants["hallym_univ"]["plan"] = "premium"

    tenant = fresh(reconcile.tenant_sync_status(tenant=fresh(subscription.tenant)))

    assert tenant.drifted is True
    assert "premium" in tenant.drift_reason
    assert tenant.plan_code == "basic"


@pytest.mark.parametrize("answer", [not_found(), gone()], ids=["404", "410"])
def test_status_404_or_410_for_a_live_tenant_flags_drift(service, stub, answer):
    subscription = active_subscription(service)
    stub.script("status", answer)

    tenant = fresh(reconcile.tenant_sync_status(tenant=fresh(subscription.tenant)))

    assert tenant.state == S.ACTIVE
    assert tenant.drifted is True


@pytest.mark.parametrize(
    "answer", [error(500), hang(5), malformed()], ids=["500", "timeout", "bad"]
)
def test_status_unclear_answer_draws_no_conclusion(service, stub, answer):
    subscription = active_subscription(service)
    stub.script("status", answer)

    tenant = fresh(reconcile.tenant_sync_status(tenant=fresh(subscription.tenant)))

    assert tenant.drifted is False
    assert tenant.last_status_at is None
    assert tenant.state == S.ACTIVE


def test_status_in_agreement_records_the_answer_without_drift(service, stub):
    subscription = active_subscription(service)

    tenant = fresh(reconcile.tenant_sync_status(tenant=fresh(subscription.tenant)))

    assert tenant.drifted is False
    assert tenant.last_status["status"] == "active"
    assert tenant.last_status_at is not None


# --- claiming: when an operation may go to the vendor at all ----------------------------------


def test_an_operation_not_yet_due_is_not_sent(service, stub):
    subscription = subscribe(service)
    operation = activation(subscription)
    Operation.objects.filter(pk=operation.pk).update(
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=5)
    )

    assert run(operation) == "not-due"

    assert stub.requests_to("activate") == []


def test_a_finished_operation_is_never_sent_again(service, stub):
    subscription = active_subscription(service)

    assert run(activation(subscription)) == "not-open"

    assert len(stub.requests_to("activate")) == 1


def test_operations_of_one_tenant_go_to_the_vendor_in_order(service, stub):
    stub.script("activate", error(500))
    subscription = subscribe(service)
    assert run(activation(subscription)) == "retry-scheduled"
    deactivation = tenant_deactivate(tenant=subscription.tenant, reason="admin_request")

    assert run(deactivation) == "waiting-for-earlier"

    assert stub.requests_to("deactivate") == []
    assert fresh(deactivation).attempts == 0


def test_the_next_operation_of_a_tenant_is_dispatched_when_the_earlier_one_ends(
    service, stub, dispatched, time_machine, django_capture_on_commit_callbacks
):
    stub.script("activate", error(500))
    subscription = subscribe(service)
    assert run(activation(subscription)) == "retry-scheduled"
    deactivation = tenant_deactivate(tenant=subscription.tenant, reason="admin_request")
    dispatched.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert run_when_due(activation(subscription), time_machine) == "succeeded"

    assert dispatched == [(deactivation.pk, None)]


def test_a_service_at_its_concurrency_limit_makes_the_next_call_wait(
    service, stub, settings, dispatched, django_capture_on_commit_callbacks
):
    settings.VENDOR_MAX_CONCURRENT_CALLS = 1
    busy = subscribe(service, slug="busy_school")
    Operation.objects.filter(pk=activation(busy).pk).update(
        state=OS.IN_FLIGHT, started_at=timezone.now()
    )
    waiting = activation(subscribe(service, slug="waiting_school"))
    dispatched.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert run(waiting) == "service-busy"

    assert fresh(waiting).state == OS.QUEUED
    assert fresh(waiting).attempts == 0
    assert fresh(waiting).waiting_for_slot_since is not None
    assert dispatched == []  # no polling: the call that frees the slot sends it
    assert stub.requests_to("activate") == []

    # The call in flight finishes: its slot goes to the waiting operation, which is sent now.
    Operation.objects.filter(pk=activation(busy).pk).update(state=OS.QUEUED, started_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert run(activation(busy)) == "succeeded"

    assert dispatched == [(waiting.pk, None)]
    assert fresh(waiting).waiting_for_slot_since is None
    assert fresh(waiting).next_attempt_at <= timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert run(waiting) == "succeeded"


def test_a_vendor_at_its_cap_makes_its_other_services_wait_and_hands_them_the_slot(
    service, stub, settings, dispatched, django_capture_on_commit_callbacks
):
    # The bulkhead: the cap over all the services of one vendor, not only per service.
    from tests.support.vendors import register_reference_service

    settings.VENDOR_MAX_CONCURRENT_CALLS = 5
    settings.VENDOR_MAX_CALLS_PER_VENDOR = 1
    sibling = register_reference_service(
        vendor=service.vendor, base_url=stub.base_url, service_id="stub_sibling"
    )
    busy = activation(subscribe(service, slug="busy_school"))
    Operation.objects.filter(pk=busy.pk).update(state=OS.IN_FLIGHT, started_at=timezone.now())
    waiting = activation(subscribe(sibling, slug="sibling_school"))
    dispatched.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert run(waiting) == "service-busy"
    assert fresh(waiting).waiting_for_slot_since is not None
    assert dispatched == []

    Operation.objects.filter(pk=busy.pk).update(state=OS.QUEUED, started_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert run(busy) == "succeeded"
    assert dispatched == [(waiting.pk, None)]
    with django_capture_on_commit_callbacks(execute=True):
        assert run(waiting) == "succeeded"


def test_a_status_poll_waiting_for_a_slot_is_handed_one_too(
    service, stub, settings, dispatched, django_capture_on_commit_callbacks
):
    settings.VENDOR_MAX_CONCURRENT_CALLS = 1
    busy = activation(subscribe(service, slug="busy_school"))
    Operation.objects.filter(pk=busy.pk).update(state=OS.IN_FLIGHT, started_at=timezone.now())
    poll = activation(subscribe(service, slug="polling_school"))
    Operation.objects.filter(pk=poll.pk).update(state=OS.POLLING, polling_since=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert run(poll) == "service-busy"
    dispatched.clear()

    Operation.objects.filter(pk=busy.pk).update(state=OS.QUEUED, started_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert run(busy) == "succeeded"

    assert dispatched == [(poll.pk, None)]
    assert fresh(poll).state == OS.POLLING


def test_a_claim_that_loses_the_last_slot_to_another_undoes_itself_and_waits(
    service, stub, settings, dispatched, monkeypatch, django_capture_on_commit_callbacks
):
    # Two claims both saw a free slot at first look; the recount under the service's lock
    # (which includes this claim) finds the service over its cap, so this claim is undone.
    settings.VENDOR_MAX_CONCURRENT_CALLS = 1
    waiting = activation(subscribe(service))
    counts = iter([0, 2, 2])  # first look, recount under the lock, the look after parking
    monkeypatch.setattr(
        claim, "_in_flight_by_service", lambda vendor_id: {waiting.tenant.service_id: next(counts)}
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert run(waiting) == "service-busy"

    parked = fresh(waiting)
    assert (parked.state, parked.attempts, parked.started_at) == (OS.QUEUED, 0, None)
    assert parked.waiting_for_slot_since is not None
    assert fresh(waiting.tenant).state == Tenant.State.REQUESTED
    assert stub.requests_to("activate") == []
    assert dispatched == []


def test_each_finished_call_hands_its_slot_to_one_waiting_operation(
    service, stub, settings, dispatched, django_capture_on_commit_callbacks
):
    settings.VENDOR_MAX_CONCURRENT_CALLS = 1
    busy = activation(subscribe(service, slug="busy_school"))
    Operation.objects.filter(pk=busy.pk).update(state=OS.IN_FLIGHT, started_at=timezone.now())
    waiting = [activation(subscribe(service, slug=f"school_{n}")) for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        assert [run(operation) for operation in waiting] == ["service-busy"] * 3
    dispatched.clear()

    Operation.objects.filter(pk=busy.pk).update(state=OS.QUEUED, started_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert run(busy) == "succeeded"

    # The longest waiting goes first; the other two keep waiting for the next free slots.
    assert dispatched == [(waiting[0].pk, None)]
    assert [fresh(op).waiting_for_slot_since is None for op in waiting] == [True, False, False]
