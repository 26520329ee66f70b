"""The vendor's pages: sign-up, registration, manifests, credentials, tenants, conformance."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from market.models import User
from services.models import ConformanceRun, Manifest, Service, ServiceCredential
from tests.support.vendors import manifest_text, register_reference_service

pytestmark = pytest.mark.django_db


def signup_data(**overrides):
    data = {
        "name": "K-University AI Lab",
        "contact_email": "lab@k-university.example",
        "username": "klab",
        "password1": "a-long-unusual-passphrase-42",
        "password2": "a-long-unusual-passphrase-42",
    }
    data.update(overrides)
    return data


# --- sign-up ---------------------------------------------------------------------------------


def test_vendor_signup_creates_the_vendor_and_logs_in(client):
    response = client.post(reverse("vendor-signup"), signup_data())
    assert response.status_code == 302
    assert response.url == reverse("vendor-service-new")
    user = User.objects.get(username="klab")
    assert user.vendor.name == "K-University AI Lab"
    assert client.get(reverse("vendor-home")).status_code == 200


def test_vendor_signup_shows_errors_next_to_fields_and_keeps_input(client):
    User.objects.create_user(username="taken", password="x")
    response = client.post(
        reverse("vendor-signup"), signup_data(username="taken", password2="different")
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_username_error"' in page
    assert 'id="id_password2_error"' in page
    assert 'value="K-University AI Lab"' in page
    assert "a-long-unusual-passphrase-42" not in page, "passwords are never echoed back"
    assert not User.objects.filter(username="klab").exists()


def test_login_page_links_to_vendor_signup(client):
    assert reverse("vendor-signup") in client.get(reverse("login")).content.decode()


# --- registration ----------------------------------------------------------------------------


def test_registering_a_manifest_shows_the_credentials_once(world, as_user, reference_vendor):
    client = as_user(world.vendor_user_a)
    text = manifest_text(base_url=reference_vendor.base_url, service_id="lab_tutor")
    response = client.post(reverse("vendor-service-new"), {"manifest": text})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    service = Service.objects.get(service_id="lab_tutor")
    assert service.vendor == world.vendor_a
    credential = ServiceCredential.objects.get(service=service)
    page = response.content.decode()
    assert credential.api_key in page
    assert credential.signing_secret in page
    # The service page never shows them again.
    detail = client.get(reverse("vendor-service", args=["lab_tutor"])).content.decode()
    assert credential.api_key not in detail
    assert credential.signing_secret not in detail


def test_registering_by_file_upload(world, as_user, reference_vendor):
    client = as_user(world.vendor_user_a)
    text = manifest_text(base_url=reference_vendor.base_url, service_id="uploaded_tutor")
    upload = SimpleUploadedFile("manifest.yaml", text.encode(), content_type="text/yaml")
    response = client.post(reverse("vendor-service-new"), {"manifest_file": upload})
    assert response.status_code == 200
    assert Service.objects.filter(service_id="uploaded_tutor", vendor=world.vendor_a).exists()


def test_manifest_errors_sit_under_the_lines_they_point_at_in_korean(world, as_user):
    client = as_user(world.vendor_user_a)
    text = 'version: "1.0"\nservice:\n  id: "Bad Id"\n'
    response = client.post(reverse("vendor-service-new"), {"manifest": text})
    assert response.status_code == 200
    page = response.content.decode()
    line_3 = re.search(r'<li class="has-error" id="line-3">(.*?)</ul></li>', page, re.S)
    assert line_3, "line 3 carries its error"
    assert "Bad Id" in line_3.group(1)
    assert "/service/id" in line_3.group(1)
    assert "형식" in line_3.group(1), "the manifest's Korean message is used"
    assert "Bad Id" in page[page.index("<textarea") :], "the text area keeps what was typed"
    assert not Service.objects.filter(vendor=world.vendor_a, service_id="bad_id").exists()
    assert Manifest.objects.filter(vendor=world.vendor_a, service__isnull=True).count() == 1


def test_manifest_errors_are_in_english_after_switching(world, as_user):
    client = as_user(world.vendor_user_a)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = client.post(
        reverse("vendor-service-new"), {"manifest": 'version: "1.0"\nservice:\n  id: "Bad Id"\n'}
    )
    line_3 = re.search(r'id="line-3">(.*?)</ul></li>', response.content.decode(), re.S)
    assert "is not in the expected form" in line_3.group(1)


def test_rejected_submissions_are_listed_with_their_errors(world, as_user):
    client = as_user(world.vendor_user_a)
    client.post(reverse("vendor-service-new"), {"manifest": 'version: "2.0"\n'})
    page = client.get(reverse("vendor-submissions")).content.decode()
    assert 'id="line-1"' in page
    assert "/version" in page


def test_an_empty_submission_asks_for_a_manifest(world, as_user):
    response = as_user(world.vendor_user_a).post(reverse("vendor-service-new"), {"manifest": ""})
    assert response.status_code == 200
    assert 'id="id_manifest_error"' in response.content.decode()


def test_a_new_manifest_version_is_diffed_against_the_previous(world, as_user, reference_vendor):
    client = as_user(world.vendor_user_a)
    first = manifest_text(base_url=reference_vendor.base_url, service_id="lab_tutor")
    client.post(reverse("vendor-service-new"), {"manifest": first})
    second = first.replace("Reference Tutor", "Reference Tutor Plus")
    response = client.post(
        reverse("vendor-manifest-submit", args=["lab_tutor"]), {"manifest": second}
    )
    assert response.status_code == 302
    assert response.url == reverse("vendor-manifest", args=["lab_tutor", 2])
    page = client.get(response.url).content.decode()
    assert '<span class="del">' in page
    assert re.search(r'<span class="add">.*Reference Tutor Plus', page)
    assert Service.objects.get(service_id="lab_tutor").name == "Reference Tutor Plus"


def test_a_refused_update_is_in_the_services_versions_and_in_the_rejected_list(
    world, as_user, reference_vendor
):
    client = as_user(world.vendor_user_a)
    text = manifest_text(base_url=reference_vendor.base_url, service_id="lab_tutor")
    client.post(reverse("vendor-service-new"), {"manifest": text})
    response = client.post(
        reverse("vendor-manifest-submit", args=["lab_tutor"]), {"manifest": 'version: "2.0"\n'}
    )
    assert response.status_code == 200
    service_page = client.get(reverse("vendor-service", args=["lab_tutor"])).content.decode()
    versions = service_page[service_page.index('id="manifests-title"') :]
    assert re.search(r">#2</a>.*?거부됨", versions, re.S), "the refused version is marked"
    detail = client.get(reverse("vendor-manifest", args=["lab_tutor", 2]))
    assert detail.status_code == 200
    assert "거부됨" in detail.content.decode()
    rejected = client.get(reverse("vendor-submissions")).content.decode()
    assert "/version" in rejected, "refused updates are listed with refused registrations"


def test_a_manifest_for_another_service_id_is_refused_on_the_update_page(
    world, as_user, reference_vendor
):
    client = as_user(world.vendor_user_a)
    client.post(
        reverse("vendor-service-new"),
        {"manifest": manifest_text(base_url=reference_vendor.base_url, service_id="lab_tutor")},
    )
    response = client.post(
        reverse("vendor-manifest-submit", args=["lab_tutor"]),
        {"manifest": manifest_text(base_url=reference_vendor.base_url, service_id="other_id")},
    )
    assert response.status_code == 200
    assert "other_id" in response.content.decode()
    assert Service.objects.get(service_id="lab_tutor").manifests.count() == 1


def test_rotating_credentials_shows_the_new_ones_once(world, as_user):
    old = ServiceCredential.objects.create(
        service=world.service_a, api_key="old", signing_secret="old"
    )
    client = as_user(world.vendor_user_a)
    url = reverse("vendor-credentials-rotate", args=["alpha_tutor"])
    assert client.get(url).status_code == 200
    assert world.service_a.credentials.count() == 1, "the confirmation page changes nothing"
    response = client.post(url)
    current = world.service_a.credentials.get(expires_at__isnull=True)
    page = response.content.decode()
    assert current.api_key in page
    assert current.signing_secret in page
    assert "no-store" in response["Cache-Control"]
    assert current.api_key != "old"
    old.refresh_from_db()
    assert old.expires_at is not None, "the old credential stays valid for the overlap"


# --- tenants and conformance -----------------------------------------------------------------


def test_tenant_page_shows_every_call_with_its_exact_answer(world, as_user):
    tenant_pk = world.subscription_a.tenant_id
    page = (
        as_user(world.vendor_user_a)
        .get(reverse("vendor-tenant", args=["alpha_tutor", tenant_pk]))
        .content.decode()
    )
    assert "HTTP 422" in page
    assert "secret-error-of-alpha" in page
    assert "body-of-alpha" in page
    assert "event-of-alpha" in page


def test_run_conformance_calls_the_kit_and_shows_its_report(world, as_user, monkeypatch):
    calls = []

    def fake_run(service, started_by=None):
        calls.append((service, started_by))
        return ConformanceRun.objects.create(
            service=service,
            started_by=started_by,
            result=ConformanceRun.Result.FAILED,
            failed_count=1,
            report={"results": [{"id": "activate.idempotent", "title": "activate is idempotent",
                                 "required": True, "outcome": "FAIL",
                                 "detail": "second activate changed the tenant"}]},
        )  # fmt: skip

    monkeypatch.setattr("portal.vendor_views._conformance_runner", lambda: fake_run)
    client = as_user(world.vendor_user_a)
    response = client.post(reverse("vendor-conformance-start", args=["alpha_tutor"]))
    assert calls == [(world.service_a, world.vendor_user_a)]
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "activate is idempotent" in page
    assert "second activate changed the tenant" in page


def test_a_recommended_check_that_did_not_pass_shows_as_a_warning_with_its_rule(world, as_user):
    run = ConformanceRun.objects.create(
        service=world.service_a,
        result=ConformanceRun.Result.PASSED,
        report={"results": [{"id": "auth.error_codes", "title": "every refusal is 401",
                             "required": False, "level": "recommended", "outcome": "WARN",
                             "source": "standard §4 Errors", "detail": "no invalid_signature"}]},
    )  # fmt: skip

    page = as_user(world.vendor_user_a).get(
        reverse("vendor-conformance", args=["alpha_tutor", run.pk])
    )

    html = page.content.decode()
    assert '<span class="badge state-warning">경고</span>' in html
    assert "(권장 항목)" in html and "standard §4 Errors" in html


def test_run_conformance_without_the_kit_says_so(world, as_user, monkeypatch):
    monkeypatch.setattr("portal.vendor_views._conformance_runner", lambda: None)
    client = as_user(world.vendor_user_a)
    response = client.post(reverse("vendor-conformance-start", args=["alpha_tutor"]), follow=True)
    assert response.status_code == 200
    assert world.service_a.conformance_runs.count() == 1


def test_vendor_home_lists_services_with_health_and_failed_calls(world, as_user):
    response = as_user(world.vendor_user_a).get(reverse("vendor-home"))
    services = list(response.context["services"])
    assert [s.service_id for s in services] == ["alpha_tutor"]
    assert services[0].tenant_count == 1
    assert services[0].failed_operations == 1


def test_run_conformance_runs_the_kit_against_the_vendor(world, as_user, reference_vendor):
    service = register_reference_service(
        vendor=world.vendor_a, base_url=reference_vendor.base_url, service_id="ref_tutor"
    )
    client = as_user(world.vendor_user_a)
    response = client.post(reverse("vendor-conformance-start", args=["ref_tutor"]))
    run = service.conformance_runs.get()
    assert response.url == reverse("vendor-conformance", args=["ref_tutor", run.pk])
    assert run.result == ConformanceRun.Result.PASSED, run.report
    page = client.get(response.url).content.decode()
    assert page.count('<td><span class="badge state-passed">') == run.passed_count > 0


def test_submitting_the_current_manifest_again_makes_no_new_version(world, as_user):
    client = as_user(world.vendor_user_a)
    current = world.service_a.current_manifest
    response = client.post(
        reverse("vendor-manifest-submit", args=["alpha_tutor"]), {"manifest": current.raw_text}
    )
    assert response.url == reverse("vendor-manifest", args=["alpha_tutor", current.number])
    assert world.service_a.manifests.count() == 1
