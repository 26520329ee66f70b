"""Two authorization requests with one nonce at the same moment: exactly one launch.

Needs a database that runs the two transactions concurrently (PostgreSQL; `make test-all`
with DATABASE_URL). On SQLite the writes are serialised anyway and the test says so and skips.
"""

import threading

import pytest
from django.db import connection, connections

from lti.errors import LtiError
from lti.models import Login
from lti.services import launch_start, lti_authorize, subject_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_nonce_raced_in_two_requests_launches_once(lti_world):
    if connection.vendor != "postgresql":
        reason = "needs PostgreSQL for truly concurrent transactions (DATABASE_URL)"
        print(reason)
        pytest.skip(reason)
    admin = lti_world.admin_a
    forms = [launch_start(user=admin, subscription=lti_world.subscription_a) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def authorize(form):
        params = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": lti_world.tool.client_id,
            "redirect_uri": lti_world.tool.redirect_uris[0],
            "login_hint": subject_of(admin),
            "lti_message_hint": form.fields["lti_message_hint"],
            "state": "s",
            "nonce": "the-same-nonce",
        }
        barrier.wait()
        try:
            lti_authorize(user=admin, params=params)
            outcomes.append("launched")
        except LtiError as error:
            outcomes.append(error.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=authorize, args=(form,)) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["invalid_request", "launched"]
    assert Login.objects.filter(nonce="the-same-nonce").count() == 1
