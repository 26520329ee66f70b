"""Property-based tests of the whole API against its own OpenAPI document (Schemathesis).

The schema is loaded from the app itself over WSGI; every operation gets a bounded number of
generated requests, once with a school token and once without any credentials. Every answer
must be documented (status, content type, headers) and match its schema, and none may be 5xx.
The last test runs the `schemathesis` command line, as an integrator would, against a live
server.

Schemathesis 3 generates data with hypothesis-jsonschema 0.23, which needs a Hypothesis that
still has `many.more()` (before 6.156): pyproject.toml pins that range.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from market.models import ApiToken
from market.wsgi import application

CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)
BOUNDED = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure here is reproducible
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


@pytest.fixture
def in_process_wsgi():
    """Keep the test's database connection open across WSGI calls, as Django's test client does.

    A real WSGI request ends by closing old connections, which would close the connection that
    holds the test transaction.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db, settings, in_process_wsgi):
    # Generated traffic must not run into the per-token rate limit.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "100000/minute"},
    }
    return schemathesis.from_wsgi("/api/schema/?format=json", application)


schema = schemathesis.from_pytest_fixture("api_schema")


@pytest.mark.django_db
@schema.parametrize()
@BOUNDED
def test_every_operation_answers_as_documented_to_a_school_token(case, world):
    response = case.call_wsgi(headers={"Authorization": f"Bearer {world.school_a.token}"})
    case.validate_response(response, checks=CHECKS)
    # A generated revoke may hit the token itself; keep it alive for the next examples.
    ApiToken.objects.filter(pk=world.school_a.token_row.pk).update(revoked_at=None)


@pytest.mark.django_db
@schema.parametrize()
@settings(BOUNDED, max_examples=3)
def test_every_operation_answers_as_documented_without_credentials(case):
    response = case.call_wsgi()
    case.validate_response(response, checks=CHECKS)
    # 401, or 404 from the catch-all when a generated id is not even a number (e.g. -1).
    assert response.status_code in (401, 404)


# -- the command line ------------------------------------------------------------------------

CLI_CHECKS = ",".join(check.__name__ for check in CHECKS)


def _schemathesis_cli(live_server, tmp_path, *options: str) -> subprocess.CompletedProcess:
    """`schemathesis run` from the virtualenv's bin/, as an integrator runs it."""
    executable = Path(sys.executable).parent / "schemathesis"
    assert executable.exists(), f"the schemathesis command is not installed at {executable}"
    command = [
        str(executable),
        "run",
        f"{live_server.url}/api/schema/?format=json",
        "--base-url",
        live_server.url,
        "--checks",
        CLI_CHECKS,
        "--hypothesis-max-examples",
        "3",
        "--hypothesis-derandomize",  # the same examples every run, and no example database
        "--no-color",
        *options,
    ]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)


@pytest.fixture
def unthrottled(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "100000/minute"},
    }


@pytest.mark.django_db(transaction=True)
def test_the_schemathesis_command_line_passes_against_a_live_server(
    live_server, world, unthrottled, tmp_path
):
    token = world.school_a.token
    result = _schemathesis_cli(live_server, tmp_path, "--header", f"Authorization: Bearer {token}")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Test Execution Error" not in output
    summary = output.strip().splitlines()[-1]
    passed = int(summary.split(" passed")[0].rsplit(" ", 1)[-1])
    assert passed >= 35, summary  # every operation of the API was exercised


@pytest.mark.django_db(transaction=True)
def test_the_command_line_exits_non_zero_when_an_answer_breaks_the_schema(
    live_server, world, unthrottled, tmp_path, monkeypatch
):
    from rest_framework.response import Response

    from portal.api.views import MarketPolicyView

    # An undocumented body: the policy without any of its required fields.
    monkeypatch.setattr(MarketPolicyView, "get", lambda self, request: Response({"x": 1}))
    token = world.school_a.token
    result = _schemathesis_cli(
        live_server,
        tmp_path,
        "--header",
        f"Authorization: Bearer {token}",
        "--include-operation-id",
        "policy_retrieve",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-4000:]
    assert "Response violates schema" in output, output[-4000:]
    assert output.strip().splitlines()[-1].startswith("="), output[-2000:]
    assert " 1 failed " in output.strip().splitlines()[-1], output[-2000:]
