"""Health, incidents, usage, statements (JSON and CSV) and the market policy."""

import pytest
from django.utils import timezone

from market.models import MarketPolicy
from monitoring.billing import statement_csv
from monitoring.models import Incident, Statement, UsageReport
from tests.api.support import API, problem_of

pytestmark = pytest.mark.django_db


def test_health_shows_each_services_state_and_open_incident(world):
    service = world.vendor_a.objects["service"]
    service.health = service.Health.UNHEALTHY
    service.health_reason = "HTTP 503"
    service.health_checked_at = timezone.now()
    service.save()
    rows = world.school_b.api.get(f"{API}/health").json()["results"]
    alpha = next(r for r in rows if r["service_id"] == "alpha_tutor")
    assert alpha["state"] == "unhealthy"
    assert alpha["reason"] == "HTTP 503"
    assert alpha["open_incident"] == world.vendor_a.objects["incident"].pk
    unhealthy = world.school_b.api.get(f"{API}/health", {"state": "unhealthy"}).json()
    assert [r["service_id"] for r in unhealthy["results"]] == ["alpha_tutor"]
    assert world.school_b.api.get(f"{API}/health/alpha_tutor").json()["state"] == "unhealthy"


def test_hourly_history_is_for_the_vendor_and_staff(world):
    path = f"{API}/health/alpha_tutor/rollups"
    rows = world.vendor_a.api.get(path).json()["results"]
    assert rows[0]["checks"] == 60
    assert rows[0]["uptime_percent"] == "98.33"
    assert world.staff.api.get(path).status_code == 200
    assert world.school_a.api.get(path).status_code == 404
    assert world.vendor_a.api.get(path, {"since": "not-a-time"}).status_code == 400


def test_incidents_filter_open_and_by_service(world):
    incident = world.vendor_b.objects["incident"]
    Incident.objects.filter(pk=incident.pk).update(closed_at=timezone.now())
    api = world.school_a.api
    open_ids = {r["id"] for r in api.get(f"{API}/incidents", {"open": "true"}).json()["results"]}
    assert open_ids == {world.vendor_a.objects["incident"].pk}
    closed = api.get(f"{API}/incidents", {"open": "false", "service": "beta_chat"}).json()
    assert [r["id"] for r in closed["results"]] == [incident.pk]
    assert closed["results"][0]["is_open"] is False


def test_usage_filters_by_tenant_and_month(world):
    usage = world.school_a.objects["usage"]
    api = world.school_a.api
    month = f"{usage.month:%Y-%m}"
    rows = api.get(f"{API}/usage", {"tenant": usage.tenant_id, "month": month}).json()["results"]
    assert [r["id"] for r in rows] == [usage.pk]
    assert rows[0]["month"] == month
    assert rows[0]["metrics"]["ai_tokens"] == 100
    assert api.get(f"{API}/usage", {"month": "1999-01"}).json()["count"] == 0
    bad = api.get(f"{API}/usage", {"month": "March"})
    assert bad.status_code == 400
    assert problem_of(bad)["errors"][0]["field"] == "month"


def test_a_statement_reads_as_json_and_as_the_same_csv_three_ways(world):
    statement = world.school_a.objects["statement"]
    api = world.school_a.api
    body = api.get(f"{API}/statements/{statement.pk}").json()
    assert body["total"] == "100000"
    assert body["lines"][0]["kind"] == "plan"
    assert body["csv_url"] == f"{API}/statements/{statement.pk}.csv"
    expected = statement_csv(Statement.objects.get(pk=statement.pk))
    for response in (
        api.get(f"{API}/statements/{statement.pk}", {"format": "csv"}),
        api.get(f"{API}/statements/{statement.pk}", headers={"Accept": "text/csv"}),
        api.get(body["csv_url"]),
    ):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        assert response.content.decode() == expected
    listing = api.get(f"{API}/statements", {"month": body["month"]}).json()
    assert [s["id"] for s in listing["results"]] == [statement.pk]


def test_everyone_reads_the_policy_and_only_staff_change_it(world):
    assert world.vendor_a.api.get(f"{API}/policy").json()["expiry_notice_days"] == 7
    refused = world.school_a.api.patch(f"{API}/policy", {"expiry_notice_days": 3})
    assert refused.status_code == 403
    problem_of(refused)
    changed = world.staff.api.patch(f"{API}/policy", {"expiry_notice_days": 3})
    assert changed.status_code == 200
    assert changed.json()["expiry_notice_days"] == 3
    assert MarketPolicy.load().expiry_notice_days == 3


@pytest.mark.parametrize(
    "body",
    [
        {"incident_threshold": 0},
        {"isolation_preference": "MOON"},
        {"expiry_notice_days": "soon"},
        {},
    ],
)
def test_a_bad_policy_change_is_a_400_and_changes_nothing(world, body):
    response = world.staff.api.patch(f"{API}/policy", body)
    assert response.status_code == 400
    problem_of(response)
    policy = MarketPolicy.load()
    assert (policy.incident_threshold, policy.expiry_notice_days) == (3, 7)


@pytest.mark.parametrize("month", ["0001-01", "1999-12", "9999-12"])
def test_a_usage_month_out_of_range_is_refused_and_nothing_is_stored(world, month):
    tenant = world.school_a.objects["tenant"]
    before = list(UsageReport.objects.values())
    response = world.school_a.api.post(f"{API}/tenants/{tenant.pk}/usage/collect", {"month": month})
    assert response.status_code == 422
    problem = problem_of(response)
    assert problem["errors"][0]["field"] == "month"
    assert "2000-01" in problem["errors"][0]["message"]
    assert list(UsageReport.objects.values()) == before


def test_a_school_previews_its_upcoming_statement(world):
    response = world.school_a.api.get(f"{API}/statements/preview")
    assert response.status_code == 200
    body = response.json()
    assert body["month"] == f"{timezone.localdate():%Y-%m}"
    assert body["currency"] == "KRW"
    assert {"total", "lines", "estimate_total", "estimate_lines", "over_limits"} <= set(body)
    ids = {line["subscription"] for line in body["estimate_lines"]}
    assert ids <= {world.school_a.objects["subscription"].pk}


def test_staff_preview_names_the_school(world):
    missing = world.staff.api.get(f"{API}/statements/preview")
    assert missing.status_code == 400
    assert problem_of(missing)["errors"][0]["field"] == "organization"
    school = world.school_b.objects["subscription"].organization_id
    assert (
        world.staff.api.get(f"{API}/statements/preview", {"organization": school}).status_code
        == 200
    )


def test_vendors_get_no_preview(world):
    assert world.vendor_a.api.get(f"{API}/statements/preview").status_code == 403


def test_every_problem_of_a_renewal_is_listed_under_its_field(world):
    subscription = world.school_a.objects["subscription"]
    response = world.school_a.api.post(
        f"{API}/subscriptions/{subscription.pk}/renew", {"ends_on": "9999-12-31"}
    )
    assert response.status_code == 422
    problem = problem_of(response)
    assert [item["field"] for item in problem["errors"]] == ["ends_on"]
    subscription.refresh_from_db()
    assert subscription.ends_on.year < 9999
