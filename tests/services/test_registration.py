"""Vendor registration: validate, refuse private addresses, call health, register; nothing half-done."""

import pytest

from market.models import MarketPolicy
from services.models import Manifest, Plan, Service, ServiceCredential
from services.services import (
    RegistrationError,
    credential_rotate,
    manifest_update,
    service_register,
)
from tests.factories import SubscriptionFactory, VendorFactory
from tests.services.test_guard import DISGUISED_URLS
from tests.support.vendors import manifest_text

pytestmark = pytest.mark.django_db


def test_registration_against_the_reference_vendor_holds_the_service_with_plans(reference_vendor):
    vendor = VendorFactory()
    service, issued = service_register(
        vendor=vendor, raw_text=manifest_text(base_url=reference_vendor.base_url)
    )
    # The safe default: not shown to schools before a passing conformance run.
    assert service.status == Service.Status.PENDING_REVIEW
    assert service.listed_via == ""
    assert service.current_manifest.number == 1
    assert set(service.plans.values_list("code", flat=True)) == {"basic", "standard", "premium"}
    assert Plan.objects.get(service=service, code="premium").price > 0
    assert issued.api_key.startswith("mk_") and issued.signing_secret.startswith("whsec_")
    credential = ServiceCredential.objects.get(service=service)
    assert credential.api_key == issued.api_key


def test_policy_can_hold_new_services_for_staff_review(reference_vendor):
    policy = MarketPolicy.load()
    policy.require_staff_approval = True
    policy.save()
    service, _ = service_register(
        vendor=VendorFactory(), raw_text=manifest_text(base_url=reference_vendor.base_url)
    )
    assert service.status == Service.Status.PENDING_REVIEW


def test_an_invalid_manifest_is_kept_for_the_vendor_but_registers_nothing():
    vendor = VendorFactory()
    with pytest.raises(RegistrationError) as refused:
        service_register(vendor=vendor, raw_text="version: '9.9'\nservice: 3\n")
    assert refused.value.errors
    assert Service.objects.count() == 0
    kept = Manifest.objects.get(vendor=vendor)
    assert kept.is_valid is False and kept.errors


@pytest.mark.parametrize(
    "url",
    [u.replace("http://", "https://", 1) for u in DISGUISED_URLS if u.startswith("http://")],
)
def test_private_base_urls_are_refused_at_registration(url, settings, connection_log):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = []
    with pytest.raises(RegistrationError) as refused:
        service_register(vendor=VendorFactory(), raw_text=manifest_text(base_url=url.rstrip("/")))
    assert refused.value.message or refused.value.errors
    assert Service.objects.count() == 0
    assert connection_log == []


@pytest.mark.parametrize("address", ["169.254.169.254", "10.0.0.1"])
def test_metadata_and_private_addresses_get_a_clear_message(address, settings, connection_log):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = []
    with pytest.raises(RegistrationError) as refused:
        service_register(
            vendor=VendorFactory(), raw_text=manifest_text(base_url=f"https://{address}")
        )
    assert address in refused.value.message
    assert "public address" in refused.value.message
    assert connection_log == []


def test_a_vendor_that_does_not_answer_gets_a_reason_and_no_half_registered_service(unused_port):
    with pytest.raises(RegistrationError) as refused:
        service_register(
            vendor=VendorFactory(),
            raw_text=manifest_text(base_url=f"http://127.0.0.1:{unused_port}"),
        )
    assert f"127.0.0.1:{unused_port}" in refused.value.message  # says what failed, any language
    assert "refused" in refused.value.message  # and why (the transport's reason)
    assert Service.objects.count() == 0
    assert ServiceCredential.objects.count() == 0


def test_unhealthy_service_is_not_registered(tmp_path):
    from tests.support.vendors import RunningVendor

    sick = RunningVendor(tmp_path, health_status="unhealthy")
    try:
        with pytest.raises(RegistrationError, match="unhealthy"):
            service_register(vendor=VendorFactory(), raw_text=manifest_text(base_url=sick.base_url))
    finally:
        sick.stop()
    assert Service.objects.count() == 0


def test_manifest_update_refuses_to_remove_a_plan_live_subscriptions_use(reference_vendor):
    import yaml

    service, _ = service_register(
        vendor=VendorFactory(), raw_text=manifest_text(base_url=reference_vendor.base_url)
    )
    SubscriptionFactory(service=service, plan=service.plans.get(code="premium"))
    data = yaml.safe_load(manifest_text(base_url=reference_vendor.base_url))
    del data["plans"]["premium"]
    del data["features"]["premium"]
    for plan in data["plans"].values():
        plan["allowed_changes"] = [c for c in plan.get("allowed_changes", []) if c != "premium"]
    for only_in_premium in ("quiz", "api_integration"):  # a label names an offered feature
        del data["labels"]["features"][only_in_premium]
    with pytest.raises(RegistrationError, match="premium"):
        manifest_update(service=service, raw_text=yaml.safe_dump(data))
    service.refresh_from_db()
    assert service.current_manifest.number == 1
    assert service.plans.get(code="premium").is_active


def test_manifest_update_applies_a_new_version(reference_vendor):
    service, _ = service_register(
        vendor=VendorFactory(), raw_text=manifest_text(base_url=reference_vendor.base_url)
    )
    text = manifest_text(base_url=reference_vendor.base_url).replace(
        "Reference Tutor", "Reference Tutor 2"
    )
    manifest = manifest_update(service=service, raw_text=text)
    service.refresh_from_db()
    assert manifest.number == 2
    assert service.current_manifest_id == manifest.pk
    assert service.name == "Reference Tutor 2"


def test_a_refused_manifest_update_is_kept_in_the_services_own_history(reference_vendor):
    text = manifest_text(base_url=reference_vendor.base_url)
    service, _ = service_register(vendor=VendorFactory(), raw_text=text)
    with pytest.raises(RegistrationError):
        manifest_update(service=service, raw_text='version: "2.0"\n')
    refused = service.manifests.get(number=2)
    assert refused.is_valid is False
    assert refused.vendor_id == service.vendor_id
    assert refused.raw_text == 'version: "2.0"\n'
    assert any(error["pointer"] == "/version" for error in refused.errors)
    service.refresh_from_db()
    assert service.current_manifest.number == 1, "the refused version is not applied"
    accepted = manifest_update(service=service, raw_text=text.replace("Reference Tutor", "Tutor 3"))
    assert accepted.number == 3


def test_rotation_keeps_the_old_credential_valid_during_the_overlap(reference_vendor):
    from services.vendor_targets import vendor_target

    service, first = service_register(
        vendor=VendorFactory(), raw_text=manifest_text(base_url=reference_vendor.base_url)
    )
    second = credential_rotate(service=service, overlap_hours=24)
    target = vendor_target(service)
    assert target.api_key == second.api_key
    assert target.signing_secrets == [second.signing_secret, first.signing_secret]


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_passing_conformance_run_lists_a_service_held_back_for_it(reference_vendor):
    from services.conformance import conformance_run
    from tests.support.vendors import register_reference_service

    policy = MarketPolicy.load()
    policy.require_conformance = True
    policy.save()
    service = register_reference_service(
        vendor=VendorFactory(), base_url=reference_vendor.base_url, listed=False
    )
    assert service.status == Service.Status.PENDING_REVIEW
    run = conformance_run(service=service)
    assert run.result == run.Result.PASSED
    service.refresh_from_db()
    assert service.status == Service.Status.LISTED


def test_staff_can_run_conformance_and_approve_from_the_admin(client, reference_vendor):
    from django.urls import reverse

    from tests.factories import StaffFactory
    from tests.support.vendors import register_reference_service

    policy = MarketPolicy.load()
    policy.require_staff_approval = True
    policy.save()
    service = register_reference_service(
        vendor=VendorFactory(), base_url=reference_vendor.base_url, listed=False
    )
    client.force_login(StaffFactory())
    url = reverse("admin:services_service_changelist")
    client.post(url, {"action": "run_conformance", "_selected_action": [service.pk]})
    assert service.conformance_runs.get().result == "passed"
    service.refresh_from_db()
    assert service.status == Service.Status.PENDING_REVIEW  # staff approval is still required
    client.post(url, {"action": "approve_services", "_selected_action": [service.pk]})
    service.refresh_from_db()
    assert service.status == Service.Status.LISTED
    assert service.listed_via == Service.ListedVia.STAFF
