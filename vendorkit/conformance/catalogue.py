"""Every check the kit runs, in the order it reports them. Ids are stable: vendors, the
market's stored reports and ``docs/standard/conformance.md`` refer to them."""

from __future__ import annotations

from vendorkit.conformance.report import CheckSpec

CATALOGUE: tuple[CheckSpec, ...] = (
    # health
    CheckSpec("health.reachable", "GET health answers 200 with a JSON object"),
    CheckSpec("health.shape", "health body has status, version and timestamp"),
    CheckSpec("health.status", "health status is healthy or degraded"),
    CheckSpec("health.timestamp", "health timestamp is RFC 3339 and within 300 s of our clock"),
    CheckSpec("health.no_auth", "health answers 200 without API key or signature"),
    # authentication and signatures
    CheckSpec("auth.missing_key", "no API key: 401 unauthorized"),
    CheckSpec("auth.wrong_key", "wrong API key: 401 unauthorized"),
    CheckSpec("auth.missing_signature", "no X-Market-Signature: 401 invalid_signature"),
    CheckSpec("auth.bad_signature", "signed with another secret: 401 invalid_signature"),
    CheckSpec("auth.tampered_body", "body changed after signing: 401 invalid_signature"),
    CheckSpec("auth.stale_timestamp", "timestamp 400 s old: 401 stale_timestamp"),
    CheckSpec("auth.future_timestamp", "timestamp 400 s ahead: 401 stale_timestamp"),
    CheckSpec("auth.status_requires_key", "GET status without API key: 401 unauthorized"),
    # activation
    CheckSpec("activate.shape", "activate answers 200 activated with tenant_id and access_url"),
    CheckSpec("status.after_activate", "status after activate: active, on the requested plan"),
    CheckSpec("status.shape", "status has created_at, users and storage"),
    CheckSpec(
        "activate.replay", "activate repeated with the same request id: same answer, one tenant"
    ),
    CheckSpec(
        "activate.conflict",
        "activate of an active tenant, new request id: 409 tenant_already_exists",
    ),
    # usage (optional endpoint)
    CheckSpec("usage.shape", "usage answers 200 with tenant_id, period and usage"),
    CheckSpec("usage.period", "usage period equals the requested month"),
    CheckSpec("usage.metrics", "usage metrics are numbers >= 0; declared metrics present"),
    CheckSpec("usage.invalid_month", "usage with month=2026-13: 400/422 invalid_request"),
    # update (optional endpoint)
    CheckSpec("update.plan_change", "update answers 200 updated with the new plan"),
    CheckSpec("update.status_shows_plan", "status after update shows the new plan"),
    # deactivation and reactivation
    CheckSpec(
        "deactivate.preserve_data",
        "deactivate keeping data: data_preserved, future reactivation_deadline",
    ),
    CheckSpec("status.after_deactivate", "status after deactivate says deactivated"),
    CheckSpec(
        "status.deactivated_details",
        "status of a deactivated tenant shows data_preserved and reactivation_deadline",
        required=False,
    ),
    CheckSpec(
        "deactivate.repeat", "deactivate repeated (same and new request id): 200, same answer"
    ),
    CheckSpec("activate.reactivate", "activate of a deactivated tenant reactivates it"),
    CheckSpec(
        "deactivate.drop_data", "deactivate dropping data: data_preserved false, no deadline"
    ),
    # unknown tenants and bad requests
    CheckSpec("tenant.unknown_status", "status of an unknown tenant: 404 tenant_not_found"),
    CheckSpec("tenant.unknown_deactivate", "deactivate of an unknown tenant: 404 tenant_not_found"),
    CheckSpec("request.malformed_json", "a body that is not JSON: 400/422 invalid_request"),
    CheckSpec("request.missing_field", "activate without plan: 400/422 invalid_request"),
    CheckSpec("request.wrong_type", "activate with a text max_users: 400/422 invalid_request"),
    CheckSpec(
        "request.deactivate_missing_field",
        "deactivate without preserve_data: 400/422 invalid_request",
    ),
    # delete (optional endpoint)
    CheckSpec("delete.purge", "delete answers 200 deleted"),
    CheckSpec("delete.gone", "after delete, status answers 404 or 410"),
    # over the whole run
    CheckSpec("cleanup.tenants", "every tenant the run created is deleted or deactivated"),
    CheckSpec("errors.body_shape", "every error answer is JSON with error and message"),
    CheckSpec("http.content_type", "every answer has Content-Type: application/json"),
)

CHECKS_BY_ID = {spec.id: spec for spec in CATALOGUE}
