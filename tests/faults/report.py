"""Run the fault tests and print the fault matrix: `python -m tests.faults.report [pytest args]`.

Each row comes from one test's docstring, which states the fault, the expected outcome and
the effects at the vendor::

    '''Worker SIGKILLed mid-activation.

    Fault: ...
    Expected: ...
    Vendor effects: ...
    '''

The result of each row (PASS/FAIL/SKIP) is read from the JUnit XML file pytest writes to
var/faults/junit.xml. The matrix is printed as a Markdown table (docs/reliability.md has one).
The exit status is pytest's.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
JUNIT = ROOT / "var" / "faults" / "junit.xml"
FIELDS = {"fault": "Fault:", "expected": "Expected:", "effects": "Vendor effects:"}


@dataclass
class Row:
    test: str
    title: str
    fault: str = ""
    expected: str = ""
    effects: str = ""
    result: str = "NOT RUN"
    seconds: float = 0.0


def describe(docstring: str | None) -> dict[str, str]:
    """Title and the Fault/Expected/Vendor effects paragraphs of a test's docstring."""
    lines = (docstring or "").strip().splitlines()
    found = {"title": lines[0].strip() if lines else ""}
    current = None
    for line in lines[1:]:
        text = line.strip()
        for key, label in FIELDS.items():
            if text.startswith(label):
                current = key
                text = text.removeprefix(label).strip()
                found[key] = ""
                break
        if current and text:
            found[current] = f"{found[current]} {text}".strip()
    return {key: value[:1].upper() + value[1:] for key, value in found.items()}


def docstrings(folder: Path) -> dict[tuple[str, str], str | None]:
    """(module name, test function name) -> docstring, read without importing the tests."""
    table = {}
    for path in sorted(folder.glob("test_*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                table[(module, node.name)] = ast.get_docstring(node)
    return table


def outcome(case: ET.Element) -> str:
    if case.find("failure") is not None or case.find("error") is not None:
        return "FAIL"
    if case.find("skipped") is not None:
        return "SKIP"
    return "PASS"


def rows_from(junit: Path, folder: Path) -> list[Row]:
    described = docstrings(folder)
    rows = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        module, name = case.get("classname", ""), case.get("name", "")
        info = describe(described.get((module, name.split("[", 1)[0])))
        rows.append(
            Row(
                test=f"{module.rsplit('.', 1)[-1]}::{name}",
                title=info.get("title") or name,
                fault=info.get("fault", ""),
                expected=info.get("expected", ""),
                effects=info.get("effects", ""),
                result=outcome(case),
                seconds=float(case.get("time") or 0),
            )
        )
    return rows


def markdown(rows: list[Row]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|") or "—"

    lines = [
        "| # | fault | expected outcome | effects at the vendor | result | test |",
        "|---|---|---|---|---|---|",
    ]
    for number, row in enumerate(rows, 1):
        fault = f"**{row.title}** {row.fault}".strip()
        lines.append(
            f"| {number} | {cell(fault)} | {cell(row.expected)} | {cell(row.effects)} "
            f"| {row.result} ({row.seconds:.0f} s) | `{row.test}` |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    JUNIT.parent.mkdir(parents=True, exist_ok=True)
    JUNIT.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "pytest", "tests/faults", "-q", "-rA", f"--junitxml={JUNIT}", *argv,
    ]  # fmt: skip
    status = subprocess.run(command, cwd=ROOT, check=False).returncode  # noqa: S603 - fixed argv
    if not JUNIT.exists():
        print("pytest wrote no JUnit file: no matrix to show", file=sys.stderr)
        return status or 1
    rows = rows_from(JUNIT, ROOT / "tests" / "faults")
    passed = sum(row.result == "PASS" for row in rows)
    print("\n## Fault matrix\n")
    print(markdown(rows))
    print(f"\n{passed} of {len(rows)} rows pass; JUnit XML: {JUNIT.relative_to(ROOT)}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
