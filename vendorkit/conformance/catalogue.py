"""The registry of every check the kit runs, in the order it reports them.

This module is the one place that says what a check is: its stable id, what it proves, its
**level** and its **source**. The runner and every check module import it; it imports nothing
of the kit, so there is no import cycle between the runner and the checks.

Levels:

- ``required``: what the founding document states (its section 3.2 shapes and section 4 flows),
  plus the security refusals judged by status only (a missing or wrong key or signature, or a
  stale timestamp, gets a 4xx). A vendor written from the founding document alone passes them.
  The command line exits 0 exactly when every required check passes, and the market lists a
  service on them.
- ``recommended``: the standard's extra precision (exact error codes, idempotency by request id,
  the ``month`` parameter, validation of types and fields, the optional endpoints the standard
  adds). A failure prints as a warning naming its rule and does not change the exit status.

Ids are stable: vendors, the market's stored reports and ``docs/standard/conformance.md``
(generated from this module) refer to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["required", "recommended"]
REQUIRED: Level = "required"
RECOMMENDED: Level = "recommended"

FOUNDING = "founding document"
STANDARD = "standard"
SIGNING = "signing"
LTI_SEC = "1EdTech Security Framework 1.0"
LTI_CORE = "1EdTech LTI Core 1.3"

# Where each source lives, relative to docs/standard/ (the founding document is not published
# with the standard: docs/standard/README.md restates every one of its shapes).
SOURCE_DOCUMENTS = {
    FOUNDING: "the founding document (`seed-en.md`)",
    STANDARD: "[the standard](README.md)",
    SIGNING: "[signing](signing.md)",
    LTI_SEC: "[LTI 1.3](lti.md) (1EdTech Security Framework 1.0)",
    LTI_CORE: "[LTI 1.3](lti.md) (1EdTech LTI Core 1.3)",
}


@dataclass(frozen=True)
class Source:
    """Where a check's rule is written: a document and a section in it."""

    document: str
    section: str

    def __str__(self) -> str:
        if self.document == SIGNING:
            return f"signing.md: {self.section}"
        return f"{self.document} §{self.section}"


@dataclass(frozen=True)
class CheckSpec:
    """One check the kit knows.

    ``title`` is the one-line summary printed beside each verdict; ``doc`` is the longer
    description the documentation shows; ``group`` is the documentation's section.
    """

    id: str
    title: str
    level: Level
    sources: tuple[Source, ...]
    group: str
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.level == REQUIRED

    @property
    def source(self) -> str:
        """The rule the check comes from, as text: ``founding document §3.2 Health``."""
        return "; ".join(str(source) for source in self.sources)


def _f(section: str) -> Source:
    return Source(FOUNDING, section)


def _s(section: str) -> Source:
    return Source(STANDARD, section)


HEALTH = "Health"
AUTH = "Authentication and signatures"
ACTIVATION = "Activation and status"
USAGE = "Usage (optional endpoint: when declared, or found by probing)"
UPDATE = "Plan change (optional endpoint: when declared, or found by probing)"
DEACTIVATION = "Deactivation and reactivation"
BAD_REQUESTS = "Unknown tenants and bad requests"
DELETE = "Purge (optional endpoint: when declared, or found by probing)"
WHOLE_RUN = "The whole run"
LTI = "LTI 1.3 tool endpoints (when the manifest declares `lti`)"

F_HEALTH = _f("3.2 Health")
F_ACTIVATE = _f("3.2 Activate tenant")
F_DEACTIVATE = _f("3.2 Deactivate tenant")
F_STATUS = _f("3.2 Tenant status")
F_USAGE = _f("3.2 Usage report")
F_HEADER = _f("3.2 header X-Market-API-Key")
S_CHECK_ORDER = _s("2 Every request from the market (judged by status only)")
S_ERRORS = _s("4 Errors")

R, C = REQUIRED, RECOMMENDED

CATALOGUE: tuple[CheckSpec, ...] = (
    # health
    CheckSpec(
        "health.reachable",
        "GET health answers 200 with a JSON object",
        R,
        (F_HEALTH,),
        HEALTH,
        "`GET /mt/health` answers 200 with a JSON object",
    ),
    CheckSpec(
        "health.shape",
        "health body has status, version and timestamp",
        R,
        (F_HEALTH,),
        HEALTH,
        "the body has `status` and `timestamp` strings and a non-empty `version`",
    ),
    CheckSpec(
        "health.status",
        "health status is healthy or degraded",
        R,
        (F_HEALTH, _f("4 flows 1 and 4")),
        HEALTH,
        "`status` is `healthy` or `degraded` (`unhealthy` fails: the market would not register "
        "you and counts you as down)",
    ),
    CheckSpec(
        "health.timestamp",
        "health timestamp is an RFC 3339 date-time",
        R,
        (F_HEALTH,),
        HEALTH,
        "`timestamp` is an RFC 3339 date-time, like the founding document's `2026-01-03T12:00:00Z`",
    ),
    CheckSpec(
        "health.clock",
        "health timestamp is within 300 s of our clock",
        C,
        (_s("2 Every request from the market"), Source(SIGNING, "Verifying")),
        HEALTH,
        "`timestamp` is within 300 s of the kit's clock (beyond that your own clock check "
        "refuses authentic market requests as stale)",
    ),
    CheckSpec(
        "health.no_auth",
        "health answers 200 without API key or signature",
        R,
        (F_HEALTH,),
        HEALTH,
        "health answers 200 to a request with no API key, no signature and no market headers "
        "(the founding document gives health no header; the market's monitor sends none)",
    ),
    # authentication and signatures: required by status, recommended by code
    CheckSpec(
        "auth.missing_key",
        "no API key: refused with a 4xx",
        R,
        (F_HEADER, S_CHECK_ORDER),
        AUTH,
        "no API key (or bearer token) → a 4xx refusal",
    ),
    CheckSpec(
        "auth.wrong_key",
        "wrong API key: refused with a 4xx",
        R,
        (F_HEADER, S_CHECK_ORDER),
        AUTH,
        "a wrong API key (or bearer token) → a 4xx refusal",
    ),
    CheckSpec(
        "auth.missing_signature",
        "no signature: refused with a 4xx",
        R,
        (S_CHECK_ORDER, Source(SIGNING, "Verifying")),
        AUTH,
        "no signature headers at all → a 4xx refusal",
    ),
    CheckSpec(
        "auth.bad_signature",
        "signed with another secret: refused with a 4xx",
        R,
        (S_CHECK_ORDER, Source(SIGNING, "Verifying")),
        AUTH,
        "signed with another secret → a 4xx refusal",
    ),
    CheckSpec(
        "auth.tampered_body",
        "body changed after signing: refused with a 4xx",
        R,
        (S_CHECK_ORDER, Source(SIGNING, "Verifying")),
        AUTH,
        "the body changed after signing → a 4xx refusal",
    ),
    CheckSpec(
        "auth.stale_timestamp",
        "timestamp 400 s old: refused with a 4xx",
        R,
        (S_CHECK_ORDER, Source(SIGNING, "Verifying")),
        AUTH,
        "correctly signed, but the timestamp is 400 s in the past → a 4xx refusal",
    ),
    CheckSpec(
        "auth.future_timestamp",
        "timestamp 400 s ahead: refused with a 4xx",
        R,
        (S_CHECK_ORDER, Source(SIGNING, "Verifying")),
        AUTH,
        "correctly signed, but the timestamp is 400 s in the future → a 4xx refusal",
    ),
    CheckSpec(
        "auth.replayed_path",
        "signed for another tenant's path: refused with a 4xx",
        C,
        (Source(SIGNING, "Verifying"), _s("2 Every request from the market")),
        AUTH,
        "a deactivate correctly signed for another tenant's path, sent to this tenant's → a "
        "4xx refusal (the RFC 9421 signature binds the method, path, query and body; a vendor "
        "that verifies only the deprecated `X-Market-Signature`, which binds none of them, "
        "accepts it: recommended while that header is still sent, until 2027-06-30)",
    ),
    CheckSpec(
        "auth.status_requires_key",
        "GET status without API key: refused with a 4xx",
        R,
        (F_STATUS, F_HEADER),
        AUTH,
        "`GET .../status` without the API key → a 4xx refusal (reads are protected too: the "
        "founding document gives status the same header)",
    ),
    CheckSpec(
        "auth.error_codes",
        "every refusal is 401 with the standard's error code",
        C,
        (_s("2 Every request from the market"), S_ERRORS),
        AUTH,
        "each refusal above is 401 with `unauthorized` (key), `invalid_signature` (signature) "
        "or `stale_timestamp` (clock) in the standard error body",
    ),
    # activation
    CheckSpec(
        "activate.shape",
        "activate answers 200 activated with tenant_id and access_url",
        R,
        (F_ACTIVATE,),
        ACTIVATION,
        'activate answers 200 `{"status": "activated", "tenant_id", "access_url"}`; '
        "`admin_credentials.temp_password` non-empty when present; `credentials_delivery` "
        "only `email`; 202 only with `operations.async: true`",
    ),
    CheckSpec(
        "status.after_activate",
        "status after activate: active, on the requested plan",
        R,
        (F_STATUS,),
        ACTIVATION,
        "status answers 200 with the tenant id, `status: active` and the plan that was activated",
    ),
    CheckSpec(
        "status.shape",
        "status has created_at, users and storage",
        R,
        (F_STATUS,),
        ACTIVATION,
        "status has an RFC 3339 `created_at`, `users.total` / `users.active_today` (integers "
        "≥ 0) and `storage.used_gb` / `storage.limit_gb` (numbers ≥ 0)",
    ),
    CheckSpec(
        "activate.replay",
        "activate repeated with the same request id: same answer, one tenant",
        C,
        (_s("5 Idempotency"),),
        ACTIVATION,
        "the same activate with the **same** `X-Market-Request-Id` gets the same status and "
        "body, and the tenant is not created again (`created_at` unchanged)",
    ),
    CheckSpec(
        "activate.conflict",
        "activate of an active tenant, new request id: 409 tenant_already_exists",
        R,
        (F_ACTIVATE,),
        ACTIVATION,
        "the same activate with a **new** request id on the active tenant → 409 "
        "`tenant_already_exists` (the founding document's own answer)",
    ),
    # usage (optional endpoint)
    CheckSpec(
        "usage.shape",
        "usage answers 200 with tenant_id, a YYYY-MM period and usage",
        R,
        (F_USAGE,),
        USAGE,
        "`GET .../usage?period=monthly&month=<last month>` answers 200 with `tenant_id`, a "
        "`YYYY-MM` `period` and a `usage` object",
    ),
    CheckSpec(
        "usage.period",
        "usage period equals the requested month",
        C,
        (_s("3.5 Usage"),),
        USAGE,
        "`period` equals the month asked for (`month` is the standard's addition)",
    ),
    CheckSpec(
        "usage.metrics",
        "usage metrics are numbers >= 0; declared metrics present",
        R,
        (F_USAGE,),
        USAGE,
        "every metric is a number ≥ 0 with a snake_case name; every metric your manifest lists "
        "in `usage_report.metrics` (default: the founding document's `api_calls`, `ai_tokens`, "
        "`storage_gb`, `active_users`) is present",
    ),
    CheckSpec(
        "usage.invalid_month",
        "usage with month=2026-13: 400/422 invalid_request",
        C,
        (_s("3.5 Usage"), S_ERRORS),
        USAGE,
        "`month=2026-13` → 400 or 422 `invalid_request`",
    ),
    # update (optional endpoint)
    CheckSpec(
        "update.plan_change",
        "update answers 200 updated with the new plan",
        C,
        (_s("3.6 Update"),),
        UPDATE,
        'update to another plan answers 200 `{"status": "updated", "tenant_id", "plan"}` with '
        "the new plan",
    ),
    CheckSpec(
        "update.status_shows_plan",
        "status after update shows the new plan",
        C,
        (_s("3.6 Update"),),
        UPDATE,
        "status then shows the new plan, still `active`",
    ),
    # deactivation and reactivation
    CheckSpec(
        "deactivate.preserve_data",
        "deactivate keeping data: data_preserved, future reactivation_deadline",
        R,
        (F_DEACTIVATE,),
        DEACTIVATION,
        "deactivate with `preserve_data: true` answers 200 `deactivated` with "
        "`data_preserved: true` and a `reactivation_deadline` in the future",
    ),
    CheckSpec(
        "status.after_deactivate",
        "status after deactivate says deactivated",
        R,
        (F_STATUS,),
        DEACTIVATION,
        "status then says `deactivated`",
    ),
    CheckSpec(
        "status.deactivated_details",
        "status of a deactivated tenant shows data_preserved and reactivation_deadline",
        C,
        (_s("3.4 Status"),),
        DEACTIVATION,
        "that status also shows `data_preserved` and `reactivation_deadline`",
    ),
    CheckSpec(
        "deactivate.repeat",
        "deactivate repeated (same and new request id): 200, same answer",
        C,
        (_s("3.3 Deactivate"), _s("5 Idempotency")),
        DEACTIVATION,
        "deactivate again with a new request id → 200 with the same `data_preserved` and "
        "deadline; with the first request id → the first answer again",
    ),
    CheckSpec(
        "activate.reactivate",
        "activate of a deactivated tenant reactivates it",
        R,
        (F_DEACTIVATE, _f("4 flow 3")),
        DEACTIVATION,
        "activate of the deactivated tenant → 200 `activated`, status `active` again (data is "
        "kept until `reactivation_deadline` so that a renewal can bring the tenant back)",
    ),
    CheckSpec(
        "deactivate.drop_data",
        "deactivate dropping data: data_preserved false, no deadline",
        R,
        (F_DEACTIVATE,),
        DEACTIVATION,
        "a second tenant deactivated with `preserve_data: false` → `data_preserved: false`, "
        "`reactivation_deadline` null or absent",
    ),
    # unknown tenants and bad requests
    CheckSpec(
        "tenant.unknown_status",
        "status of an unknown tenant: 404 tenant_not_found",
        C,
        (_s("3.4 Status"), S_ERRORS),
        BAD_REQUESTS,
        "status of a tenant that never existed → 404 `tenant_not_found`",
    ),
    CheckSpec(
        "tenant.unknown_deactivate",
        "deactivate of an unknown tenant: 404 tenant_not_found",
        C,
        (_s("3.3 Deactivate"), S_ERRORS),
        BAD_REQUESTS,
        "deactivate of a tenant that never existed → 404 `tenant_not_found`",
    ),
    CheckSpec(
        "request.malformed_json",
        "a body that is not JSON: 400/422 invalid_request",
        C,
        (S_ERRORS,),
        BAD_REQUESTS,
        "an activate whose body is not JSON → 400 (or 422) `invalid_request`",
    ),
    CheckSpec(
        "request.missing_field",
        "activate without plan: 400/422 invalid_request",
        C,
        (S_ERRORS,),
        BAD_REQUESTS,
        "an activate without `plan` → 422 (or 400) `invalid_request`",
    ),
    CheckSpec(
        "request.wrong_type",
        "activate with a text max_users: 400/422 invalid_request",
        C,
        (S_ERRORS,),
        BAD_REQUESTS,
        'an activate with `config.max_users: "many"` → 422 (or 400) `invalid_request`',
    ),
    CheckSpec(
        "request.deactivate_missing_field",
        "deactivate without preserve_data: 400/422 invalid_request",
        C,
        (_s("3.3 Deactivate"), S_ERRORS),
        BAD_REQUESTS,
        "a deactivate without `preserve_data` and `deactivate_at` → 422 (or 400) `invalid_request`",
    ),
    # delete (optional endpoint)
    CheckSpec(
        "delete.purge",
        "delete answers 200 deleted",
        C,
        (_s("3.7 Delete"),),
        DELETE,
        'delete answers 200 `{"status": "deleted", "tenant_id"}`',
    ),
    CheckSpec(
        "delete.gone",
        "after delete, status answers 404 or 410",
        C,
        (_s("3.7 Delete"),),
        DELETE,
        "status afterwards → 404 `tenant_not_found` or 410 `tenant_purged`",
    ),
    # over the whole run
    CheckSpec(
        "cleanup.tenants",
        "every tenant the run created is deleted or deactivated",
        R,
        (F_DEACTIVATE,),
        WHOLE_RUN,
        "every tenant the run created ends deleted (or, without a working delete, deactivated)",
    ),
    CheckSpec(
        "errors.body_shape",
        "every error answer is JSON with error and message",
        C,
        (S_ERRORS,),
        WHOLE_RUN,
        'every 4xx and 5xx answer of the run is `{"error": "<snake_case>", "message": "<text>"}`',
    ),
    CheckSpec(
        "http.content_type",
        "every answer has Content-Type: application/json",
        C,
        (_s("1 Conventions"),),
        WHOLE_RUN,
        "every answer of the run has `Content-Type: application/json`",
    ),
    # LTI 1.3: only when the manifest declares an `lti` block (skipped with the reason else)
    CheckSpec(
        "lti.jwks",
        "the tool's JWKS URL answers a JWK Set of RSA keys with kid",
        R,
        (Source(LTI_SEC, "6.3 Key Distribution (JWKS)"), Source(LTI_SEC, "6.1 RSA Key")),
        LTI,
        "`GET <lti.jwks_url>` answers 200 with a JSON Web Key Set (RFC 7517): a non-empty "
        "`keys` list of RSA public keys (`kty: RSA`, `n`, `e`) each with a `kid`, and no "
        "private parts; skipped when the `lti` block declares no `jwks_url`",
    ),
    CheckSpec(
        "lti.login_redirect",
        "the OIDC login initiation URL redirects to the platform's authorization endpoint",
        R,
        (
            Source(LTI_SEC, "5.1.1.1 Step 1: Third-party Initiated Login"),
            Source(LTI_SEC, "5.1.1.2 Step 2: Authentication Request"),
            Source(LTI_CORE, "4.1 Third-party initiated login"),
        ),
        LTI,
        "a form POST of `iss`, `login_hint`, `target_link_uri`, `client_id`, "
        "`lti_message_hint` and `lti_deployment_id` to `<lti.login_initiation_url>` answers "
        "a redirect (302/303) to the platform's authorization endpoint with `scope=openid`, "
        "`response_type=id_token`, `response_mode=form_post`, `prompt=none`, a `nonce`, a "
        "`state`, the given `client_id`, `login_hint` and `lti_message_hint`, and a "
        "`redirect_uri` that is one of the manifest's `lti.redirect_uris`",
    ),
)

CHECKS_BY_ID = {spec.id: spec for spec in CATALOGUE}
