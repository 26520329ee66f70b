"""API tokens: shown once, only their hash kept, and dead the moment they expire or are revoked."""

import datetime
import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from market.models import ApiToken
from market.tokens import api_token_create, authenticate_token
from tests.api.support import API, ApiClient, problem_of
from tests.factories import OrganizationFactory, SchoolAdminFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _row_values(token: ApiToken) -> list[str]:
    return [str(getattr(token, f.attname)) for f in ApiToken._meta.concrete_fields]


def test_a_created_token_is_shown_once_and_only_its_hash_is_stored(world):
    response = world.school_a.api.post(f"{API}/tokens", {"name": "LMS sync"})
    assert response.status_code == 201
    body = response.json()
    plaintext = body["token"]
    assert plaintext.startswith(body["prefix"] + "_")
    assert body["scope"] == "organization"
    assert body["organization"] == "school_a"
    assert body["created_by"] == world.school_a.user.username

    row = ApiToken.objects.get(pk=body["id"])
    assert row.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert all(plaintext not in value for value in _row_values(row))
    again = world.school_a.api.get(f"{API}/tokens/{row.pk}").json()
    assert "token" not in again
    assert all(plaintext not in str(value) for value in again.values())
    listed = world.school_a.api.get(f"{API}/tokens").json()["results"]
    assert row.pk in {t["id"] for t in listed}
    assert "token" not in listed[0]

    assert ApiClient(plaintext).get(f"{API}/services").status_code == 200


def test_a_token_gets_the_scope_of_whoever_creates_it(world):
    for side, scope in (("staff", "staff"), ("vendor_a", "vendor")):
        body = world.side(side).api.post(f"{API}/tokens", {"name": "x"}).json()
        assert body["scope"] == scope


def test_a_revoked_token_answers_401_at_once(world):
    api = world.school_a.api
    token_id = world.school_a.token_row.pk
    response = api.post(f"{API}/tokens/{token_id}/revoke", {})
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert response.json()["is_active"] is False

    refused = api.get(f"{API}/subscriptions")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert problem_of(refused)["type"].endswith("/not-authenticated")


def test_an_expired_token_answers_401(world):
    ApiToken.objects.filter(pk=world.school_a.token_row.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = world.school_a.api.get(f"{API}/subscriptions")
    assert response.status_code == 401
    problem_of(response)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer smk_nope_nope", "Bearer", "Bearer a b", "Bearer " + "x" * 500, "Bearer smk_é"],
)
def test_unknown_or_malformed_tokens_answer_401(world, authorization):
    response = ApiClient().client.get(
        f"{API}/services", HTTP_AUTHORIZATION=authorization.encode("utf-8").decode("latin-1")
    )
    assert response.status_code == 401
    problem_of(response)


def test_no_credentials_answer_401_with_the_bearer_challenge(anonymous):
    response = anonymous.get(f"{API}/services")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    problem_of(response)


def test_a_token_dies_with_its_creators_membership(world):
    admin = world.school_a.user
    admin.organization = OrganizationFactory()
    admin.save()
    assert world.school_a.api.get(f"{API}/subscriptions").status_code == 401


def test_a_token_of_a_disabled_school_answers_401(world):
    organization = world.school_a.objects["organization"]
    organization.is_active = False
    organization.save()
    assert world.school_a.api.get(f"{API}/subscriptions").status_code == 401


def test_last_used_at_is_recorded_without_a_write_per_request(world):
    token = world.school_a.token_row
    assert token.last_used_at is None
    world.school_a.api.get(f"{API}/services")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    world.school_a.api.get(f"{API}/services")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first


def test_a_token_cannot_be_created_already_expired(world):
    response = world.school_a.api.post(
        f"{API}/tokens", {"name": "old", "expires_at": "2000-01-01T00:00:00Z"}
    )
    assert response.status_code == 422
    assert problem_of(response)["errors"][0]["field"] == "expires_at"


def test_a_user_cannot_issue_a_token_for_another_school():
    admin = SchoolAdminFactory()
    other = OrganizationFactory()
    with translation.override("en"), pytest.raises(Exception, match="own school"):
        api_token_create(name="x", scope="organization", organization=other, created_by=admin)
    assert not ApiToken.objects.exists()


def test_authenticate_token_ignores_the_lookalikes_of_a_real_token(db):
    token, plaintext = api_token_create(name="x", scope="staff", created_by=StaffFactory())
    assert authenticate_token(plaintext) == token
    assert authenticate_token(plaintext + "x") is None
    assert authenticate_token(token.prefix) is None
    assert authenticate_token(token.key_hash) is None


def test_create_api_token_command_prints_a_working_token_once(world):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "--organization", "school_b", "--name", "cron",
                 "--expires-in-days", "30", stdout=out, stderr=err)  # fmt: skip
    plaintext = out.getvalue().strip()
    assert plaintext.startswith("smk_")
    assert plaintext not in err.getvalue()
    token = ApiToken.objects.get(name="cron")
    assert token.scope == "organization"
    assert token.organization.slug == "school_b"
    assert token.created_by is None
    assert token.expires_at > timezone.now() + datetime.timedelta(days=29)
    listed = ApiClient(plaintext).get(f"{API}/subscriptions").json()["results"]
    assert [s["organization"] for s in listed] == ["school_b"]


def test_create_api_token_command_refuses_an_unknown_owner(db):
    with pytest.raises(CommandError, match="No organization"):
        call_command("create_api_token", "--organization", "nope", "--name", "x",
                     stdout=StringIO(), stderr=StringIO())  # fmt: skip
    assert not ApiToken.objects.exists()
