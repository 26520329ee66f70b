"""How long the market takes to refuse hostile manifests (a benchmark, not a test).

    .venv/bin/python -m tests.security.bench_hostile_yaml

Prints the median and the worst of 20 runs per document and parser. The claim in issue #8 is
"refused within 100 ms"; the verdict column compares the worst run with that budget.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BUDGET_MS = 100.0
RUNS = 20


def main() -> None:
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "market.settings")
    os.environ.setdefault("MARKET_VAR_DIR", tempfile.mkdtemp(prefix="bench-yaml-"))
    import django

    django.setup()
    from services.standard import yaml_loader
    from services.standard.manifest import validate_manifest_text
    from tests.security.hostile_documents import billion_laughs, deep_nesting, python_tag

    sentinel = Path(tempfile.mkdtemp(prefix="bench-yaml-tag-")) / "created"
    documents = {
        "billion laughs (9x9)": billion_laughs(),
        "python tag (os.mkdir)": python_tag(str(sentinel)),
        "10,000 nested lists": deep_nesting(),
    }
    parsers = {"libyaml": yaml_loader._LOADER_CLASS, "pure-python": yaml_loader._PurePythonLoader}
    print(f"{'document':<24} {'parser':<12} {'median ms':>10} {'worst ms':>9}  verdict")
    for name, text in documents.items():
        for parser_name, parser in parsers.items():
            yaml_loader._LOADER_CLASS = parser
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                result = validate_manifest_text(text, http_allowed_hosts=())
                times.append((time.perf_counter() - started) * 1000)
                assert not result.is_valid
            worst = max(times)
            verdict = "within 100 ms" if worst <= BUDGET_MS else "OVER 100 ms"
            print(
                f"{name:<24} {parser_name:<12} {statistics.median(times):>10.2f} {worst:>9.2f}"
                f"  {verdict}"
            )
    print(f"python tag executed: {sentinel.exists()}")


if __name__ == "__main__":
    main()
