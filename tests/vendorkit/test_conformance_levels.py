"""Conformance levels: a vendor written from the founding document alone passes the required
checks; the exit status tells it from a broken vendor and from a run that could not be made;
the JUnit XML a CI reads agrees; the documentation's list of checks is generated from the code;
the kit's modules import no cycle and nothing of the market."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from junitparser import JUnitXml

from tests.vendorkit.broken_vendors import (
    BROKEN_VENDORS,
    IMPRECISE_VENDORS,
    IgnoresApiKey,
    start_vendor,
)
from tests.vendorkit.founding_vendor import FoundingVendorServer, founding_manifest
from vendorkit.conformance import CATALOGUE, Report, run_checks, to_junit_xml
from vendorkit.conformance.catalogue import FOUNDING, LTI_CORE, LTI_SEC, S_CHECK_ORDER
from vendorkit.conformance.listing import checks_markdown, generated_block
from vendorkit.reference_store import error_response

API_KEY = "founding-api-key"
SIGNING_SECRET = "founding-signing-secret"
REPO_ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE_MD = REPO_ROOT / "docs" / "standard" / "conformance.md"
# The founding vendor is no LTI tool: the LTI checks (required with an lti block) skip.
REQUIRED = {spec.id for spec in CATALOGUE if spec.required and not spec.id.startswith("lti.")}

# What the founding document does not ask and the founding vendor therefore does not do.
FOUNDING_VENDOR_WARNINGS = {
    "auth.error_codes",  # its 401s carry {"detail": ...}, not invalid_signature / stale_timestamp
    "auth.replayed_path",  # it verifies the v1.0 signature, which binds no path
    "activate.replay",  # no request-id memory: a repeat is a 409
    "usage.period",  # no month parameter: it reports the current month
    "usage.invalid_month",
    "status.deactivated_details",
    "tenant.unknown_status",  # a framework's {"detail": "Not found."}
    "tenant.unknown_deactivate",
    "request.malformed_json",
    "request.missing_field",
    "request.wrong_type",  # no type checks
    "request.deactivate_missing_field",  # preserve_data is not required
    "errors.body_shape",
}


@pytest.fixture
def founding_vendor() -> Iterator[FoundingVendorServer]:
    server = FoundingVendorServer(api_key=API_KEY, signing_secret=SIGNING_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def broken_vendor(tmp_path):
    servers = []

    def start(name: str):
        broken = next(b for b in BROKEN_VENDORS + IMPRECISE_VENDORS if b.name == name)
        server = start_vendor(
            db_path=tmp_path / f"{name}.sqlite3",
            api_key=API_KEY,
            signing_secret=SIGNING_SECRET,
            handler=broken.handler,
            store=broken.store,
            **broken.options,
        )
        servers.append(server)
        return server, broken

    yield start
    for server in servers:
        server.stop()


def outcomes(report: Report, outcome: str) -> set[str]:
    return {result.id for result in report.results if result.outcome == outcome}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vendorkit.conformance", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def credentials(base_url: str) -> list[str]:
    return ["--base-url", base_url, "--api-key", API_KEY, "--signing-secret", SIGNING_SECRET]


# -- the founding-document vendor -------------------------------------------------------------


@pytest.mark.parametrize("with_manifest", [True, False], ids=["manifest", "no_manifest"])
def test_a_vendor_written_from_the_founding_document_passes_every_required_check(
    founding_vendor, with_manifest
):
    manifest = founding_manifest(founding_vendor.base_url) if with_manifest else None

    report = run_checks(
        base_url=founding_vendor.base_url,
        api_key=API_KEY,
        signing_secret=SIGNING_SECRET,
        manifest=manifest,
    )

    assert outcomes(report, "FAIL") == set()
    assert {r.id for r in report.results if r.required and r.outcome == "PASS"} == REQUIRED
    assert report.exit_code == 0 and report.conformant
    # The standard's extra precision it does not have shows as warnings, each naming its rule.
    assert outcomes(report, "WARN") >= FOUNDING_VENDOR_WARNINGS
    assert all(not r.required and r.source for r in report.warnings)
    # Update and delete are the standard's additions: not declared, so never called.
    assert {"update.plan_change", "delete.purge"} <= outcomes(report, "SKIP")


def test_the_founding_vendor_refuses_bad_authentication_with_its_own_body(founding_vendor):
    report = run_checks(
        base_url=founding_vendor.base_url, api_key=API_KEY, signing_secret=SIGNING_SECRET
    )

    for check_id in ("auth.missing_key", "auth.bad_signature", "auth.stale_timestamp"):
        result = report.result(check_id)
        assert result.outcome == "PASS"
        assert "HTTP 401" in result.response and '"detail"' in result.response
    codes = report.result("auth.error_codes")
    assert codes.outcome == "WARN"
    assert "auth.stale_timestamp: 'error' must be a snake_case string" in codes.detail


def test_the_founding_vendor_is_conformant_on_the_command_line_with_warnings(founding_vendor):
    done = kit(*credentials(founding_vendor.base_url))

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "WARN  activate.replay  " in done.stdout
    assert "      rule:     standard §5 Idempotency" in lines
    assert lines[-1].endswith(" warnings - CONFORMANT")
    assert ", 0 failed," in lines[-1]


def test_without_a_tenant_to_protect_only_an_authentication_refusal_counts(tmp_path):
    """A vendor that cannot activate and ignores the key answers the refusal cases with 404
    (no such tenant): that is no proof of a refusal, so the auth checks fail, saying why."""

    class NoActivationIgnoresKey(IgnoresApiKey):
        def _route(self, method, path, query, body):
            if path.endswith("/activate"):
                return error_response(500, "internal_error", "activation is broken"), ""
            return super()._route(method, path, query, body)

    server = start_vendor(
        db_path=tmp_path / "no-activation.sqlite3",
        api_key=API_KEY,
        signing_secret=SIGNING_SECRET,
        handler=NoActivationIgnoresKey,
    )
    try:
        report = run_checks(
            base_url=server.base_url, api_key=API_KEY, signing_secret=SIGNING_SECRET
        )
    finally:
        server.stop()

    missing_key = report.result("auth.missing_key")
    assert missing_key.outcome == "FAIL"
    assert "expected HTTP 401 or 403, got 404" in missing_key.detail
    assert report.result("auth.bad_signature").outcome == "PASS"  # 401 proves it
    assert report.exit_code == 1


# -- exit status by level ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["ignores_signature", "accepts_stale_timestamps", "no_conflict_on_active_tenant"]
)
def test_a_broken_vendor_exits_1_on_the_command_line(broken_vendor, name):
    server, broken = broken_vendor(name)

    done = kit(*credentials(server.base_url))

    assert done.returncode == 1, done.stdout + done.stderr
    failed = {line.split("  ")[1] for line in done.stdout.splitlines() if line.startswith("FAIL")}
    assert failed == broken.fails
    assert "NOT CONFORMANT" in done.stdout.splitlines()[-1]


def test_an_imprecise_vendor_exits_0_with_its_warnings(broken_vendor):
    server, imprecise = broken_vendor("replay_answers_409")

    done = kit(*credentials(server.base_url))

    assert done.returncode == 0, done.stdout + done.stderr
    warned = {line.split("  ")[1] for line in done.stdout.splitlines() if line.startswith("WARN")}
    assert warned == imprecise.warns


def test_strict_exits_3_when_only_recommended_checks_did_not_pass(broken_vendor, tmp_path):
    server, imprecise = broken_vendor("usage_ignores_month")
    path = tmp_path / "strict.xml"

    done = kit(*credentials(server.base_url), "--strict", "--junit-xml", str(path))

    assert done.returncode == 3, done.stdout + done.stderr
    xml = JUnitXml.fromfile(str(path))
    failed = {case.name for suite in xml for case in suite if case.result and case.is_failure}
    assert failed == imprecise.warns == {"usage.period"}


def test_strict_keeps_exit_1_for_a_required_failure(broken_vendor):
    server, _broken = broken_vendor("negative_usage")

    assert kit(*credentials(server.base_url), "--strict").returncode == 1


def test_a_run_that_cannot_be_made_exits_2(tmp_path):
    unreachable = kit(*credentials(f"http://127.0.0.1:{_closed_port()}"))
    bad_manifest = tmp_path / "manifest.json"
    bad_manifest.write_text("[1, 2]", encoding="utf-8")
    unusable = kit(*credentials("http://127.0.0.1:1"), "--manifest", str(bad_manifest))
    no_secret = kit("--base-url", "http://127.0.0.1:1", "--api-key", API_KEY)

    assert unreachable.returncode == 2
    assert "could not be reached" in unreachable.stdout.splitlines()[-1]
    assert unusable.returncode == 2 and "does not hold a mapping" in unusable.stderr
    assert no_secret.returncode == 2 and "--signing-secret is required" in no_secret.stderr


def test_the_exit_codes_are_in_the_help_and_the_docs():
    done = kit("--help")
    text = CONFORMANCE_MD.read_text(encoding="utf-8")

    assert done.returncode == 0
    assert "0 = every required check passed" in done.stdout.replace("\n", " ")
    for code in ("`0`", "`1`", "`2`", "`3`"):
        assert f"| {code} |" in text


# -- JUnit XML for CI -------------------------------------------------------------------------


def test_junit_xml_of_a_broken_vendor_has_one_failure_per_failed_required_check(
    broken_vendor, tmp_path
):
    server, broken = broken_vendor("replay_creates_second_tenant")
    path = tmp_path / "conformance.xml"

    done = kit(*credentials(server.base_url), "--junit-xml", str(path))

    assert done.returncode == 1
    xml = JUnitXml.fromfile(str(path))  # an off-the-shelf JUnit reader
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {"conformance.required", "conformance.recommended"}
    cases = {case.name: case for suite in xml for case in suite}
    assert list(cases) == [spec.id for spec in CATALOGUE if spec.required] + [
        spec.id for spec in CATALOGUE if not spec.required
    ]
    failed = {name for name, case in cases.items() if not case.is_passed and not case.is_skipped}
    assert failed == broken.fails
    assert xml.failures == len(broken.fails) and xml.errors == 0 and xml.tests == len(CATALOGUE)
    conflict = cases["activate.conflict"]
    assert conflict.classname == "conformance.required.activate"
    assert "expected HTTP 409" in conflict.result[0].message
    assert "founding document §3.2 Activate tenant" in conflict.result[0].text
    replay = cases["activate.replay"]  # a recommended warning: passed, with the warning
    assert replay.is_passed
    assert replay.system_out.startswith("WARNING (recommended, standard §5 Idempotency)")
    # The counts a reader recomputes from the test cases are the ones written.
    for suite in xml:
        written = (suite.tests, suite.failures, suite.errors, suite.skipped)
        suite.update_statistics()
        assert (suite.tests, suite.failures, suite.errors, suite.skipped) == written
    properties = {p.name: p.value for p in suites["conformance.required"].properties()}
    assert properties["exit_code"] == "1" and properties["base_url"] == server.base_url


def test_a_copy_of_the_vendorkit_folder_runs_in_a_vendors_pipeline(founding_vendor, tmp_path):
    """What a vendor's CI does: the vendorkit/ folder copied next to its code, nothing of the
    market importable, the exit status and the JUnit file used."""
    shutil.copytree(REPO_ROOT / "vendorkit", tmp_path / "vendorkit")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    env.update(CONFORMANCE_API_KEY=API_KEY, CONFORMANCE_SIGNING_SECRET=SIGNING_SECRET)

    done = subprocess.run(
        [sys.executable, "-E", "-m", "vendorkit.conformance", "--base-url",
         founding_vendor.base_url, "--junit-xml", "report.xml"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    where = subprocess.run(
        [sys.executable, "-E", "-c", "import vendorkit.conformance as kit; print(kit.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert where.stdout.startswith(str(tmp_path)), "the copy ran, not the repository's kit"
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].endswith("- CONFORMANT")
    assert JUnitXml.fromfile(str(tmp_path / "report.xml")).failures == 0


def test_junit_xml_has_the_common_schema_shape(founding_vendor, tmp_path):
    path = tmp_path / "conformance.xml"

    done = kit(*credentials(founding_vendor.base_url), "--junit-xml", str(path))

    assert done.returncode == 0
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert int(root.get("failures")) == 0 and int(root.get("tests")) == len(CATALOGUE)
    allowed_in_case = {"failure", "error", "skipped", "system-out", "system-err"}
    for suite in root:
        assert suite.tag == "testsuite"
        for attribute in ("name", "tests", "failures", "errors", "skipped", "time", "timestamp"):
            assert suite.get(attribute) is not None, attribute
        assert "Z" not in suite.get("timestamp") and "T" in suite.get("timestamp")
        float(suite.get("time"))
        cases = [child for child in suite if child.tag == "testcase"]
        assert {child.tag for child in suite} <= {"properties", "testcase"}
        assert int(suite.get("tests")) == len(cases)
        for case in cases:
            assert case.get("name") and case.get("classname")
            float(case.get("time"))
            assert {child.tag for child in case} <= allowed_in_case
    warnings = [c for c in root.iter("testcase") if c.find("system-out") is not None]
    assert {c.get("name") for c in warnings} >= FOUNDING_VENDOR_WARNINGS


def test_junit_xml_of_an_unreachable_vendor_is_one_error(tmp_path):
    report = run_checks(
        base_url=f"http://127.0.0.1:{_closed_port()}", api_key="k", signing_secret="s"
    )

    xml = JUnitXml.fromstring(to_junit_xml(report))

    assert xml.errors == 1 and xml.failures == 0
    assert xml.skipped == len(CATALOGUE) - 1
    reachable = next(case for suite in xml for case in suite if case.name == "health.reachable")
    assert reachable.is_error


# -- the generated documentation --------------------------------------------------------------


def test_conformance_md_lists_every_check_as_generated_from_the_code():
    text = CONFORMANCE_MD.read_text(encoding="utf-8")

    block = generated_block(text)

    assert block is not None, "the generated block's marks are missing"
    assert block == checks_markdown(), (
        "docs/standard/conformance.md is stale: run "
        "`python -m vendorkit.conformance --list-checks --format markdown "
        "--write docs/standard/conformance.md`"
    )
    for spec in CATALOGUE:
        level = "**required**" if spec.required else "recommended"
        assert f"| `{spec.id}` | {level} |" in block


def _github_slug(heading: str) -> str:
    text = heading.strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


@pytest.mark.parametrize("document", ["README.md", "signing.md"])
def test_every_standard_section_the_checks_link_to_exists(document):
    text = (REPO_ROOT / "docs" / "standard" / document).read_text(encoding="utf-8")
    slugs = {_github_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}

    linked = set(re.findall(rf"\({re.escape(document)}#([^)]+)\)", checks_markdown()))

    assert linked, f"the generated list links sections of {document}"
    assert linked - slugs == set()


def test_list_checks_prints_the_catalogue_with_levels_and_sources():
    as_json = kit("--list-checks", "--format", "json")
    as_markdown = kit("--list-checks", "--format", "markdown")

    assert as_json.returncode == 0 and as_markdown.returncode == 0
    listed = json.loads(as_json.stdout)
    assert [item["id"] for item in listed] == [spec.id for spec in CATALOGUE]
    assert all(item["level"] in ("required", "recommended") and item["source"] for item in listed)
    assert as_markdown.stdout == checks_markdown()


def test_every_required_check_comes_from_the_founding_document_or_a_security_refusal():
    for spec in CATALOGUE:
        assert spec.sources, spec.id
        if spec.required:
            documents = {source.document for source in spec.sources}
            lti_only = documents <= {LTI_SEC, LTI_CORE}  # required only with an lti block
            assert FOUNDING in documents or S_CHECK_ORDER in spec.sources or lti_only, spec.id


# -- structure --------------------------------------------------------------------------------


def _imports(path: Path, package: str) -> set[str]:
    """Every module ``path`` imports (type-checking imports included), absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}"
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _module_graph(root: Path, prefix: str) -> dict[str, set[str]]:
    modules = {
        f"{prefix}.{path.relative_to(root).with_suffix('').as_posix().replace('/', '.')}".removesuffix(
            ".__init__"
        ): path
        for path in root.rglob("*.py")
    }
    return {
        name: {imported for imported in _imports(path, name) if imported in modules} - {name}
        for name, path in modules.items()
    }


def test_the_kit_has_no_import_cycle_between_runner_and_checks():
    graph = _module_graph(REPO_ROOT / "vendorkit" / "conformance", "vendorkit.conformance")
    # A package imports its modules to re-export them; cycles through __init__ do not count.
    graph = {name: deps - {"vendorkit.conformance"} for name, deps in graph.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(name for name in graph if reaches(name, name, {name}))
    assert cycles == []
    # The check modules know the context and the catalogue, never the runner.
    runner_importers = {
        name for name, deps in graph.items() if "vendorkit.conformance.runner" in deps
    }
    assert runner_importers == {"vendorkit.conformance.api"}
    for name in graph:
        if name.startswith("vendorkit.conformance.checks_"):
            assert "vendorkit.conformance.context" in graph[name]


def test_vendorkit_imports_nothing_of_the_market_even_for_type_checking():
    market_apps = {"market", "services", "tenants", "monitoring", "portal", "django", "tests"}
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(
            name for name in _imports(path, "vendorkit") if name.split(".")[0] in market_apps
        )
        for path in (REPO_ROOT / "vendorkit").rglob("*.py")
    }

    assert {path: names for path, names in offenders.items() if names} == {}
