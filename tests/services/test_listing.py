"""The listing gate: a new service waits for its checklist; staff can approve by hand."""

import datetime
import importlib

import pytest
import yaml
from django.apps import apps as django_apps
from django.urls import reverse
from django.utils import translation

from market.models import MarketPolicy
from services.listing import listing_blockers, listing_checklist, plan_price_set
from services.models import ConformanceRun, Plan, Service
from services.services import manifest_update, service_approve, service_register
from tests.factories import ManifestFactory, ServiceFactory, VendorFactory
from tests.support.vendors import TEST_CREDENTIALS, manifest_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _register(base_url, **overrides) -> Service:
    service, _issued = service_register(
        vendor=VendorFactory(),
        raw_text=manifest_text(base_url=base_url, **overrides),
        credentials=TEST_CREDENTIALS,
    )
    return service


def _features_with_unpriced_plan(base_url: str) -> dict:
    """The seed's form: a plan known only from ``features`` declares no price."""
    features = yaml.safe_load(manifest_text(base_url=base_url))["features"]
    return {**features, "campus": ["ai_chat"]}


def _passing_run(service) -> ConformanceRun:
    return ConformanceRun.objects.create(service=service, result=ConformanceRun.Result.PASSED)


def test_a_new_service_waits_for_a_passing_conformance_run(reference_vendor):
    service = _register(reference_vendor.base_url)
    assert service.status == Service.Status.PENDING_REVIEW
    items = {item.key: item for item in listing_checklist(service)}
    assert set(items) == {"conformance", "prices"}
    assert not items["conformance"].done
    assert "Run the conformance kit" in items["conformance"].detail
    assert items["prices"].done


def test_the_latest_run_decides_and_a_run_before_the_current_manifest_does_not_count(
    reference_vendor,
):
    service = _register(reference_vendor.base_url)
    old = _passing_run(service)
    ConformanceRun.objects.filter(pk=old.pk).update(
        created_at=service.current_manifest.created_at - datetime.timedelta(minutes=1)
    )
    assert [b.key for b in listing_blockers(service)] == ["conformance"]
    ConformanceRun.objects.create(
        service=service, result=ConformanceRun.Result.FAILED, failed_count=3
    )
    (blocker,) = listing_blockers(service)
    assert "failed 3 required check(s)" in blocker.detail


def test_a_plan_without_a_price_is_not_0_krw_until_staff_set_one(reference_vendor):
    service = _register(
        reference_vendor.base_url, features=_features_with_unpriced_plan(reference_vendor.base_url)
    )
    premium = Plan.objects.get(service=service, code="campus")
    assert (premium.price, premium.price_set) == (0, False)
    _passing_run(service)
    (blocker,) = listing_blockers(service)
    assert blocker.key == "prices"
    assert "campus" in blocker.detail and "basic" not in blocker.detail

    plan_price_set(plan=premium, price=250000)  # staff
    service.refresh_from_db()
    assert service.status == Service.Status.LISTED
    assert service.listed_via == Service.ListedVia.GATE

    # A later manifest that still leaves the price out keeps the price staff set.
    manifest_update(
        service=service,
        raw_text=manifest_text(
            base_url=reference_vendor.base_url,
            features=_features_with_unpriced_plan(reference_vendor.base_url),
        ),
    )
    premium.refresh_from_db()
    assert (premium.price, premium.price_set) == (250000, True)


def test_a_negative_price_is_refused_with_what_to_write():
    plan = Plan.objects.create(service=ServiceFactory(), code="x", name="X")
    with pytest.raises(ValueError, match="write 0 for a free plan"):
        plan_price_set(plan=plan, price=-1)
    plan.refresh_from_db()
    assert plan.price_set is False


def test_a_passing_run_lists_the_service_through_the_gate(reference_vendor):
    from services.conformance import conformance_run

    service = _register(reference_vendor.base_url)
    run = conformance_run(service=service)
    assert run.result == ConformanceRun.Result.PASSED, run.report
    service.refresh_from_db()
    assert (service.status, service.listed_via) == (Service.Status.LISTED, "gate")


def test_with_conformance_switched_off_a_priced_service_is_listed_at_once(reference_vendor):
    policy = MarketPolicy.load()
    assert policy.require_conformance is True  # the default
    policy.require_conformance = False
    policy.save()
    service = _register(reference_vendor.base_url)
    assert (service.status, service.listed_via) == (Service.Status.LISTED, "gate")


def test_staff_approval_by_hand_lists_whatever_the_checklist_says(reference_vendor):
    service = _register(reference_vendor.base_url)
    assert listing_blockers(service)
    service_approve(service=service)
    service.refresh_from_db()
    assert (service.status, service.listed_via) == (Service.Status.LISTED, "staff")


def test_services_listed_before_the_gate_stay_listed_marked_grandfathered():
    migration = importlib.import_module("services.migrations.0004_listing_checklist")
    listed = ServiceFactory(status=Service.Status.LISTED, listed_via="")
    waiting = ServiceFactory(status=Service.Status.PENDING_REVIEW, listed_via="")
    manifest = ManifestFactory(service=listed)
    listed.current_manifest = manifest
    listed.save()
    priced = Plan.objects.create(service=listed, code="basic", name="Basic", price=1000)
    free = Plan.objects.create(service=listed, code="free", name="Free", price=0)

    migration.grandfather_listed_services(django_apps, None)

    listed.refresh_from_db()
    waiting.refresh_from_db()
    assert (listed.status, listed.listed_via) == (Service.Status.LISTED, "grandfathered")
    assert (waiting.status, waiting.listed_via) == (Service.Status.PENDING_REVIEW, "")
    assert Plan.objects.get(pk=priced.pk).price_set is True
    assert Plan.objects.get(pk=free.pk).price_set is False  # 0 and not declared


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ko", ["학교에는 아직 이 서비스가 보이지 않습니다", "필수 적합성 검사 통과"]),
        ("en", ["Schools do not see this service yet", "Pass the required conformance checks"]),
    ],
)
def test_the_vendor_sees_its_checklist(client, reference_vendor, language, expected):
    from tests.factories import VendorUserFactory

    service = _register(reference_vendor.base_url)
    user = VendorUserFactory(vendor=service.vendor)
    client.force_login(user)
    with translation.override(language):
        url = reverse("vendor-service", args=[service.service_id])
    client.cookies["django_language"] = language
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    text = response.content.decode()
    assert response.status_code == 200
    assert 'data-check="conformance"' in text
    for phrase in expected:
        assert phrase in text, phrase


def test_a_price_staff_type_in_the_admin_counts_as_set(client, reference_vendor):
    from tests.factories import StaffFactory

    service = _register(
        reference_vendor.base_url,
        features=_features_with_unpriced_plan(reference_vendor.base_url),
    )
    _passing_run(service)
    plan = Plan.objects.get(service=service, code="campus")
    client.force_login(StaffFactory())
    url = reverse("admin:services_plan_change", args=[plan.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(price="30000", features='["ai_chat"]', allowed_changes="[]", unit_prices="{}")
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    plan.refresh_from_db()
    assert (plan.price, plan.price_set) == (30000, True)
    service.refresh_from_db()
    assert (service.status, service.listed_via) == (Service.Status.LISTED, "gate")
