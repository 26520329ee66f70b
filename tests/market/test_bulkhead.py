"""The bulkhead's start check: no setting lets one vendor hold more than half of a worker."""

import os
import subprocess
import sys

import pytest

from market.lib import bulkhead
from tests.support.worker import ROOT


@pytest.fixture(autouse=True)
def _outside_a_worker(monkeypatch):
    monkeypatch.setattr(bulkhead, "_worker_slots", None)


def test_the_automatic_cap_is_half_the_slots_less_the_usage_slot(settings):
    settings.VENDOR_MAX_CALLS_PER_VENDOR = 0
    assert bulkhead.worker_configure(slots=48, serves_lifecycle=True) is None
    assert bulkhead.vendor_call_cap() == 23
    assert bulkhead.worker_configure(slots=2, serves_lifecycle=True) is None
    assert bulkhead.vendor_call_cap() == 1


def test_outside_a_worker_only_the_service_cap_applies(settings):
    settings.VENDOR_MAX_CALLS_PER_VENDOR = 0
    settings.VENDOR_MAX_CONCURRENT_CALLS = 7
    assert bulkhead.vendor_call_cap() == 7


def test_an_explicit_cap_over_half_the_slots_is_refused_in_one_line_naming_it(settings):
    settings.VENDOR_MAX_CALLS_PER_VENDOR = 20
    problem = bulkhead.worker_configure(slots=24, serves_lifecycle=True)
    assert problem is not None and "\n" not in problem
    assert problem.startswith("VENDOR_MAX_CALLS_PER_VENDOR=20 ")
    assert "at most 11" in problem and "--concurrency 42" in problem
    assert bulkhead.worker_configure(slots=42, serves_lifecycle=True) is None
    assert bulkhead.vendor_call_cap() == 20
    # A probes-only worker makes no lifecycle calls: nothing to refuse.
    assert bulkhead.worker_configure(slots=2, serves_lifecycle=False) is None


def test_a_worker_that_one_vendor_could_fill_does_not_start():
    env = {**os.environ, "VENDOR_MAX_CALLS_PER_VENDOR": "20"}
    command = [
        sys.executable, "-m", "celery", "-A", "market", "worker", "--pool", "threads",
        "--concurrency", "24", "--queues", "celery", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    done = subprocess.run(  # noqa: S603 - fixed argv
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("Configuration error")]
    assert len(errors) == 1
    assert "VENDOR_MAX_CALLS_PER_VENDOR=20" in errors[0]
