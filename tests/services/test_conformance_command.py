"""`manage.py conformance` and `services.conformance.conformance_run` against the reference
vendor (and broken variants of it) on 127.0.0.1."""

from __future__ import annotations

import json
from io import StringIO

import jwt
import pytest
from django.core.management import CommandError, call_command
from junitparser import JUnitXml

from services.conformance import conformance_run
from services.models import ConformanceRun
from services.vendor_client import jwt_keys
from tests.factories import VendorFactory
from tests.support.vendors import TEST_CREDENTIALS, register_reference_service
from tests.vendorkit.broken_vendors import (
    IMPRECISE_VENDORS,
    IgnoresApiKey,
    start_vendor,
)
from tests.vendorkit.conformance_oauth_stub import TokenServer, oauth2_vendor_handler
from vendorkit.reference_store import error_response
from vendorkit.reference_vendor import ReferenceVendorHandler
from vendorkit.signing import SignatureError, verify

pytestmark = pytest.mark.django_db

CREDENTIAL_OPTIONS = [
    "--api-key",
    TEST_CREDENTIALS.api_key,
    "--signing-secret",
    TEST_CREDENTIALS.signing_secret,
]


def command(*args: str) -> tuple[int, str, str]:
    """Run the command; (exit status, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("conformance", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def ignores_api_key_vendor(tmp_path):
    server = start_vendor(
        db_path=tmp_path / "broken.sqlite3",
        api_key=TEST_CREDENTIALS.api_key,
        signing_secret=TEST_CREDENTIALS.signing_secret,
        handler=IgnoresApiKey,
    )
    yield server
    server.stop()


def test_explicit_url_prints_one_line_per_check_and_exits_0(reference_vendor):
    status, out, _err = command("--base-url", reference_vendor.base_url, *CREDENTIAL_OPTIONS)

    assert status == 0
    lines = out.strip().splitlines()
    assert sum(line.startswith("PASS  ") for line in lines) == 44  # + 2 LTI checks skipped
    assert lines[-1] == "46 checks: 44 passed, 0 failed, 2 skipped - CONFORMANT"
    assert not ConformanceRun.objects.exists(), "an explicit URL stores nothing"


def test_explicit_url_json_report(reference_vendor):
    status, out, _err = command(
        "--base-url", reference_vendor.base_url, *CREDENTIAL_OPTIONS, "--json"
    )

    report = json.loads(out)
    assert status == 0
    assert report["summary"] == {
        "total": 46,
        "passed": 44,
        "failed": 0,
        "skipped": 2,  # the LTI checks: the reference vendor is no LTI tool
        "warnings": 0,
        "required_failed": 0,
    }


def test_registered_service_run_is_stored_as_passed(reference_vendor):
    service = register_reference_service(vendor=VendorFactory(), base_url=reference_vendor.base_url)

    status, out, _err = command(service.service_id)

    run = ConformanceRun.objects.get(service=service)
    assert status == 0
    assert run.result == ConformanceRun.Result.PASSED
    assert (run.passed_count, run.failed_count, run.skipped_count) == (44, 0, 2)
    assert run.finished_at is not None
    assert len(run.report["results"]) == 46
    assert f"stored as conformance run {run.pk} (passed)" in out
    assert TEST_CREDENTIALS.api_key not in json.dumps(run.report)


def test_registered_service_that_breaks_the_standard_is_stored_as_failed(ignores_api_key_vendor):
    service = register_reference_service(
        vendor=VendorFactory(), base_url=ignores_api_key_vendor.base_url
    )

    status, out, _err = command(service.service_id)

    run = ConformanceRun.objects.get(service=service)
    assert status == 1
    assert run.result == ConformanceRun.Result.FAILED
    assert run.failed_count == 3
    failed = {r["id"] for r in run.report["results"] if r["outcome"] == "FAIL"}
    assert failed == {"auth.missing_key", "auth.wrong_key", "auth.status_requires_key"}
    assert "FAIL  auth.wrong_key" in out


def test_conformance_run_records_who_started_it(reference_vendor, django_user_model):
    service = register_reference_service(vendor=VendorFactory(), base_url=reference_vendor.base_url)
    staff = django_user_model.objects.create_user(username="staffer", password="x", is_staff=True)

    run = conformance_run(service=service, started_by=staff)

    run.refresh_from_db()
    assert run.started_by == staff
    assert run.result == ConformanceRun.Result.PASSED


def test_unreachable_service_is_stored_as_error_and_exits_2(reference_vendor):
    service = register_reference_service(vendor=VendorFactory(), base_url=reference_vendor.base_url)
    reference_vendor.stop()

    status, out, _err = command(service.service_id)

    run = ConformanceRun.objects.get(service=service)
    assert status == 2
    assert run.result == ConformanceRun.Result.ERROR
    assert "FAIL  health.reachable" in out


def test_registered_run_goes_through_the_private_address_guard(reference_vendor, settings):
    service = register_reference_service(vendor=VendorFactory(), base_url=reference_vendor.base_url)
    before = reference_vendor.stats()["requests"]
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = []

    run = conformance_run(service=service)

    assert run.result == ConformanceRun.Result.ERROR
    assert "loopback" in run.report["results"][0]["detail"]
    assert reference_vendor.stats()["requests"] == before, "no request reached the vendor"


def test_service_without_credentials_cannot_run(reference_vendor):
    service = register_reference_service(vendor=VendorFactory(), base_url=reference_vendor.base_url)
    service.credentials.all().delete()

    status, _out, err = command(service.service_id)

    run = ConformanceRun.objects.get(service=service)
    assert status == 2
    assert run.result == ConformanceRun.Result.ERROR
    assert "no valid credentials" in err


def test_unknown_service_is_refused():
    with pytest.raises(CommandError, match="no registered service"):
        call_command("conformance", "no_such_service", stdout=StringIO())


def test_a_service_id_and_a_base_url_together_are_refused():
    with pytest.raises(CommandError, match="not both"):
        call_command("conformance", "x", "--base-url", "http://127.0.0.1:1", stdout=StringIO())


class BearerTokenVendor(ReferenceVendorHandler):
    """The reference vendor with `auth.type: jwt`: a market-signed RS256 token, then the
    signature, as the standard asks of such a vendor."""

    audience = "jwt_tutor"

    def _authenticate(self, body: bytes):
        header = self.headers.get("Authorization", "")
        public_key = jwt_keys.market_private_key().public_key()
        try:
            claims = jwt.decode(
                header.removeprefix("Bearer "),
                public_key,
                algorithms=["RS256"],
                audience=self.audience,
            )
        except jwt.PyJWTError as error:
            return error_response(401, "unauthorized", f"bad bearer token: {error}")
        if claims.get("token_use") != "service":
            return error_response(401, "unauthorized", "not a service token")
        try:
            verify(
                secrets=self.server.options.signing_secrets,
                request_id=self.headers.get("X-Market-Request-Id", ""),
                timestamp_header=self.headers.get("X-Market-Timestamp", ""),
                signature_header=self.headers.get("X-Market-Signature", ""),
                body=body,
            )
        except SignatureError as error:
            return error_response(401, error.code, error.message)
        return None


def test_jwt_service_is_checked_with_fresh_market_tokens(tmp_path):
    server = start_vendor(
        db_path=tmp_path / "jwt.sqlite3",
        api_key="unused",
        signing_secret=TEST_CREDENTIALS.signing_secret,
        handler=BearerTokenVendor,
    )
    try:
        service = register_reference_service(
            vendor=VendorFactory(),
            base_url=server.base_url,
            service_id=BearerTokenVendor.audience,
            auth={"type": "jwt"},
        )

        run = conformance_run(service=service)
    finally:
        server.stop()

    failed = [r["id"] for r in run.report["results"] if r["outcome"] == "FAIL"]
    assert failed == []
    assert run.result == ConformanceRun.Result.PASSED
    wrong_key = next(r for r in run.report["results"] if r["id"] == "auth.wrong_key")
    assert wrong_key["outcome"] == "PASS"


def test_a_fault_in_the_kit_ends_the_run_as_error_not_running(reference_vendor, monkeypatch):
    service = register_reference_service(vendor=VendorFactory(), base_url=reference_vendor.base_url)

    def broken_kit(**kwargs):
        raise RuntimeError("bug in a check")

    monkeypatch.setattr("services.conformance.run_checks", broken_kit)

    run = conformance_run(service=service)

    run.refresh_from_db()
    assert run.result == ConformanceRun.Result.ERROR
    assert "bug in a check" in run.report["error"]
    assert run.finished_at is not None


def test_recommended_warnings_do_not_keep_a_service_from_passing(tmp_path):
    """The listing gate uses required checks only: a vendor that misses only the standard's
    extra precision passes, and its warnings stay in the stored report."""
    imprecise = next(v for v in IMPRECISE_VENDORS if v.name == "server_error_on_unknown_tenant")
    server = start_vendor(
        db_path=tmp_path / "imprecise.sqlite3",
        api_key=TEST_CREDENTIALS.api_key,
        signing_secret=TEST_CREDENTIALS.signing_secret,
        handler=imprecise.handler,
    )
    try:
        service = register_reference_service(vendor=VendorFactory(), base_url=server.base_url)
        run = conformance_run(service=service)
    finally:
        server.stop()

    assert run.result == ConformanceRun.Result.PASSED
    assert run.failed_count == 0
    warned = {r["id"] for r in run.report["results"] if r["outcome"] == "WARN"}
    assert warned == imprecise.warns
    assert run.report["summary"]["warnings"] == len(imprecise.warns)


def test_oauth2_service_is_checked_with_a_token_from_its_token_url(tmp_path):
    tokens = TokenServer(client_id="oauth_tutor", client_secret="issued-oauth-secret").start()
    server = start_vendor(
        db_path=tmp_path / "oauth.sqlite3",
        api_key="unused",
        signing_secret=TEST_CREDENTIALS.signing_secret,
        handler=oauth2_vendor_handler(tokens),
    )
    try:
        service = register_reference_service(
            vendor=VendorFactory(), base_url=server.base_url, service_id="oauth_tutor"
        )
        # The manifest validator asks for an https token_url; the stub speaks http on loopback,
        # so the stored manifest is pointed at it directly, with the client secret the market
        # would hold for the service.
        manifest = service.current_manifest
        manifest.data["auth"] = {"type": "oauth2", "token_url": tokens.token_url}
        manifest.save(update_fields=["data"])
        without_secret = conformance_run(service=service)
        service.credentials.update(oauth_client_secret="issued-oauth-secret")

        run = conformance_run(service=service)
        refused_client = len(tokens.requests)
        service.credentials.update(oauth_client_secret="not-the-secret")
        errored = conformance_run(service=service)
    finally:
        server.stop()
        tokens.stop()

    failed = [r["id"] for r in run.report["results"] if r["outcome"] == "FAIL"]
    assert failed == []
    assert run.result == ConformanceRun.Result.PASSED
    assert refused_client == 1, "one token for the whole run, through the guarded transport"
    assert without_secret.result == ConformanceRun.Result.ERROR
    assert "needs the client secret" in without_secret.report["error"]
    assert errored.result == ConformanceRun.Result.ERROR
    assert "the OAuth2 token request to" in errored.report["error"]
    assert "HTTP 401" in errored.report["error"]


def test_command_writes_junit_xml_for_ci(reference_vendor, tmp_path):
    path = tmp_path / "conformance.xml"

    status, _out, _err = command(
        "--base-url", reference_vendor.base_url, *CREDENTIAL_OPTIONS, "--junit-xml", str(path)
    )

    xml = JUnitXml.fromfile(str(path))
    assert status == 0
    assert (xml.tests, xml.failures, xml.errors) == (46, 0, 0)
