"""Two schools and two vendors: neither ever sees, nor touches, the other's objects.

Another owner's object answers 404 (the same problem as an id that does not exist) on every
endpoint and method, and never shows up in a list.
"""

import pytest

from market.models import ApiToken
from tenants.models import Subscription
from tests.api.support import API, ids, next_year, problem_of

pytestmark = pytest.mark.django_db

PAIRS = [
    ("school_a", "school_b"),
    ("school_b", "school_a"),
    ("vendor_a", "vendor_b"),
    ("vendor_b", "vendor_a"),
]
SCHOOL_PAIRS = [pair for pair in PAIRS if pair[0].startswith("school")]
VENDOR_PAIRS = [pair for pair in PAIRS if pair[0].startswith("vendor")]


def detail_paths(objects: dict) -> list[str]:
    """Every GET path naming one object of a side."""
    paths = [
        f"{API}/subscriptions/{objects['subscription'].pk}",
        f"{API}/tenants/{objects['tenant'].pk}",
        f"{API}/tenants/{objects['tenant'].pk}/events",
        f"{API}/operations/{objects['operation'].pk}",
        f"{API}/usage/{objects['usage'].pk}",
        f"{API}/tokens/{objects['api_token'].pk}",
    ]
    if "statement" in objects:
        statement = objects["statement"].pk
        paths += [
            f"{API}/statements/{statement}",
            f"{API}/statements/{statement}?format=csv",
            f"{API}/statements/{statement}.csv",
            f"{API}/organizations/{objects['organization'].slug}",
        ]
    if "service" in objects:
        service_id = objects["service"].service_id
        paths += [
            f"{API}/services/{service_id}/manifests",
            f"{API}/health/{service_id}/rollups",
        ]
    return paths


def write_paths(objects: dict) -> list[tuple[str, dict]]:
    """Every command naming one object of a side, with a body that would otherwise be valid."""
    subscription = objects["subscription"].pk
    operation = objects["operation"].pk
    return [
        (f"{API}/subscriptions/{subscription}/renew", {"ends_on": next_year()}),
        (f"{API}/subscriptions/{subscription}/change-plan", {"plan": "premium"}),
        (f"{API}/subscriptions/{subscription}/cancel", {}),
        (f"{API}/operations/{operation}/retry", {}),
        (f"{API}/operations/{operation}/cancel", {}),
        (f"{API}/tokens/{objects['api_token'].pk}/revoke", {}),
    ]


@pytest.mark.parametrize(("caller", "other"), PAIRS)
def test_another_owners_objects_answer_404_on_every_read(world, caller, other):
    api = world.side(caller).api
    for path in detail_paths(world.side(other).objects):
        response = api.get(path)
        assert response.status_code == 404, path
        assert problem_of(response)["type"].endswith("/not-found"), path


@pytest.mark.parametrize(("caller", "other"), PAIRS)
def test_own_objects_answer_200_on_every_read(world, caller, other):
    api = world.side(caller).api
    for path in detail_paths(world.side(caller).objects):
        if caller.startswith("vendor") and "/statements" in path:
            continue  # vendors read no statements (their own test below)
        assert api.get(path).status_code == 200, path


@pytest.mark.parametrize(("caller", "other"), SCHOOL_PAIRS)
def test_a_school_cannot_change_another_schools_objects(world, caller, other):
    api = world.side(caller).api
    theirs = world.side(other).objects
    for path, body in write_paths(theirs):
        response = api.post(path, body)
        assert response.status_code == 404, path
        problem_of(response)
    subscription = Subscription.objects.get(pk=theirs["subscription"].pk)
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.plan.code == "basic"
    assert ApiToken.objects.get(pk=theirs["api_token"].pk).revoked_at is None


@pytest.mark.parametrize(("caller", "other"), VENDOR_PAIRS)
def test_a_vendor_cannot_submit_manifests_or_revoke_tokens_of_another(world, caller, other):
    api = world.side(caller).api
    theirs = world.side(other).objects
    service_id = theirs["service"].service_id
    response = api.post(f"{API}/services/{service_id}/manifests", "version: '1.0'\n",
                        content_type="application/yaml")  # fmt: skip
    assert response.status_code == 404
    problem_of(response)
    for path in (
        f"{API}/tokens/{theirs['api_token'].pk}/revoke",
        f"{API}/operations/{theirs['operation'].pk}/retry",
    ):
        assert api.post(path, {}).status_code == 404, path
    assert theirs["service"].manifests.count() == 1
    assert ApiToken.objects.get(pk=theirs["api_token"].pk).revoked_at is None


LISTS = [
    ("subscriptions", "subscription"),
    ("tenants", "tenant"),
    ("operations", "operation"),
    ("usage", "usage"),
    ("tokens", "api_token"),
]


@pytest.mark.parametrize(("caller", "other"), PAIRS)
@pytest.mark.parametrize(("collection", "key"), LISTS)
def test_lists_hold_own_objects_and_never_anothers(world, caller, other, collection, key):
    response = world.side(caller).api.get(f"{API}/{collection}")
    assert response.status_code == 200
    listed = ids(response)
    assert world.side(caller).objects[key].pk in listed
    assert world.side(other).objects[key].pk not in listed


@pytest.mark.parametrize(("caller", "other"), SCHOOL_PAIRS)
def test_school_lists_of_statements_and_organizations_are_their_own(world, caller, other):
    api = world.side(caller).api
    mine, theirs = world.side(caller).objects, world.side(other).objects
    statements = ids(api.get(f"{API}/statements"))
    assert statements == {mine["statement"].pk}
    organizations = api.get(f"{API}/organizations").json()["results"]
    assert [row["tenant_id"] for row in organizations] == [mine["organization"].slug]
    events = api.get(f"{API}/tenants/{mine['tenant'].pk}/events").json()["results"]
    assert [row["id"] for row in events] == [mine["event"].pk]
    assert theirs["event"].pk not in {row["id"] for row in events}


@pytest.mark.parametrize("vendor", ["vendor_a", "vendor_b"])
def test_vendors_read_no_statements_and_no_schools(world, vendor):
    api = world.side(vendor).api
    for path in (f"{API}/statements", f"{API}/organizations"):
        response = api.get(path)
        assert response.status_code == 403, path
        assert problem_of(response)["detail"]


def test_staff_see_everyone(world):
    api = world.staff.api
    for collection, key in LISTS[:-1]:
        listed = ids(api.get(f"{API}/{collection}"))
        assert {world.school_a.objects[key].pk, world.school_b.objects[key].pk} <= listed
    statements = ids(api.get(f"{API}/statements"))
    assert {
        world.school_a.objects["statement"].pk,
        world.school_b.objects["statement"].pk,
    } <= statements


def test_the_catalog_shows_listed_services_to_everyone_but_unlisted_ones_only_to_their_vendor(
    world,
):
    hidden = world.vendor_b.objects["service"]
    hidden.status = hidden.Status.UNLISTED
    hidden.save()
    path = f"{API}/services/{hidden.service_id}"
    assert world.vendor_b.api.get(path).status_code == 200
    assert world.vendor_a.api.get(path).status_code == 404
    assert world.staff.api.get(path).status_code == 200
    # school_b still uses it, so it may read it; school_a may not.
    assert world.school_b.api.get(path).status_code == 200
    assert world.school_a.api.get(path).status_code == 404
    listed = {
        row["service_id"] for row in world.school_a.api.get(f"{API}/services").json()["results"]
    }
    assert hidden.service_id not in listed
