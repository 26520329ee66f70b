"""Property-based tests of the whole API against its own OpenAPI document (Schemathesis).

The schema is loaded from the app itself over WSGI; every operation gets a bounded number of
generated requests, once with a school token and once without any credentials. Every answer
must be documented (status, content type, headers) and match its schema, and none may be 5xx.

Needs `schemathesis>=3.39,<4` (not yet in pyproject.toml).
"""

import pytest

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis>=3.39,<4 is not installed (pip install it to run this)"
)
from django.core import signals  # noqa: E402
from django.db import close_old_connections  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis.internal.conjecture import utils as conjecture_utils  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from market.models import ApiToken  # noqa: E402
from market.wsgi import application  # noqa: E402


def _add_more_to_many() -> None:
    """Let hypothesis-jsonschema 0.23 (Schemathesis 3's generator) run on current Hypothesis.

    hypothesis-jsonschema drives Hypothesis' internal `many` helper with `while
    elements.more():`; recent Hypothesis replaced `more()` with `with many(...) as elements:
    for _ in elements:`. This adds `more()` back on top of the new protocol, only when it is
    missing, so the generated objects stay well-formed for Hypothesis' shrinker.
    """
    many = conjecture_utils.many
    if hasattr(many, "more"):
        return

    def more(self) -> bool:
        if self._depth is None:
            self.__enter__()
            self._shim_elements = iter(self)
        try:
            next(self._shim_elements)
        except StopIteration:
            self.__exit__(None)
            return False
        return True

    many.more = more


_add_more_to_many()

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
