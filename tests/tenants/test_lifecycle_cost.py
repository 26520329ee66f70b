"""What one lifecycle operation costs the database: a fixed, small number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.operations import dispatch
from tests.support.stub_vendor import StubVendor, register_stub_service
from tests.support.vendors import TEST_CREDENTIALS
from tests.tenants.test_outcomes import activation, run, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def stub():
    with StubVendor(api_key=TEST_CREDENTIALS.api_key) as vendor:
        yield vendor


@pytest.fixture(autouse=True)
def dispatched(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(dispatch, "send_to_worker", lambda pk, *, countdown=None: sent.append(pk))
    return sent


def test_an_activation_costs_a_fixed_number_of_queries(
    stub, dispatched, django_capture_on_commit_callbacks
):
    service = register_stub_service(stub)
    warm = activation(subscribe(service, slug="warm_school"))
    operation = activation(subscribe(service, slug="counted_school"))
    assert run(warm) == "succeeded"

    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert run(operation) == "succeeded"

    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    # 14 for the lifecycle (claim 7, apply 5, slot hand-off 2; the vendor client is this
    # thread's, so no manifest or credentials read), 2 for the event log (the service's vendor,
    # the event), 3 for the "service is ready" e-mail's outbox row and 2 for the tenant's state
    # history that billing counts delivered days from (requested → activating → active). The
    # lifecycle's part was 16 before the per-thread client.
    assert len(statements) <= 21, "\n".join(s[:120] for s in statements)
    assert not [s for s in statements if "services_servicecredential" in s]
    assert not [s for s in statements if "services_manifest" in s]
