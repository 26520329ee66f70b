"""Count the two-organization tests: the proof of promise 7 (tenant isolation).

    .venv/bin/python -m tests.security.isolation_census

Every test listed here works in a world of two schools and two vendors (plus staff) and proves
that one never reads nor writes the other's data. The census collects them with pytest (so
parametrized cases count one each) and prints how many there are per area. The test next to
this file fails when the count drops below what ``docs/reliability.md`` promises.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# area -> the test files (whole) or node ids (single tests) that are two-organization tests.
SELECTION = {
    "API": [
        "tests/api/test_isolation.py",
        "tests/api/test_tokens.py::test_a_user_cannot_issue_a_token_for_another_school",
    ],
    "portal": [
        "tests/portal/test_isolation.py",
        "tests/monitoring/test_views.py::test_vendor_sees_details_and_history_links_of_its_own_services_only",
        "tests/monitoring/test_views.py::test_nobody_else_reads_a_vendor_service_history",
        "tests/monitoring/test_views.py::test_school_lists_only_its_own_statements",
        "tests/monitoring/test_views.py::test_another_schools_statement_is_not_found",
        "tests/monitoring/test_views.py::test_vendors_and_outsiders_see_no_statements",
    ],
}
# What docs/reliability.md (row S11) states; a census below these numbers fails its test.
DOCUMENTED = {
    "API": {"functions": 10, "cases": 39},
    "portal": {"functions": 18, "cases": 20},
}
_NODE = re.compile(r"^(?P<file>tests/[^:]+)::(?P<function>[^\[\s]+)(?:\[.*\])?$")


class _Recorder:
    """A pytest plugin that keeps the node ids a collection found."""

    def __init__(self) -> None:
        self.node_ids: list[str] = []

    def pytest_collection_finish(self, session) -> None:
        self.node_ids = [item.nodeid for item in session.items]


def collect() -> dict[str, dict[str, int]]:
    """{area: {"functions": n, "cases": n, "files": n}} from a real pytest collection.

    Runs in-process (a nested ``pytest.main`` that only collects), so the census costs about a
    second inside a test run as well as from the command line.
    """
    census = {}
    for area, selection in SELECTION.items():
        recorder = _Recorder()
        code = pytest.main(
            ["--collect-only", "-q", "-p", "no:cacheprovider", *selection], plugins=[recorder]
        )
        nodes = [m for node_id in recorder.node_ids if (m := _NODE.match(node_id))]
        if code != 0 or len(nodes) != len(recorder.node_ids) or not nodes:
            raise RuntimeError(f"collecting the {area} isolation tests failed (exit {code})")
        functions = Counter((m["file"], m["function"]) for m in nodes)
        census[area] = {
            "functions": len(functions),
            "cases": len(nodes),
            "files": len({m["file"] for m in nodes}),
        }
    return census


def main() -> None:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    census = collect()
    print(f"{'area':<8} {'test functions':>15} {'collected cases':>16} {'files':>6}")
    for area, counts in census.items():
        print(f"{area:<8} {counts['functions']:>15} {counts['cases']:>16} {counts['files']:>6}")
    total_functions = sum(c["functions"] for c in census.values())
    total_cases = sum(c["cases"] for c in census.values())
    print(f"{'total':<8} {total_functions:>15} {total_cases:>16}")


if __name__ == "__main__":
    main()
