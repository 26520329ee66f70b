"""The benchmarks run end to end at tiny sizes (no timing is asserted, only what they report).

Each runs ``python -m bench <name>`` in a process of its own (as ``make bench`` does) with its
own var/ folder, SQLite and the filesystem broker (Redis db 9 stays the bench's). The exporter
is ``fake_exporter.py`` through ``BENCH_EXPORTER_BINARY``, so no Debian package is needed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
FAKE_EXPORTER = Path(__file__).resolve().parent / "fake_exporter.py"

pytestmark = pytest.mark.worker


@pytest.fixture
def bench_env(tmp_path):
    script = tmp_path / "fake-blackbox-exporter"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_EXPORTER}" "$@"\n')
    script.chmod(0o755)
    return {
        **os.environ,
        "MARKET_VAR_DIR": str(tmp_path / "var"),
        "BENCH_BROKER": "filesystem",
        "BENCH_EXPORTER_BINARY": str(script),
    }


def run_bench(env, tmp_path, *argv: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "result.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", *argv, "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    result = json.loads(out.read_text())["benchmarks"][0] if out.exists() else {}
    return finished, result


def figures(result: dict) -> dict[str, dict]:
    return {figure["name"]: figure for figure in result["figures"]}


def test_the_sweep_at_twenty_endpoints_reports_ours_the_exporter_and_their_ratios(
    bench_env, tmp_path
):
    finished, result = run_bench(
        bench_env, tmp_path, "sweep", "--size", "20", "--rounds", "1", "--hang-percent", "10"
    )
    assert finished.returncode in (0, 1), finished.stdout + finished.stderr
    assert result["error"] == ""
    found = figures(result)
    for name in (
        "ours: wall (N=20)",
        "ours: CPU (N=20)",
        "ours: probes/s (N=20)",
        "exporter: wall (N=20)",
        "exporter: CPU (N=20)",
        "wall ours / exporter (N=20)",
        "CPU ours / exporter (N=20)",
    ):
        assert name in found, sorted(found)
    # Every tenth endpoint never answers: exactly 2 of 20, recorded as unhealthy by both.
    assert found["ours: unhealthy recorded, every round (N=20)"]["verdict"] == "PASS"
    assert found["exporter: probe_success 0, every round (N=20)"]["value"] == "[2]"
    assert found["wall ours / exporter (N=20)"]["target"] == "≤ 0.75"
    assert found["CPU ours / exporter (N=20)"]["target"] == "≤ 0.35"
    assert result["raw"]["ours"][0]["states"] == {"healthy": 18, "unhealthy": 2}


def test_a_benchmark_whose_peer_cannot_start_exits_non_zero_and_prints_no_figure(
    bench_env, tmp_path
):
    env = {**bench_env, "BENCH_EXPORTER_BINARY": "/bin/false"}
    finished, result = run_bench(env, tmp_path, "sweep", "--size", "20", "--rounds", "1")
    assert finished.returncode == 2
    assert "COULD NOT RUN: the blackbox exporter did not start" in finished.stdout
    assert "could not run" in finished.stderr
    assert "wall" not in finished.stdout
    assert "round 1" not in finished.stdout
    assert result["figures"] == []
    assert result["error"].startswith("the blackbox exporter did not start")


def test_a_missing_exporter_binary_is_named_and_not_installed(bench_env, tmp_path):
    env = {**bench_env, "BENCH_EXPORTER_BINARY": str(tmp_path / "no-such-exporter")}
    finished, result = run_bench(env, tmp_path, "exporter", "--size", "20", "--rounds", "1")
    assert finished.returncode == 2
    assert "no-such-exporter (BENCH_EXPORTER_BINARY) does not exist" in result["error"]
    assert "apt-get" not in finished.stdout
    assert result["figures"] == []


def test_bulk_activation_never_exceeds_the_cap_and_sends_one_request_id_each(bench_env, tmp_path):
    # One worker process: two consumers of the filesystem broker's folder race for a message
    # file, and the loser reads it half-deleted (kombu then stops the worker); the benchmark
    # itself also runs one on that broker.
    finished, result = run_bench(
        bench_env, tmp_path, "activation", "--size", "12", "--delay-ms", "50", "--cap", "3",
        "--workers", "1", "--concurrency", "6", "--database", "sqlite",
    )  # fmt: skip
    assert finished.returncode in (0, 1), finished.stdout + finished.stderr
    found = figures(result)
    assert found["tenants active"]["verdict"] == "PASS"
    assert found["most concurrent requests at the vendor"]["value"] <= 3
    assert found["most concurrent requests at the vendor"]["verdict"] == "PASS"
    assert found["distinct request ids at the vendor"]["value"] == 12
    assert "time until all 12 active (ideal 0.2 s)" in found


def test_usage_collection_and_billing_report_every_report_and_statement(bench_env, tmp_path):
    finished, result = run_bench(
        bench_env, tmp_path, "usage", "--size", "12", "--services", "3", "--delay-ms", "10",
        "--database", "sqlite",
    )  # fmt: skip
    assert finished.returncode in (0, 1), finished.stdout + finished.stderr
    found = figures(result)
    assert found["collection: reports collected"]["value"] == 12
    assert found["billing: statements with usage lines"]["value"] == 4
    assert "collection: 12 reports, wall" in found
    assert "billing: 4 statements, wall" in found


def test_pages_count_queries_at_two_sizes_and_compare_the_api_with_a_bare_view(bench_env, tmp_path):
    finished, result = run_bench(
        bench_env, tmp_path, "pages", "--size", "40", "--scale", "2", "--requests", "2",
        "--months", "2", "--database", "sqlite",
    )  # fmt: skip
    assert finished.returncode in (0, 1), finished.stdout + finished.stderr
    found = figures(result)
    for page in ("catalog", "my subscriptions", "admin: tenants", "admin: operations",
                 "API: subscriptions", "API: tenants", "API: operations", "API: usage"):  # fmt: skip
        figure = found[f"queries: {page} (N=40 → 80)"]
        assert figure["verdict"] == "PASS", figure
    assert found["API / bare requests per second (N=80)"]["target"] == "≥ 0.5"


def test_the_whole_run_writes_the_table_the_json_and_the_document(bench_env, tmp_path, monkeypatch):
    from bench.__main__ import main_all

    for name, value in bench_env.items():
        monkeypatch.setenv(name, value)
    doc = tmp_path / "performance.md"
    plan = [("pages", ["--size", "20", "--scale", "2", "--requests", "1", "--months", "1",
                       "--database", "sqlite"], 200)]  # fmt: skip
    code = main_all(plan=plan, doc=doc, budget=300)
    assert code in (0, 1)
    text = doc.read_text()
    assert "| queries: catalog (N=20 → 40) |" in text
    assert "**Machine:**" in text
    results = json.loads((tmp_path / "var" / "results.json").read_text())
    assert results["benchmarks"][0]["benchmark"] == "pages"
    assert results["machine"]["cores"] == os.cpu_count()
