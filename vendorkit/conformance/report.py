"""What a conformance run found: one result per check, a summary, the text and JSON forms.

Outcomes: ``PASS``; ``FAIL`` (a required check failed); ``WARN`` (a recommended check failed:
reported with the rule it comes from, the exit status does not change); ``SKIP`` (could not be
judged, with the reason).

Exit status (the command line's, and ``Report.exit_code``):

- ``0`` (``EXIT_CONFORMANT``): every required check passed (warnings may have been printed);
- ``1`` (``EXIT_NOT_CONFORMANT``): at least one required check failed;
- ``2`` (``EXIT_COULD_NOT_RUN``): the run could not be made: the vendor cannot be reached at
  all, or the options, the manifest or the OAuth2 token endpoint are unusable;
- ``3`` (``EXIT_RECOMMENDED_FAILED``), only when asked for (``--strict``): every required check
  passed but a recommended one did not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from vendorkit.conformance.catalogue import CHECKS_BY_ID, RECOMMENDED, REQUIRED

Outcome = Literal["PASS", "FAIL", "WARN", "SKIP"]

KIT_VERSION = "1.1"
EXIT_CONFORMANT = 0
EXIT_NOT_CONFORMANT = 1
EXIT_COULD_NOT_RUN = 2
EXIT_RECOMMENDED_FAILED = 3
EXIT_CODES = {
    EXIT_CONFORMANT: "every required check passed (recommended failures are warnings)",
    EXIT_NOT_CONFORMANT: "at least one required check failed",
    EXIT_COULD_NOT_RUN: (
        "the run could not be made: the vendor cannot be reached, or the options, the "
        "manifest or the OAuth2 token endpoint are unusable"
    ),
    EXIT_RECOMMENDED_FAILED: (
        "only with --strict: every required check passed, but a recommended one did not"
    ),
}


@dataclass
class CheckResult:
    """One check's verdict, with the request and an excerpt of the answer that shows why.

    ``level`` is ``required`` or ``recommended``; ``source`` names the rule (the founding
    document's section or the standard's). ``required`` is kept for readers of kit 1.0 reports.
    """

    id: str
    title: str
    required: bool
    outcome: Outcome
    detail: str = ""
    request: str = ""
    response: str = ""
    level: str = REQUIRED
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    """Everything one run found. ``exit_code`` is what the command line exits with."""

    base_url: str
    started_at: str
    finished_at: str = ""
    reachable: bool = True
    results: list[CheckResult] = field(default_factory=list)
    kit_version: str = KIT_VERSION

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def passed_count(self) -> int:
        return self.count("PASS")

    @property
    def failed_count(self) -> int:
        return self.count("FAIL")

    @property
    def skipped_count(self) -> int:
        return self.count("SKIP")

    @property
    def warning_count(self) -> int:
        return self.count("WARN")

    @property
    def required_failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.outcome == "FAIL" and r.required]

    @property
    def warnings(self) -> list[CheckResult]:
        """The recommended checks that did not pass."""
        return [r for r in self.results if r.outcome == "WARN"]

    @property
    def conformant(self) -> bool:
        return self.reachable and not self.required_failures

    @property
    def exit_code(self) -> int:
        if not self.reachable:
            return EXIT_COULD_NOT_RUN
        return EXIT_CONFORMANT if self.conformant else EXIT_NOT_CONFORMANT

    def exit_code_for(self, *, strict: bool = False) -> int:
        """``exit_code``; with ``strict``, 3 when only recommended checks did not pass."""
        if strict and self.exit_code == EXIT_CONFORMANT and self.warnings:
            return EXIT_RECOMMENDED_FAILED
        return self.exit_code

    def result(self, check_id: str) -> CheckResult:
        for result in self.results:
            if result.id == check_id:
                return result
        raise KeyError(check_id)

    def outcomes(self) -> dict[str, Outcome]:
        return {result.id: result.outcome for result in self.results}

    def summary(self) -> dict[str, int]:
        return {
            "total": len(self.results),
            "passed": self.passed_count,
            "failed": self.failed_count,
            "skipped": self.skipped_count,
            "warnings": self.warning_count,
            "required_failed": len(self.required_failures),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "kit_version": self.kit_version,
            "base_url": self.base_url,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "reachable": self.reachable,
            "conformant": self.conformant,
            "exit_code": self.exit_code,
            "summary": self.summary(),
            "results": [result.as_dict() for result in self.results],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Rebuild a report from ``to_dict()`` (for example one stored by the market)."""
        return cls(
            base_url=data.get("base_url", ""),
            started_at=data.get("started_at", ""),
            finished_at=data.get("finished_at", ""),
            reachable=bool(data.get("reachable", True)),
            kit_version=data.get("kit_version", KIT_VERSION),
            results=[_result_from_dict(item) for item in data.get("results", [])],
        )


def _result_from_dict(item: dict[str, Any]) -> CheckResult:
    required = bool(item.get("required", True))
    level = item.get("level") or (REQUIRED if required else RECOMMENDED)
    outcome = item["outcome"]
    if outcome == "FAIL" and level == RECOMMENDED:
        outcome = "WARN"  # kit 1.0 reported a failed recommended check as FAIL
    spec = CHECKS_BY_ID.get(item["id"])
    return CheckResult(
        id=item["id"],
        title=item.get("title", ""),
        required=level == REQUIRED,
        outcome=outcome,
        detail=item.get("detail", ""),
        request=item.get("request", ""),
        response=item.get("response", ""),
        level=level,
        source=item.get("source") or (spec.source if spec else ""),
    )


def _indented(label: str, text: str) -> list[str]:
    lines = text.splitlines() or [""]
    pad = " " * 6
    first = f"{pad}{label:<10}{lines[0]}"
    return [first, *(f"{pad}{'':<10}{line}" for line in lines[1:])]


def format_text(report: Report) -> str:
    """One line per check (``PASS|FAIL|SKIP  <id>  <title>``), the evidence of each failure,
    the reason of each skip, and a summary line."""
    lines: list[str] = []
    for result in report.results:
        title = result.title if result.required else f"{result.title} (recommended)"
        lines.append(f"{result.outcome}  {result.id}  {title}")
        if result.outcome == "WARN":
            lines.extend(_indented("rule:", result.source))
        if result.outcome in ("FAIL", "WARN"):
            lines.extend(_indented("why:", result.detail))
            if result.request:
                lines.extend(_indented("request:", result.request))
            if result.response:
                lines.extend(_indented("response:", result.response))
        elif result.outcome == "SKIP" and result.detail:
            lines.extend(_indented("skipped:", result.detail))
    summary = report.summary()
    if not report.reachable:
        verdict = "the vendor could not be reached"
    elif report.conformant:
        verdict = "CONFORMANT"
    else:
        verdict = f"NOT CONFORMANT ({summary['required_failed']} required check(s) failed)"
    warned = f", {summary['warnings']} warnings" if summary["warnings"] else ""
    lines.append(
        f"{summary['total']} checks: {summary['passed']} passed, {summary['failed']} failed, "
        f"{summary['skipped']} skipped{warned} - {verdict}"
    )
    return "\n".join(lines)
