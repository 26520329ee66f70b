"""Health, and the refusals of unauthenticated, unsigned and stale requests."""

from __future__ import annotations

import secrets
from typing import Any

from vendorkit.conformance.catalogue import CATALOGUE
from vendorkit.conformance.context import RunContext
from vendorkit.conformance.expect import (
    CLOCK_TOLERANCE_SECONDS,
    STALE_OFFSET_SECONDS,
    expect_error,
    expect_status,
)
from vendorkit.conformance.session import Exchange, encode
from vendorkit.conformance.shapes import parse_rfc3339


def check_health(run: RunContext) -> bool:
    exchange = run.call("GET", "health")
    if exchange.reply is None:
        run.verdict(
            "health.reachable", [f"the vendor cannot be reached: {exchange.error}"], exchange
        )
        run.skip([spec.id for spec in CATALOGUE], "the vendor could not be reached")
        return False
    body = exchange.obj
    problems = expect_status(exchange, {200})
    if body is None:
        problems.append("the body is not a JSON object")
    run.verdict("health.reachable", problems, exchange)
    if body is None:
        run.skip(
            ["health.shape", "health.status", "health.timestamp", "health.clock"],
            "no JSON body to check (see health.reachable)",
        )
    else:
        check_health_body(run, body, exchange)
    bare = run.call("GET", "health", market_headers=False)
    run.verdict("health.no_auth", expect_status(bare, {200}), bare)
    return True


def check_health_body(run: RunContext, body: dict[str, Any], exchange: Exchange) -> None:
    problems = []
    for key in ("status", "timestamp"):
        if not isinstance(body.get(key), str):
            problems.append(f"'{key}' must be a string, got {body.get(key)!r}")
    version = body.get("version")
    if not isinstance(version, str) or not version:
        problems.append(f"'version' must be a non-empty string, got {version!r}")
    run.verdict("health.shape", problems, exchange)

    state = body.get("status")
    if not isinstance(state, str):
        run.skip(["health.status"], "no status to check (see health.shape)")
    elif state == "unhealthy":
        run.verdict(
            "health.status",
            [
                "the vendor says it is unhealthy: the market registers only healthy or "
                "degraded services and counts unhealthy as down"
            ],
            exchange,
        )
    else:
        problems = (
            []
            if state in ("healthy", "degraded")
            else [f"'status' must be healthy, degraded or unhealthy, got {state!r}"]
        )
        run.verdict("health.status", problems, exchange)

    stamp = body.get("timestamp")
    if not isinstance(stamp, str):
        run.skip(["health.timestamp", "health.clock"], "no timestamp to check (see health.shape)")
        return
    moment = parse_rfc3339(stamp)
    if moment is None:
        run.verdict("health.timestamp", [f"{stamp!r} is not an RFC 3339 date-time"], exchange)
        run.skip(["health.clock"], "no date-time to compare (see health.timestamp)")
        return
    run.verdict("health.timestamp", [], exchange)
    drift = moment.timestamp() - run.clock()
    problems = []
    if abs(drift) > CLOCK_TOLERANCE_SECONDS:
        problems.append(
            f"the vendor's clock is {drift:+.0f} s from ours: beyond 300 s it refuses "
            "authentic market requests as stale"
        )
    run.verdict("health.clock", problems, exchange)


# (check id, session options, the error code the standard names for the refusal)
def _refusal_cases(run: RunContext, body: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    now = int(run.clock())
    return [
        ("auth.missing_key", {"auth": "missing"}, "unauthorized"),
        ("auth.wrong_key", {"auth": "wrong"}, "unauthorized"),
        ("auth.missing_signature", {"signed": False}, "invalid_signature"),
        (
            "auth.bad_signature",
            {"secrets": ["conformance-wrong-secret-" + secrets.token_hex(4)]},
            "invalid_signature",
        ),
        (
            "auth.tampered_body",
            {"signed_body": encode({**body, "preserve_data": False})},
            "invalid_signature",
        ),
        ("auth.stale_timestamp", {"timestamp": now - STALE_OFFSET_SECONDS}, "stale_timestamp"),
        ("auth.future_timestamp", {"timestamp": now + STALE_OFFSET_SECONDS}, "stale_timestamp"),
    ]


def _refusal_problems(exchange: Exchange, *, tenant_exists: bool) -> list[str]:
    """Required: any 4xx refuses. Without a tenant to protect only 401 or 403 prove it."""
    if exchange.reply is None:
        return [f"no answer: {exchange.error}"]
    status = exchange.status or 0
    if 200 <= status < 300:
        return [f"the request was accepted (HTTP {status}): it must be refused with a 4xx"]
    if tenant_exists and 400 <= status < 500:
        return []
    if not tenant_exists and status in (401, 403):
        return []
    if not tenant_exists and 400 <= status < 500:
        return [
            f"expected HTTP 401 or 403, got {status}: the run could not activate a tenant "
            "for these checks, so only an authentication refusal shows the request was refused"
        ]
    return [f"expected a 4xx refusal, got HTTP {status}"]


def _prepare_auth_tenant(run: RunContext, *, again: bool = False) -> bool:
    """Activate (``again``: reactivate) the tenant the refusals are sent to; True when it
    exists at the vendor."""
    tenant = run.auth_tenant
    exchange = run.activate(tenant, run.activate_body(tenant, reactivation=again))
    if exchange.status == 202:
        exchange = run.wait_for_status(tenant, {"active"})
        return (exchange.obj or {}).get("status") == "active"
    return exchange.status == 200


def check_authentication(run: RunContext) -> None:
    """Each refusal goes to a tenant activated for them: accepting one shows as a 2xx."""
    tenant = run.auth_tenant
    exists = _prepare_auth_tenant(run)
    body = run.deactivate_body(tenant, preserve_data=True)
    raw = encode(body)
    refused: list[tuple[str, Exchange, str]] = []
    for check_id, options, code in _refusal_cases(run, body):
        exchange = run.call("POST", "tenant_deactivate", tenant, raw=raw, **options)
        problems = _refusal_problems(exchange, tenant_exists=exists)
        run.verdict(check_id, problems, exchange)
        if not problems:
            refused.append((check_id, exchange, code))
        elif exists and exchange.status in (200, 202):
            # The refusal was wrongly accepted and deactivated the tenant: bring it back so the
            # next case again meets an active tenant.
            exists = _prepare_auth_tenant(run, again=True)
    replayed = check_replayed_path(run, raw=raw, tenant_exists=exists)
    if replayed is not None:
        refused.append(("auth.replayed_path", replayed, "invalid_signature"))
    exchange = run.call("GET", "tenant_status", tenant, auth="missing")
    problems = _refusal_problems(exchange, tenant_exists=exists)
    run.verdict("auth.status_requires_key", problems, exchange)
    if not problems:
        refused.append(("auth.status_requires_key", exchange, "unauthorized"))
    check_error_codes(run, refused)


def check_replayed_path(run: RunContext, *, raw: bytes, tenant_exists: bool) -> Exchange | None:
    """Recommended: a request signed for another tenant's path is refused at this one's.

    The signature is made for the unknown tenant's deactivate and the request sent to the
    auth tenant's: only a signature that binds the path (RFC 9421) can tell. Returns the
    exchange when it was refused."""
    tenant = run.auth_tenant
    elsewhere = run.profile.url("tenant_deactivate", run.unknown_tenant)
    exchange = run.call("POST", "tenant_deactivate", tenant, raw=raw, signed_url=elsewhere)
    problems = _refusal_problems(exchange, tenant_exists=tenant_exists)
    run.verdict("auth.replayed_path", problems, exchange)
    if problems and tenant_exists and exchange.status in (200, 202):
        _prepare_auth_tenant(run, again=True)
    return None if problems else exchange


def check_error_codes(run: RunContext, refused: list[tuple[str, Exchange, str]]) -> None:
    """Recommended: every refusal is 401 with the code the standard names for it."""
    if not refused:
        run.skip(["auth.error_codes"], "no request was refused (see the auth.* checks)")
        return
    problems: list[str] = []
    evidence: Exchange | None = None
    for check_id, exchange, code in refused:
        wrong = expect_error(exchange, {401}, code)
        if wrong:
            problems.append(f"{check_id}: {'; '.join(wrong)}")
            evidence = evidence or exchange
    run.verdict("auth.error_codes", problems, evidence)
