"""The conformance kit against the reference vendor (which must pass everything) and against
deliberately faulty variants of it (each must fail, or warn about, exactly the checks its fault
breaks). The founding-document vendor, JUnit output and the generated docs are in
test_conformance_levels.py; oauth2 in test_conformance_oauth2.py."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.vendorkit.broken_vendors import (
    BROKEN_VENDORS,
    IMPRECISE_VENDORS,
    NoOptionalEndpoints,
    start_vendor,
)
from vendorkit.conformance import CATALOGUE, Report, format_text, run_checks
from vendorkit.reference_vendor import ReferenceVendorServer

API_KEY = "kit-test-api-key"
SIGNING_SECRET = "kit-test-signing-secret"
REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_MANIFEST = REPO_ROOT / "vendorkit" / "reference_manifest.yaml"
# The reference vendor is not an LTI tool: its manifest declares no lti block, so the LTI
# checks are skipped with that reason (test_conformance_lti.py runs them).
NOT_LTI = {"lti.jwks", "lti.login_redirect"}


@pytest.fixture
def vendor_factory(tmp_path) -> Iterator[Callable[..., ReferenceVendorServer]]:
    servers: list[ReferenceVendorServer] = []

    def start(**kwargs: Any) -> ReferenceVendorServer:
        server = start_vendor(
            db_path=tmp_path / f"vendor-{len(servers)}.sqlite3",
            api_key=API_KEY,
            signing_secret=SIGNING_SECRET,
            **kwargs,
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def reference_manifest(**overrides: Any) -> dict[str, Any]:
    manifest = yaml.safe_load(REFERENCE_MANIFEST.read_text(encoding="utf-8"))
    manifest.update(overrides)
    return manifest


def run(server: ReferenceVendorServer, **kwargs: Any) -> Report:
    kwargs.setdefault("manifest", reference_manifest())
    return run_checks(
        base_url=server.base_url, api_key=API_KEY, signing_secret=SIGNING_SECRET, **kwargs
    )


def ids_with(report: Report, outcome: str) -> set[str]:
    return {result.id for result in report.results if result.outcome == outcome}


def tenants_at(server: ReferenceVendorServer) -> dict[str, str]:
    with server.store.lock:
        rows = server.store.connection.execute("SELECT tenant_id, state FROM tenants").fetchall()
    return dict(rows)


# -- the reference vendor --------------------------------------------------------------------


def test_reference_vendor_passes_every_check(vendor_factory):
    report = run(vendor_factory())

    assert len(report.results) >= 25
    assert [r.id for r in report.results] == [spec.id for spec in CATALOGUE]
    assert ids_with(report, "FAIL") == set()
    assert ids_with(report, "SKIP") == NOT_LTI
    assert report.exit_code == 0
    assert report.conformant


def test_reference_vendor_passes_without_a_manifest_probing_the_optional_endpoints(
    vendor_factory,
):
    report = run(vendor_factory(), manifest=None)

    assert ids_with(report, "FAIL") == set()
    assert ids_with(report, "SKIP") == NOT_LTI
    assert report.exit_code == 0


def test_every_tenant_the_run_created_is_purged_afterwards(vendor_factory):
    server = vendor_factory()

    run(server, tenant_prefix="kitrun_")

    tenants = tenants_at(server)
    assert tenants, "the run created tenants at the vendor"
    assert all(tenant_id.startswith("kitrun_") for tenant_id in tenants)
    assert set(tenants.values()) == {"purged"}


def test_without_delete_the_run_leaves_its_tenants_deactivated(vendor_factory):
    server = vendor_factory(handler=NoOptionalEndpoints)

    report = run(server, manifest=None)

    assert report.result("cleanup.tenants").outcome == "PASS"
    assert set(tenants_at(server).values()) == {"deactivated"}


def test_async_vendor_passes_when_its_manifest_declares_async(vendor_factory):
    server = vendor_factory(asynchronous=True, async_seconds=0.2)
    manifest = reference_manifest(
        operations={"async": True, "poll_interval_seconds": 0.05, "timeout_seconds": 10}
    )

    report = run(server, manifest=manifest)

    assert ids_with(report, "FAIL") == set()
    assert report.exit_code == 0


def test_202_answers_fail_when_the_manifest_does_not_declare_async(vendor_factory):
    server = vendor_factory(asynchronous=True, async_seconds=0.2)

    report = run(server)

    assert "activate.shape" in ids_with(report, "FAIL")
    assert "operations.async" in report.result("activate.shape").detail
    assert report.exit_code == 1


def test_custom_api_key_header_from_the_manifest_is_used(vendor_factory):
    server = vendor_factory(api_key_header="X-Vendor-Key")
    manifest = reference_manifest(auth={"type": "api_key", "header": "X-Vendor-Key"})

    assert ids_with(run(server, manifest=manifest), "FAIL") == set()
    # Without the manifest's header name the key goes in X-Market-API-Key and is refused.
    assert "activate.shape" in ids_with(run(server), "FAIL")


# -- broken vendors --------------------------------------------------------------------------


@pytest.mark.parametrize("broken", BROKEN_VENDORS, ids=lambda broken: broken.name)
def test_broken_vendor_fails_exactly_the_required_checks_its_fault_breaks(vendor_factory, broken):
    server = vendor_factory(handler=broken.handler, store=broken.store, **broken.options)

    report = run(server)

    assert broken.fails, "a broken vendor breaks at least one required rule"
    assert ids_with(report, "FAIL") == broken.fails
    assert all(report.result(check_id).required for check_id in broken.fails)
    assert ids_with(report, "WARN") == broken.warns
    assert ids_with(report, "SKIP") == broken.skips | NOT_LTI
    assert report.exit_code == 1
    for check_id in broken.fails:
        assert report.result(check_id).detail, f"{check_id} says why it failed"


@pytest.mark.parametrize("imprecise", IMPRECISE_VENDORS, ids=lambda vendor: vendor.name)
def test_imprecise_vendor_passes_the_required_checks_with_named_warnings(vendor_factory, imprecise):
    server = vendor_factory(handler=imprecise.handler, store=imprecise.store, **imprecise.options)

    report = run(server)

    assert ids_with(report, "FAIL") == set()
    assert ids_with(report, "WARN") == imprecise.warns
    assert all(not report.result(check_id).required for check_id in imprecise.warns)
    assert report.exit_code == 0
    text = format_text(report)
    for check_id in imprecise.warns:
        block = text.split(f"WARN  {check_id}  ", 1)[1].split("\n", 2)[1]
        assert block.strip().startswith("rule:"), block
        assert report.result(check_id).source.split(" §")[0] in block


def test_there_are_at_least_eight_broken_vendors_covering_distinct_checks():
    assert len(BROKEN_VENDORS) >= 8
    covered = set().union(*(broken.fails for broken in BROKEN_VENDORS))
    required = {spec.id for spec in CATALOGUE if spec.required}
    # Every required check is failed by some broken vendor; health.reachable by the
    # unreachable-vendor tests below; the LTI checks by the broken LTI tool of
    # test_conformance_lti.py.
    assert required - covered == {"health.reachable"} | NOT_LTI
    warned = set().union(*(vendor.warns for vendor in BROKEN_VENDORS + IMPRECISE_VENDORS))
    assert len(warned) >= 8


def test_undeclared_optional_endpoints_are_skipped_with_a_reason(vendor_factory):
    server = vendor_factory(handler=NoOptionalEndpoints)

    report = run(server, manifest=None)

    skipped = ids_with(report, "SKIP") - NOT_LTI
    assert skipped == {
        "usage.shape",
        "usage.period",
        "usage.metrics",
        "usage.invalid_month",
        "update.plan_change",
        "update.status_shows_plan",
        "delete.purge",
        "delete.gone",
    }
    assert "HTTP 404" in report.result("usage.shape").detail
    assert ids_with(report, "FAIL") == set()
    assert report.exit_code == 0


def test_optional_endpoints_the_manifest_declares_must_work(vendor_factory):
    server = vendor_factory(handler=NoOptionalEndpoints)

    report = run(server)

    assert "usage.shape" in ids_with(report, "FAIL")  # the founding document's usage report
    assert {"update.plan_change", "delete.purge"} <= ids_with(report, "WARN")  # the standard's
    assert report.exit_code == 1


def test_optional_endpoints_the_manifest_omits_are_skipped_without_a_call(vendor_factory):
    server = vendor_factory()
    manifest = reference_manifest()
    for name in ("usage_report", "tenant_update", "tenant_delete"):
        del manifest["endpoints"][name]

    report = run(server, manifest=manifest)

    assert report.result("update.plan_change").outcome == "SKIP"
    assert "declares no tenant_update" in report.result("update.plan_change").detail
    stats = server.stats.snapshot()["requests"]
    assert stats["update"] == stats["usage"] == 0
    # delete is never called, not even for cleanup: tenants end deactivated.
    assert stats["delete"] == 0
    assert report.exit_code == 0


# -- reporting -------------------------------------------------------------------------------


def test_a_failure_shows_the_request_and_an_excerpt_of_the_answer(vendor_factory):
    broken = next(b for b in BROKEN_VENDORS if b.name == "status_without_users")
    server = vendor_factory(handler=broken.handler)

    text = format_text(run(server))

    block = text.split("FAIL  status.shape", 1)[1].split("\nPASS", 1)[0]
    assert "why:" in block and "'users' must be an object, got None" in block
    assert "request:  GET " in block and "/status" in block
    assert "response: HTTP 200" in block and '"storage"' in block
    assert text.splitlines()[-1].startswith("46 checks: 43 passed, 1 failed, 2 skipped")
    assert "NOT CONFORMANT (1 required check(s) failed)" in text.splitlines()[-1]


def test_a_warning_names_its_rule_and_shows_the_evidence(vendor_factory):
    imprecise = next(v for v in IMPRECISE_VENDORS if v.name == "server_error_on_unknown_tenant")
    server = vendor_factory(handler=imprecise.handler)

    text = format_text(run(server))

    block = text.split("WARN  tenant.unknown_status", 1)[1].split("\nWARN", 1)[0]
    assert "(recommended)" in block.splitlines()[0]
    assert "rule:     standard §3.4 Status; standard §4 Errors" in block
    assert "why:" in block and "expected HTTP 404, got 500" in block
    assert "response: HTTP 500" in block and "internal_error" in block
    assert text.splitlines()[-1] == (
        "46 checks: 42 passed, 0 failed, 2 skipped, 2 warnings - CONFORMANT"
    )


def test_the_api_key_never_appears_in_the_report(vendor_factory):
    server = vendor_factory()

    report = run_checks(
        base_url=server.base_url, api_key="not-the-key", signing_secret=SIGNING_SECRET
    )

    assert report.exit_code == 1
    assert "not-the-key" not in json.dumps(report.to_dict())
    assert "not-the-key" not in format_text(report)
    assert "[redacted]" in report.result("activate.shape").request


def test_report_survives_a_round_trip_through_json(vendor_factory):
    report = run(vendor_factory(handler=NoOptionalEndpoints), manifest=None)

    again = Report.from_dict(json.loads(json.dumps(report.to_dict())))

    assert again.outcomes() == report.outcomes()
    assert again.exit_code == report.exit_code
    assert format_text(again) == format_text(report)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_vendor_gives_exit_code_2():
    report = run_checks(
        base_url=f"http://127.0.0.1:{_closed_port()}",
        api_key=API_KEY,
        signing_secret=SIGNING_SECRET,
    )

    assert not report.reachable
    assert report.exit_code == 2
    assert report.result("health.reachable").outcome == "FAIL"
    assert ids_with(report, "SKIP") == {spec.id for spec in CATALOGUE} - {"health.reachable"}
    assert "could not be reached" in format_text(report).splitlines()[-1]


# -- the command line ------------------------------------------------------------------------


def _kit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vendorkit.conformance", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _credentials(server: ReferenceVendorServer) -> list[str]:
    return [
        "--base-url",
        server.base_url,
        "--api-key",
        API_KEY,
        "--signing-secret",
        SIGNING_SECRET,
    ]


def test_command_line_prints_one_line_per_check_and_exits_0(vendor_factory):
    server = vendor_factory()

    done = _kit(*_credentials(server), "--manifest", str(REFERENCE_MANIFEST))

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    check_lines = [line for line in lines if line.startswith(("PASS  ", "FAIL  ", "SKIP  "))]
    assert [line.split("  ")[1] for line in check_lines] == [spec.id for spec in CATALOGUE]
    assert all(
        line.startswith("PASS  ") for line in check_lines if line.split("  ")[1] not in NOT_LTI
    )
    assert lines[-1] == "46 checks: 44 passed, 0 failed, 2 skipped - CONFORMANT"


def test_command_line_exits_1_on_a_broken_vendor_and_prints_json(vendor_factory):
    broken = next(b for b in BROKEN_VENDORS if b.name == "ignores_api_key")
    server = vendor_factory(handler=broken.handler)

    done = _kit(*_credentials(server), "--json", "--tenant-prefix", "clitest_")

    assert done.returncode == 1
    report = json.loads(done.stdout)
    failed = {r["id"] for r in report["results"] if r["outcome"] == "FAIL"}
    assert failed == broken.fails
    assert report["summary"]["required_failed"] == len(broken.fails)
    assert report["exit_code"] == 1
    assert all(tenant.startswith("clitest_") for tenant in tenants_at(server))


def test_command_line_exits_2_when_the_vendor_cannot_be_reached():
    done = _kit(
        "--base-url",
        f"http://127.0.0.1:{_closed_port()}",
        "--api-key",
        "k",
        "--signing-secret",
        "s",
    )

    assert done.returncode == 2
    assert "FAIL  health.reachable" in done.stdout


# -- independence ----------------------------------------------------------------------------


def test_the_kit_imports_neither_django_nor_the_market():
    probe = (
        "import sys, vendorkit.conformance, vendorkit.conformance.cli;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('django', 'market', 'services', 'tenants', 'monitoring', 'requests'));"
        "print(','.join(bad))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
