"""The usage policy as written: under "usage reports are mandatory" a service that declares no
``usage_report`` is called at the standard path, and only a refused, malformed or missing
answer makes it non-compliant, with a mail that says which of those happened.

End to end: HTTP stub vendors on 127.0.0.1 (manifests without ``endpoints.usage_report``),
activations and the monthly collection run by a real Celery worker.
"""

import datetime

import pytest
import yaml
from django.utils import timezone

from market.models import MarketPolicy
from monitoring import tasks as monitoring_tasks
from monitoring import usage
from monitoring.models import UsageReport
from services.models import Service
from tenants.models import Tenant
from tests.support.stub_vendor import StubVendor, error, refuse, register_stub_service, reply
from tests.support.vendors import REFERENCE_MANIFEST, TEST_CREDENTIALS
from tests.support.worker import wait_until

pytestmark = pytest.mark.worker

WITHOUT_USAGE = {
    key: value
    for key, value in yaml.safe_load(REFERENCE_MANIFEST.read_text())["endpoints"].items()
    if key != "usage_report"
}


def _service_without_usage(stub: StubVendor, service_id: str) -> Service:
    endpoints = {**WITHOUT_USAGE, "base_url": stub.base_url}
    return register_stub_service(
        stub, service_id=service_id, endpoints=endpoints, usage_report={"supported": False}
    )


def _active_tenant(service, subscribe, slug) -> Tenant:
    subscription = subscribe(service, slug=slug)
    tenant_pk = subscription.tenant_id
    wait_until(
        lambda: Tenant.objects.get(pk=tenant_pk).state == Tenant.State.ACTIVE,
        timeout=30,
        message=f"{slug} never became active",
    )
    return Tenant.objects.get(pk=tenant_pk)


def _report(tenant) -> UsageReport:
    return wait_until(
        lambda: (
            UsageReport.objects.filter(tenant=tenant)
            .exclude(state=UsageReport.State.PENDING)
            .first()
        ),
        timeout=30,
        message=f"the usage of {tenant.tenant_id} was never collected",
    )


@pytest.fixture
def mandatory(transactional_db):
    policy = MarketPolicy.load()
    policy.usage_reports_mandatory = True
    policy.save()
    return policy


def test_mandatory_usage_calls_the_standard_path_and_says_what_went_wrong(
    workers, subscribe, mandatory, sent_mail_dir
):
    with (
        StubVendor(api_key=TEST_CREDENTIALS.api_key) as good_stub,
        StubVendor(api_key=TEST_CREDENTIALS.api_key) as refusing_stub,
        StubVendor(api_key=TEST_CREDENTIALS.api_key) as malformed_stub,
    ):
        good = _service_without_usage(good_stub, "good_usage")
        refusing = _service_without_usage(refusing_stub, "refusing_usage")
        broken = _service_without_usage(malformed_stub, "malformed_usage")
        for service in (good, refusing, broken):
            assert "usage_report" not in service.manifest_data["endpoints"]
        workers.start()
        good_tenant = _active_tenant(good, subscribe, "usage_good")
        refused_tenant = _active_tenant(refusing, subscribe, "usage_refused")
        broken_tenant = _active_tenant(broken, subscribe, "usage_malformed")
        refusing_stub.always("usage", refuse(403, "usage is not for you"))
        month = timezone.localdate().replace(day=1)
        malformed_stub.always(
            "usage",
            lambda exchange: reply(
                200,
                {
                    "tenant_id": exchange.request.tenant_id,
                    "period": month.strftime("%Y-%m"),
                    "usage": {"api_calls": -5, "ai_tokens": "many"},
                },
            )(exchange),
        )

        monitoring_tasks.collect_monthly_usage.delay(month.strftime("%Y-%m"))

        collected = _report(good_tenant)
        refused = _report(refused_tenant)
        malformed = _report(broken_tenant)

        # Called at the founding document's path, with no change at the service.
        (request,) = good_stub.requests_to("usage")
        assert request.path.startswith(f"/mt/tenant/{good_tenant.tenant_id}/usage?")
        assert "period=monthly" in request.path
        assert f"month={month:%Y-%m}" in request.path
        assert collected.state == UsageReport.State.COLLECTED
        assert collected.failure == ""

        assert refused.state == UsageReport.State.FAILED
        assert refused.failure == UsageReport.Failure.REFUSED
        assert "HTTP 403" in refused.error
        assert len(refusing_stub.requests_to("usage")) == 1  # a refusal is not retried

        assert malformed.state == UsageReport.State.REJECTED
        assert malformed.failure == UsageReport.Failure.MALFORMED
        assert "usage/api_calls: -5 is less than the minimum of 0" in malformed.error
        assert malformed.metrics == {}

        def compliance():
            return {
                s.service_id: s.usage_noncompliant_since is not None
                for s in Service.objects.filter(pk__in=[good.pk, refusing.pk, broken.pk])
            }

        assert wait_until(
            lambda: (
                compliance()
                == {"good_usage": False, "refusing_usage": True, "malformed_usage": True}
            ),
            timeout=10,
            message="non-compliance was not marked as expected",
        )

        def noncompliance_mails():
            found = [
                f.read_text()
                for f in sorted(sent_mail_dir.glob("*.log"))
                if "refusing_usage" in f.read_text() or "malformed_usage" in f.read_text()
            ]
            # A vendor's usage is collected in a chain of its own (the bulkhead), so each
            # vendor's non-compliance may come in a mail of its own: wait for both.
            text = "\n".join(found)
            return found if "(refusing_usage)" in text and "(malformed_usage)" in text else []

        mails = wait_until(
            noncompliance_mails, timeout=15, message="no non-compliance mail was sent"
        )
        text = "\n".join(mails)  # in Korean, the market's language
        refusing_line = text.split("(refusing_usage)")[1].splitlines()[0]
        assert "서비스가 요청을 거부했습니다(HTTP 4xx 응답)" in refusing_line
        malformed_line = text.split("(malformed_usage)")[1].splitlines()[0]
        assert "쓸 수 있는 사용량 보고가 아니었습니다" in malformed_line
        assert "응답하지 않았습니다" not in text  # nothing went unanswered
        assert "/mt/tenant/{tenant_id}/usage?period=monthly" in text
        assert "good_usage" not in text


def test_a_vendor_silent_after_every_retry_is_missing(
    transactional_db, mandatory, settings, mailoutbox
):
    """In process: no answer after the last attempt is "missing" and the mail says so."""
    settings.USAGE_MAX_ATTEMPTS = 1
    settings.LANGUAGE_CODE = "en"
    with StubVendor(api_key=TEST_CREDENTIALS.api_key) as stub:
        service = _service_without_usage(stub, "silent_usage")
        stub.seed_tenant("silent_school")
        from tests.factories import TenantFactory

        tenant = TenantFactory(
            service=service,
            tenant_id="silent_school",
            state=Tenant.State.ACTIVE,
            created_at=timezone.now() - datetime.timedelta(days=40),
        )
        stub.always("usage", error(503))
        month = timezone.localdate().replace(day=1)
        result = usage.usage_reports_collect(report_ids=usage.usage_reports_prepare(month=month))
    assert result.failed == 1
    report = UsageReport.objects.get(tenant=tenant)
    assert report.failure == UsageReport.Failure.MISSING
    service.refresh_from_db()
    assert service.usage_noncompliant_since is not None
    (mail,) = [m for m in mailoutbox if service.vendor.contact_email in m.to]
    assert "did not answer after every retry" in mail.body
    assert "/mt/tenant/{tenant_id}/usage?period=monthly" in mail.body
