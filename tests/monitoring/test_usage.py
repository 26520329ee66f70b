"""Monthly usage collection: who is asked, validation, retries, non-compliance."""

import math
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring import usage
from monitoring.api.views import UsageReportViewSet
from monitoring.models import Statement, UsageReport
from services.models import Service
from services.standard.metrics import STANDARD_USAGE_METRICS
from services.vendor_client.client import VendorClient
from tenants.models import Tenant
from tests.factories import ServiceFactory, TenantFactory
from tests.monitoring.helpers import service_with_manifest

pytestmark = pytest.mark.django_db

MONTH = date(2026, 2, 1)
BEFORE_MONTH = datetime(2026, 1, 5, tzinfo=UTC)
GOOD_USAGE = {"api_calls": 15000, "ai_tokens": 500000, "storage_gb": 25.5, "active_users": 150}


def live_tenant(service=None, **fields) -> Tenant:
    fields.setdefault("created_at", BEFORE_MONTH)
    return TenantFactory(service=service or service_with_manifest(), **fields)


def usage_url(tenant: Tenant) -> str:
    return f"{tenant.service.base_url}/mt/tenant/{tenant.tenant_id}/usage"


def answer(mock, tenant, *, usage_body=None, status=200, period="2026-02", headers=None, body=None):
    if body is None:
        body = {
            "tenant_id": tenant.tenant_id,
            "period": period,
            "usage": GOOD_USAGE if usage_body is None else usage_body,
        }
    mock.get(usage_url(tenant), json=body, status=status, headers=headers)


def collect(month=MONTH, **kwargs):
    ids = usage.usage_reports_prepare(month=month)
    return usage.usage_reports_collect(report_ids=ids, **kwargs)


# --- validation --------------------------------------------------------------------------------


def test_valid_usage_has_no_problem():
    body = {"period": "2026-02", "usage": {**GOOD_USAGE, "quiz_runs": 0}}
    assert usage.usage_problem(body=body, month=MONTH) is None


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        ({**GOOD_USAGE, "api_calls": -1}, "metric api_calls is negative"),
        ({**GOOD_USAGE, "storage_gb": "25.5"}, "metric storage_gb is not a number"),
        ({**GOOD_USAGE, "active_users": True}, "metric active_users is not a number"),
        ({**GOOD_USAGE, "ai_tokens": None}, "metric ai_tokens is not a number"),
        ({**GOOD_USAGE, "ai_tokens": math.inf}, "metric ai_tokens is not a finite number"),
        ({"api_calls": 1, "ai_tokens": 2, "storage_gb": 3}, "missing metric(s): active_users"),
    ],
)
def test_invalid_usage_is_explained(metrics, expected):
    problem = usage.usage_problem(body={"period": "2026-02", "usage": metrics}, month=MONTH)
    assert expected in problem


def test_usage_for_another_month_is_explained():
    problem = usage.usage_problem(body={"period": "2026-01", "usage": GOOD_USAGE}, month=MONTH)
    assert "period is '2026-01', expected '2026-02'" in problem


def test_manifest_metrics_replace_the_seed_metrics():
    service = service_with_manifest()
    service.current_manifest.data["usage_report"] = {"supported": True, "metrics": ["quiz_runs"]}
    assert usage.required_metrics(service) == ("quiz_runs",)
    assert usage.required_metrics(ServiceFactory()) == STANDARD_USAGE_METRICS


# --- who is asked ------------------------------------------------------------------------------


def test_reports_are_prepared_for_tenants_live_in_the_month_once(policy):
    active = live_tenant()
    ended_in_month = live_tenant(
        state=Tenant.State.DEACTIVATED, state_changed_at=datetime(2026, 2, 20, tzinfo=UTC)
    )
    live_tenant(state=Tenant.State.DEACTIVATED, state_changed_at=datetime(2026, 1, 20, tzinfo=UTC))
    live_tenant(created_at=datetime(2026, 3, 2, tzinfo=UTC))  # created after the month
    live_tenant(service=ServiceFactory())  # its service reports no usage
    live_tenant(state=Tenant.State.ACTIVATING)

    first = usage.usage_reports_prepare(month=MONTH)
    second = usage.usage_reports_prepare(month=MONTH)

    assert first == second
    reported = set(UsageReport.objects.values_list("tenant_id", flat=True))
    assert reported == {active.pk, ended_in_month.pk}
    assert set(UsageReport.objects.values_list("month", flat=True)) == {MONTH}


def test_mandatory_policy_asks_every_service(policy):
    policy.usage_reports_mandatory = True
    policy.save()
    silent = live_tenant(service=ServiceFactory())
    usage.usage_reports_prepare(month=MONTH)
    assert UsageReport.objects.filter(tenant=silent).exists()


# --- collecting ----------------------------------------------------------------------------------


def test_valid_answer_is_collected(policy):
    tenant = live_tenant()
    with responses.RequestsMock() as mock:
        answer(mock, tenant)
        result = collect()
        request = mock.calls[0].request
    report = UsageReport.objects.get(tenant=tenant)
    assert result.collected == 1
    assert report.state == UsageReport.State.COLLECTED
    assert report.metrics == GOOD_USAGE
    assert report.attempts == 1
    assert report.collected_at is not None
    assert "period=monthly" in request.url and "month=2026-02" in request.url
    assert request.headers["X-Market-Request-Id"]


@pytest.mark.parametrize(
    ("metrics", "reason_part"),
    [
        ({**GOOD_USAGE, "api_calls": -5}, "api_calls"),
        ({**GOOD_USAGE, "ai_tokens": "lots"}, "ai_tokens"),
        ({"api_calls": 1, "ai_tokens": 2, "storage_gb": 3.5}, "missing metric(s): active_users"),
    ],
)
def test_unusable_answer_is_rejected_with_its_reason(policy, metrics, reason_part):
    tenant = live_tenant()
    with responses.RequestsMock() as mock:
        answer(mock, tenant, usage_body=metrics)
        result = collect()
    report = UsageReport.objects.get(tenant=tenant)
    assert result.rejected == 1
    assert report.state == UsageReport.State.REJECTED
    assert reason_part in report.error
    assert report.metrics == {}


def test_server_error_is_retried_later_with_backoff(policy):
    tenant = live_tenant()
    with responses.RequestsMock() as mock:
        answer(mock, tenant, status=503, body={"error": "busy", "message": "try later"})
        result = collect()
    report = UsageReport.objects.get(tenant=tenant)
    assert result.retrying == 1
    assert report.state == UsageReport.State.PENDING
    assert report.attempts == 1
    assert report.next_attempt_at > timezone.now() + timedelta(minutes=4)
    assert "503" in report.error
    assert usage.usage_reports_due() == []


def test_retry_after_is_respected(policy):
    tenant = live_tenant()
    with responses.RequestsMock() as mock:
        answer(mock, tenant, status=429, body={"error": "slow_down", "message": "later"},
               headers={"Retry-After": "7200"})  # fmt: skip
        collect()
    report = UsageReport.objects.get(tenant=tenant)
    assert report.next_attempt_at > timezone.now() + timedelta(minutes=119)


def test_report_fails_after_the_last_attempt(policy, settings):
    settings.USAGE_MAX_ATTEMPTS = 2
    tenant = live_tenant()
    with responses.RequestsMock() as mock:
        answer(mock, tenant, status=500, body={"error": "boom", "message": "x"})
        collect()
        later = timezone.now() + timedelta(hours=1)
        usage.usage_reports_collect(report_ids=usage.usage_reports_due(now=later), now=later)
        assert len(mock.calls) == 2
    report = UsageReport.objects.get(tenant=tenant)
    assert report.state == UsageReport.State.FAILED
    assert report.attempts == 2


def test_unknown_tenant_fails_without_retrying(policy):
    tenant = live_tenant()
    with responses.RequestsMock() as mock:
        answer(mock, tenant, status=404, body={"error": "tenant_not_found", "message": "no"})
        collect()
    report = UsageReport.objects.get(tenant=tenant)
    assert report.state == UsageReport.State.FAILED
    assert "tenant_not_found" in report.error


def test_a_claimed_report_is_not_asked_twice(policy):
    tenant = live_tenant()
    ids = usage.usage_reports_prepare(month=MONTH)
    with responses.RequestsMock() as mock:
        answer(mock, tenant, status=503, body={"error": "busy", "message": "later"})
        usage.usage_reports_collect(report_ids=ids)
        usage.usage_reports_collect(report_ids=ids)  # a duplicate chunk of the same ids
        assert len(mock.calls) == 1


def test_many_tenants_are_collected_on_the_thread_pool(policy):
    service = service_with_manifest()
    tenants = [live_tenant(service=service) for _ in range(40)]
    with responses.RequestsMock() as mock:
        for tenant in tenants:
            answer(mock, tenant)
        result = collect(threads=8)
        assert len(mock.calls) == 40
    assert result.collected == 40
    assert UsageReport.objects.filter(state=UsageReport.State.COLLECTED).count() == 40


# --- mandatory reports and non-compliance ----------------------------------------------------------


def _without_usage_endpoint(service):
    manifest = service.current_manifest
    manifest.data["endpoints"].pop("usage_report")
    manifest.save(update_fields=["data"])
    return service


def test_mandatory_refusal_marks_the_service_and_tells_the_vendor_once(policy, mailoutbox):
    policy.usage_reports_mandatory = True
    policy.save()
    service = _without_usage_endpoint(service_with_manifest())
    first, second = live_tenant(service=service), live_tenant(service=service)

    with responses.RequestsMock() as mock:
        # No usage_report in the manifest: the standard path is called all the same.
        for tenant in (first, second):
            answer(mock, tenant, status=401, body={"error": "unauthorized", "message": "no key"})
        collect()
        assert len(mock.calls) == 2
        assert "period=monthly" in mock.calls[0].request.url

    service.refresh_from_db()
    assert service.usage_noncompliant_since is not None
    assert set(UsageReport.objects.values_list("failure", flat=True)) == {"refused"}
    assert "HTTP 401" in UsageReport.objects.get(tenant=first).error
    vendor_mails = [m for m in mailoutbox if service.vendor.contact_email in m.to]
    assert len(vendor_mails) == 1
    body = vendor_mails[0].body
    assert service.service_id in body
    assert "refused the request (an HTTP 4xx answer)" in body
    assert "did not answer" not in body

    with responses.RequestsMock() as mock:
        answer(mock, second, status=401, body={"error": "unauthorized", "message": "no key"})
        usage.usage_collect_for_tenant(tenant_id=second.pk, month=MONTH)  # still refused
    assert len([m for m in mailoutbox if service.vendor.contact_email in m.to]) == 1


def test_without_the_mandatory_policy_a_service_without_usage_is_not_called(policy):
    service = _without_usage_endpoint(service_with_manifest())
    live_tenant(service=service)
    with responses.RequestsMock():  # any call would fail the test
        assert collect() == usage.CollectResult(0, 0, 0, 0)
    assert not UsageReport.objects.exists()


def test_a_noted_404_is_not_a_fault(policy, mailoutbox):
    policy.usage_reports_mandatory = True
    policy.save()
    tenant = live_tenant()
    with responses.RequestsMock() as mock:
        answer(mock, tenant, status=404, body={"error": "tenant_not_found", "message": "no"})
        collect()
    report = UsageReport.objects.get(tenant=tenant)
    assert (report.state, report.failure) == (UsageReport.State.FAILED, "")
    tenant.service.refresh_from_db()
    assert tenant.service.usage_noncompliant_since is None
    assert mailoutbox == []


def test_a_collected_report_clears_non_compliance(policy):
    policy.usage_reports_mandatory = True
    policy.save()
    tenant = live_tenant()
    Service.objects.filter(pk=tenant.service_id).update(usage_noncompliant_since=timezone.now())
    with responses.RequestsMock() as mock:
        answer(mock, tenant)
        collect()
    tenant.service.refresh_from_db()
    assert tenant.service.usage_noncompliant_since is None


def test_without_the_mandatory_policy_a_silent_service_is_not_marked(policy, mailoutbox):
    tenant = live_tenant()
    with responses.RequestsMock() as mock:
        answer(mock, tenant, status=404, body={"error": "tenant_not_found", "message": "no"})
        collect()
    tenant.service.refresh_from_db()
    assert tenant.service.usage_noncompliant_since is None
    assert mailoutbox == []


# --- on demand ------------------------------------------------------------------------------------


def test_on_demand_collection_is_idempotent_per_tenant_and_month(policy):
    tenant = live_tenant()
    with responses.RequestsMock() as mock:
        answer(mock, tenant)
        first = usage.usage_collect_for_tenant(tenant_id=tenant.pk, month=date(2026, 2, 14))
        second = usage.usage_collect_for_tenant(tenant_id=tenant.pk, month=MONTH)
        assert len(mock.calls) == 1
        forced = usage.usage_collect_for_tenant(tenant_id=tenant.pk, month=MONTH, force=True)
        assert len(mock.calls) == 2
    assert first.pk == second.pk == forced.pk
    assert forced.state == UsageReport.State.COLLECTED
    assert UsageReport.objects.count() == 1


def test_on_demand_collection_retries_a_rejected_report(policy):
    tenant = live_tenant()
    with responses.RequestsMock() as mock:
        answer(mock, tenant, usage_body={**GOOD_USAGE, "api_calls": -1})
        collect()
    assert UsageReport.objects.get().state == UsageReport.State.REJECTED
    with responses.RequestsMock() as mock:
        answer(mock, tenant)
        report = usage.usage_collect_for_tenant(tenant_id=tenant.pk, month=MONTH)
    assert report.state == UsageReport.State.COLLECTED
    assert report.error == ""


# --- cost per chunk --------------------------------------------------------------------------------


def test_preparing_a_month_takes_the_same_queries_for_more_tenants(policy):
    services = [service_with_manifest(), service_with_manifest(), ServiceFactory()]
    for service in services:
        live_tenant(service=service)
    with CaptureQueriesContext(connection) as few:
        usage.usage_reports_prepare(month=MONTH)
    for service in services:
        for _ in range(5):
            live_tenant(service=service)
    with CaptureQueriesContext(connection) as many:
        ids = usage.usage_reports_prepare(month=date(2026, 3, 1))
    assert len(ids) == 12  # the silent service's 6 tenants are not asked
    assert len(many.captured_queries) == len(few.captured_queries)


def test_due_reports_come_one_service_after_another(policy):
    first, second = service_with_manifest(), service_with_manifest()
    for service in (second, first, second, first):
        live_tenant(service=service)
    ids = usage.usage_reports_prepare(month=MONTH)
    services = [UsageReport.objects.get(pk=pk).tenant.service_id for pk in ids]
    assert services == [first.pk, first.pk, second.pk, second.pk]


def test_collecting_ten_reports_takes_no_more_queries_than_two(
    policy, django_assert_max_num_queries
):
    services = [service_with_manifest(), service_with_manifest()]
    tenants = [live_tenant(service=services[n % 2]) for n in range(12)]
    for tenant in tenants:  # billed already: every collected report completes its statement
        Statement.objects.create(organization=tenant.organization, month=MONTH)
    ids = usage.usage_reports_prepare(month=MONTH)
    few, many = [ids[0], ids[-1]], ids[1:-1]  # both services in each
    with responses.RequestsMock() as mock:
        for tenant in tenants:
            answer(mock, tenant)
        with CaptureQueriesContext(connection) as two:
            assert usage.usage_reports_collect(report_ids=few, threads=4).collected == 2
        with django_assert_max_num_queries(len(two.captured_queries)):
            assert usage.usage_reports_collect(report_ids=many, threads=4).collected == 10
    assert set(UsageReport.objects.values_list("state", flat=True)) == {UsageReport.State.COLLECTED}


class CountingClient(VendorClient):
    opened: list[str]
    closed: list[str]

    def __init__(self, target):
        super().__init__(target)
        self.opened.append(target.service_id)

    def close(self):
        self.closed.append(self.target.service_id)
        super().close()


@pytest.fixture
def counting_client(monkeypatch):
    monkeypatch.setattr(CountingClient, "opened", [], raising=False)
    monkeypatch.setattr(CountingClient, "closed", [], raising=False)
    monkeypatch.setattr(usage, "VendorClient", CountingClient)
    return CountingClient


def test_a_thread_asks_one_services_tenants_with_one_client(policy, counting_client):
    service = service_with_manifest()
    tenants = [live_tenant(service=service) for _ in range(30)]
    with responses.RequestsMock() as mock:
        for tenant in tenants:
            answer(mock, tenant)
        result = collect(threads=3)
        assert len(mock.calls) == 30
    assert result.collected == 30
    assert 1 <= len(counting_client.opened) <= 3  # one per thread, not one per report
    assert sorted(counting_client.closed) == sorted(counting_client.opened)


def test_threads_move_to_another_service_only_when_theirs_has_no_reports_left(
    policy, counting_client
):
    services = [service_with_manifest(), service_with_manifest()]
    tenants = [live_tenant(service=services[n % 2]) for n in range(30)]
    with responses.RequestsMock() as mock:
        for tenant in tenants:
            answer(mock, tenant)
        result = collect(threads=3)
    assert result.collected == 30
    # A thread never goes back to a service it left: at most one client per thread and service.
    assert len(counting_client.opened) <= 3 * 2
    assert sorted(counting_client.closed) == sorted(counting_client.opened)


def test_service_queues_hand_out_every_report_once_keeping_threads_on_their_service():
    services = [1, 1, 1, 1, 2, 2, 3]
    queues = usage._ServiceQueues(
        [SimpleNamespace(tenant=SimpleNamespace(service_id=s)) for s in services]
    )

    first = queues.take(None)
    assert first == (1, 0)  # the service with the most reports
    assert queues.take(None) == (2, 4)  # 2 left per thread beats service 1's 3 left for 2
    assert queues.take(1) == (1, 1)  # a thread keeps to its service
    taken = [first[1], 4, 1]
    current = {"a": 1, "b": 2}
    while True:
        progressed = False
        for thread, service_id in current.items():
            item = queues.take(service_id)
            if item is not None:
                progressed = True
                current[thread] = item[0]
                taken.append(item[1])
        if not progressed:
            break
    assert sorted(taken) == list(range(len(services)))
    assert queues.take(None) is None


def test_a_service_whose_calls_cannot_be_prepared_fails_only_its_own_reports(policy, monkeypatch):
    broken, working = service_with_manifest(), service_with_manifest()
    broken_tenant, working_tenant = live_tenant(service=broken), live_tenant(service=working)
    real_target = usage.vendor_target

    def vendor_target(service):
        if service.pk == broken.pk:
            raise ValueError("the credential cannot be decrypted")
        return real_target(service)

    monkeypatch.setattr(usage, "vendor_target", vendor_target)
    with responses.RequestsMock() as mock:
        answer(mock, working_tenant)
        result = collect()
        assert len(mock.calls) == 1

    assert (result.collected, result.failed) == (1, 1)
    failed = UsageReport.objects.get(tenant=broken_tenant)
    assert failed.state == UsageReport.State.FAILED
    assert "could not be made (ValueError: the credential cannot be decrypted)" in failed.error


def test_the_api_list_order_is_the_order_of_an_index():
    """The usage list sorts by ``ordering``; an index in that order spares PostgreSQL the sort."""
    indexed = [index.fields for index in UsageReport._meta.indexes]
    assert UsageReportViewSet.ordering in indexed
