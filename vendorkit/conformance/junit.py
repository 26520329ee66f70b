"""The report as JUnit XML, for CI systems (``--junit-xml PATH``).

The common JUnit shape that Jenkins, GitLab, GitHub Actions reporters and Azure Pipelines read::

    <testsuites name=... tests= failures= errors= skipped= time=>
      <testsuite name="conformance.required" ...>      one suite per level
        <testcase classname="conformance.required.auth" name="auth.missing_key" time=...>
          <failure message=... type="required">why, request, response</failure>
        </testcase>
      </testsuite>
      <testsuite name="conformance.recommended" ...>
        <testcase ...><system-out>WARNING ...</system-out></testcase>
      </testsuite>
    </testsuites>

A CI system counts a test as failed exactly when the kit's exit status says so: only required
checks become ``<failure>`` (with ``--strict``, recommended ones too). A recommended check that did not pass is a passing test case whose
``<system-out>`` carries the warning and its rule (JUnit has no "warning" state; a CI that
showed it as a failure would contradict exit status 0). A vendor that cannot be reached is an
``<error>`` on ``health.reachable``; a skipped check is ``<skipped message=...>``. A test
case's ``classname`` names its level (``conformance.required.auth``); each suite carries the
kit version, the base URL and the exit status as properties. No property sits on a test case,
which the strictest readers (Jenkins' junit-10.xsd) refuse.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from vendorkit.conformance.report import CheckResult, Report

SUITE_PREFIX = "conformance"


def _text(result: CheckResult) -> str:
    parts = [result.detail]
    if result.request:
        parts.append("request:\n" + result.request)
    if result.response:
        parts.append("response:\n" + result.response)
    return "\n\n".join(part for part in parts if part)


def _case(suite: ET.Element, result: CheckResult, *, reachable: bool, strict: bool) -> None:
    group = result.id.split(".", 1)[0]
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "classname": f"{SUITE_PREFIX}.{result.level}.{group}",
            "name": result.id,
            "time": "0",
        },
    )
    if result.outcome == "FAIL" and not reachable and result.id == "health.reachable":
        error = ET.SubElement(case, "error", {"message": result.detail, "type": "unreachable"})
        error.text = _text(result)
    elif result.outcome == "FAIL" or (strict and result.outcome == "WARN"):
        failure = ET.SubElement(case, "failure", {"message": result.detail, "type": result.level})
        failure.text = f"{result.title} ({result.source})\n\n{_text(result)}"
    elif result.outcome == "SKIP":
        ET.SubElement(case, "skipped", {"message": result.detail})
    elif result.outcome == "WARN":
        out = ET.SubElement(case, "system-out")
        out.text = f"WARNING (recommended, {result.source}): {_text(result)}"


def _counts(results: list[CheckResult], *, reachable: bool, strict: bool) -> dict[str, str]:
    errors = 0 if reachable else sum(1 for r in results if r.id == "health.reachable")
    failed = ("FAIL", "WARN") if strict else ("FAIL",)
    failures = sum(1 for r in results if r.outcome in failed) - errors
    return {
        "tests": str(len(results)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(sum(1 for r in results if r.outcome == "SKIP")),
        "time": "0",
    }


def to_junit_xml(report: Report, *, duration_seconds: float = 0.0, strict: bool = False) -> str:
    """The report as a JUnit XML document (UTF-8 text with an XML declaration). With
    ``strict`` (the command line's ``--strict``) recommended checks that did not pass are
    failures too, as the exit status then says."""
    root = ET.Element(
        "testsuites",
        {
            "name": f"vendorkit.conformance {report.base_url}",
            **_counts(report.results, reachable=report.reachable, strict=strict),
        },
    )
    root.set("time", f"{duration_seconds:.3f}")
    for level in ("required", "recommended"):
        results = [r for r in report.results if r.level == level]
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": f"{SUITE_PREFIX}.{level}",
                "timestamp": report.started_at.removesuffix("Z"),
                "hostname": report.base_url,
                **_counts(results, reachable=report.reachable, strict=strict),
            },
        )
        properties = ET.SubElement(suite, "properties")
        for name, value in (
            ("kit_version", report.kit_version),
            ("base_url", report.base_url),
            ("level", level),
            ("exit_code", str(report.exit_code_for(strict=strict))),
        ):
            ET.SubElement(properties, "property", {"name": name, "value": value})
        for result in results:
            _case(suite, result, reachable=report.reachable, strict=strict)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def write_junit_xml(
    report: Report, path: str | Path, *, duration_seconds: float = 0.0, strict: bool = False
) -> None:
    text = to_junit_xml(report, duration_seconds=duration_seconds, strict=strict)
    Path(path).write_text(text + "\n", encoding="utf-8")
