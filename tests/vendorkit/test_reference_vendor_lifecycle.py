"""The reference vendor over real HTTP: every endpoint of the standard and the tenant lifecycle."""

from datetime import UTC, datetime

import time_machine

from tests.vendorkit.conftest import activate_body, assert_matches_schema, deactivate_body
from vendorkit.reference_store import reference_usage

SEED_NOW = datetime(2026, 1, 3, 12, 0, 0, tzinfo=UTC)


def test_health_answers_without_authentication(vendor):
    response = vendor.session.get(vendor.base_url + "/mt/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    assert response.json()["version"] == "1.0.0"
    assert_matches_schema(response.json(), "health.response.schema.json")


def test_health_reports_the_configured_status(start_vendor):
    _, client = start_vendor(health_status="degraded")
    assert client.session.get(client.base_url + "/mt/health").json()["status"] == "degraded"


def test_activate_creates_tenant_with_access_url_and_temp_password(vendor):
    response = vendor.activate("hallym_univ")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "activated"
    assert body["tenant_id"] == "hallym_univ"
    assert body["access_url"] == vendor.base_url + "/app/hallym_univ"
    assert len(body["admin_credentials"]["temp_password"]) >= 12
    assert_matches_schema(body, "activate.response.schema.json")


def test_activate_can_announce_credentials_by_email(start_vendor):
    _, client = start_vendor(credentials_delivery="email")
    body = client.activate("hallym_univ").json()
    assert body["credentials_delivery"] == "email"
    assert "admin_credentials" not in body


def test_activate_url_quotes_the_tenant_id_in_the_access_url(vendor):
    response = vendor.activate("a b", body=activate_body("a b"))
    assert response.status_code == 200
    assert response.json()["access_url"].endswith("/app/a%20b")


def test_activate_with_the_same_request_id_replays_the_first_answer_byte_for_byte(vendor):
    first = vendor.activate("hallym_univ", request_id="rid-1")
    again = vendor.activate("hallym_univ", request_id="rid-1")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert vendor.stats()["applied"]["activate"] == 1


def test_activate_replay_has_no_effect_after_a_later_change(vendor):
    first = vendor.activate("hallym_univ", request_id="rid-1")
    vendor.deactivate("hallym_univ")
    again = vendor.activate("hallym_univ", request_id="rid-1")
    assert again.content == first.content
    assert vendor.status("hallym_univ").json()["status"] == "deactivated"


def test_activate_of_an_active_tenant_with_a_new_request_id_is_a_conflict(vendor):
    vendor.activate("hallym_univ")
    response = vendor.activate("hallym_univ")
    assert response.status_code == 409
    assert response.json() == {
        "error": "tenant_already_exists",
        "message": "Tenant hallym_univ already exists",
    }
    assert_matches_schema(response.json(), "error.response.schema.json")


def test_status_shows_plan_users_and_storage_within_limits(vendor):
    with time_machine.travel(SEED_NOW, tick=False):
        vendor.activate("hallym_univ")
        body = vendor.status("hallym_univ").json()
    assert body["tenant_id"] == "hallym_univ"
    assert body["status"] == "active"
    assert body["plan"] == "premium"
    assert body["created_at"] == "2026-01-03T12:00:00Z"
    assert 1 <= body["users"]["total"] <= 500
    assert 0 <= body["users"]["active_today"] <= body["users"]["total"]
    assert body["storage"]["limit_gb"] == 100
    assert 0 <= body["storage"]["used_gb"] <= 100
    assert_matches_schema(body, "status.response.schema.json")


def test_status_of_an_unknown_tenant_is_not_found(vendor):
    response = vendor.status("nobody")
    assert response.status_code == 404
    assert response.json()["error"] == "tenant_not_found"


def test_deactivate_with_preserved_data_sets_the_deadline_retention_days_ahead(vendor):
    vendor.activate("hallym_univ")
    with time_machine.travel(SEED_NOW, tick=False):
        response = vendor.deactivate("hallym_univ", deactivate_body(preserve_data=True))
    assert response.status_code == 200
    assert response.json() == {
        "status": "deactivated",
        "tenant_id": "hallym_univ",
        "data_preserved": True,
        "reactivation_deadline": "2026-04-03T12:00:00Z",
    }
    assert_matches_schema(response.json(), "deactivate.response.schema.json")


def test_deactivate_honours_a_custom_retention(start_vendor):
    _, client = start_vendor(retention_days=30)
    client.activate("hallym_univ")
    with time_machine.travel(SEED_NOW, tick=False):
        body = client.deactivate("hallym_univ").json()
    assert body["reactivation_deadline"] == "2026-02-02T12:00:00Z"


def test_deactivate_without_preserving_data_drops_it_and_has_no_deadline(vendor):
    vendor.activate("hallym_univ")
    body = vendor.deactivate("hallym_univ", deactivate_body(preserve_data=False)).json()
    assert body["data_preserved"] is False
    assert body["reactivation_deadline"] is None
    status = vendor.status("hallym_univ").json()
    assert status["status"] == "deactivated"
    assert status["users"] == {"total": 0, "active_today": 0}
    assert status["storage"]["used_gb"] == 0


def test_deactivate_of_a_deactivated_tenant_answers_the_same_body(vendor):
    vendor.activate("hallym_univ")
    with time_machine.travel(SEED_NOW, tick=False):
        first = vendor.deactivate("hallym_univ")
    second = vendor.deactivate("hallym_univ", deactivate_body(preserve_data=False))
    assert second.status_code == 200
    assert second.content == first.content
    assert "Idempotent-Replayed" not in second.headers


def test_deactivate_of_an_unknown_tenant_is_not_found(vendor):
    response = vendor.deactivate("nobody")
    assert response.status_code == 404
    assert response.json()["error"] == "tenant_not_found"


def test_status_after_deactivate_shows_deadline_and_preserved_flag(vendor):
    vendor.activate("hallym_univ")
    deadline = vendor.deactivate("hallym_univ").json()["reactivation_deadline"]
    status = vendor.status("hallym_univ").json()
    assert status["status"] == "deactivated"
    assert status["data_preserved"] is True
    assert status["reactivation_deadline"] == deadline
    assert_matches_schema(status, "status.response.schema.json")


def test_activate_after_deactivation_reactivates_with_the_data_kept(vendor):
    with time_machine.travel(SEED_NOW, tick=False):
        vendor.activate("hallym_univ")
        created_at = vendor.status("hallym_univ").json()["created_at"]
    vendor.deactivate("hallym_univ")
    response = vendor.activate("hallym_univ", body=activate_body(plan="standard"))
    assert response.status_code == 200
    assert response.json()["status"] == "activated"
    assert response.json()["access_url"].endswith("/app/hallym_univ")
    status = vendor.status("hallym_univ").json()
    assert status["status"] == "active"
    assert status["plan"] == "standard"
    assert status["created_at"] == created_at
    assert "reactivation_deadline" not in status


def test_activate_after_deactivation_without_data_creates_the_tenant_afresh(vendor):
    with time_machine.travel(SEED_NOW, tick=False):
        vendor.activate("hallym_univ")
    vendor.deactivate("hallym_univ", deactivate_body(preserve_data=False))
    body = vendor.activate("hallym_univ").json()
    assert body["status"] == "activated"
    assert "temp_password" in body["admin_credentials"]
    assert vendor.status("hallym_univ").json()["created_at"] != "2026-01-03T12:00:00Z"


def test_usage_reports_the_four_metrics_deterministically(vendor):
    vendor.activate("hallym_univ")
    first = vendor.usage("hallym_univ", "period=monthly&month=2026-01")
    second = vendor.usage("hallym_univ", "period=monthly&month=2026-01")
    assert first.status_code == 200
    assert first.json() == {
        "tenant_id": "hallym_univ",
        "period": "2026-01",
        "usage": reference_usage(tenant_id="hallym_univ", month="2026-01"),
    }
    assert second.content == first.content
    assert set(first.json()["usage"]) == {"api_calls", "ai_tokens", "storage_gb", "active_users"}
    assert all(value >= 0 for value in first.json()["usage"].values())
    assert_matches_schema(first.json(), "usage.response.schema.json")


def test_usage_differs_between_months_and_tenants():
    january = reference_usage(tenant_id="hallym_univ", month="2026-01")
    february = reference_usage(tenant_id="hallym_univ", month="2026-02")
    other = reference_usage(tenant_id="kangwon_univ", month="2026-01")
    assert january != february
    assert january != other


def test_usage_without_month_reports_the_current_month(vendor):
    vendor.activate("hallym_univ")
    with time_machine.travel(SEED_NOW, tick=False):
        body = vendor.usage("hallym_univ", "period=monthly").json()
    assert body["period"] == "2026-01"


def test_usage_of_an_unknown_tenant_is_not_found(vendor):
    assert vendor.usage("nobody").status_code == 404


def test_update_changes_plan_features_and_limits(vendor):
    vendor.activate("hallym_univ")
    response = vendor.update("hallym_univ")
    assert response.status_code == 200
    assert response.json() == {"status": "updated", "tenant_id": "hallym_univ", "plan": "standard"}
    assert_matches_schema(response.json(), "update.response.schema.json")
    status = vendor.status("hallym_univ").json()
    assert status["plan"] == "standard"
    assert status["features"] == ["ai_chat", "file_upload", "rag", "discussion"]
    assert status["storage"]["limit_gb"] == 50


def test_update_of_a_deactivated_tenant_is_a_conflict(vendor):
    vendor.activate("hallym_univ")
    vendor.deactivate("hallym_univ")
    response = vendor.update("hallym_univ")
    assert response.status_code == 409
    assert response.json()["error"] == "tenant_not_active"


def test_update_of_an_unknown_tenant_is_not_found(vendor):
    assert vendor.update("nobody").status_code == 404


def test_delete_purges_and_later_calls_answer_gone(vendor):
    vendor.activate("hallym_univ")
    vendor.deactivate("hallym_univ")
    response = vendor.delete("hallym_univ")
    assert response.status_code == 200
    assert response.json() == {"status": "deleted", "tenant_id": "hallym_univ"}
    assert_matches_schema(response.json(), "delete.response.schema.json")
    for later in (vendor.status, vendor.deactivate, vendor.usage, vendor.update, vendor.delete):
        answer = later("hallym_univ")
        assert answer.status_code == 410, later.__name__
        assert answer.json()["error"] == "tenant_purged"


def test_delete_of_an_unknown_tenant_is_not_found(vendor):
    assert vendor.delete("nobody").status_code == 404


def test_delete_repeated_with_the_same_request_id_replays_200(vendor):
    vendor.activate("hallym_univ")
    first = vendor.delete("hallym_univ", request_id="purge-1")
    again = vendor.delete("hallym_univ", request_id="purge-1")
    assert again.status_code == 200
    assert again.content == first.content


def test_activate_after_purge_creates_a_fresh_tenant(vendor):
    with time_machine.travel(SEED_NOW, tick=False):
        vendor.activate("hallym_univ")
    vendor.delete("hallym_univ")
    response = vendor.activate("hallym_univ", body=activate_body(plan="basic"))
    assert response.status_code == 200
    assert "temp_password" in response.json()["admin_credentials"]
    status = vendor.status("hallym_univ").json()
    assert status["status"] == "active"
    assert status["plan"] == "basic"
    assert status["created_at"] != "2026-01-03T12:00:00Z"


def test_tenants_survive_a_restart_of_the_vendor(start_vendor, tmp_path):
    server, client = start_vendor()
    client.activate("hallym_univ", request_id="rid-1")
    db_path = server.store.connection.execute("PRAGMA database_list").fetchone()[2]
    server.stop()
    from vendorkit.reference_vendor import serve_in_thread

    again, base_url = serve_in_thread(
        api_keys="test-api-key", signing_secrets="test-signing-secret", db_path=db_path
    )
    try:
        client.base_url = base_url
        assert client.status("hallym_univ").json()["status"] == "active"
        assert client.activate("hallym_univ", request_id="rid-1").status_code == 200
    finally:
        again.stop()


def test_status_includes_the_access_url_for_a_market_that_missed_the_activate_answer(vendor):
    access_url = vendor.activate("hallym_univ").json()["access_url"]
    assert vendor.status("hallym_univ").json()["access_url"] == access_url
