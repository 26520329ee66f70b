"""Health, and the refusals of unauthenticated, unsigned and stale requests."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from vendorkit.conformance.catalogue import CATALOGUE
from vendorkit.conformance.expect import (
    CLOCK_TOLERANCE_SECONDS,
    STALE_OFFSET_SECONDS,
    expect_error,
    expect_status,
)
from vendorkit.conformance.session import Exchange, encode
from vendorkit.conformance.shapes import parse_rfc3339

if TYPE_CHECKING:
    from vendorkit.conformance.runner import Runner


def check_health(run: Runner) -> bool:
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
            ["health.shape", "health.status", "health.timestamp"],
            "no JSON body to check (see health.reachable)",
        )
    else:
        check_health_body(run, body, exchange)
    bare = run.call("GET", "health", market_headers=False)
    run.verdict("health.no_auth", expect_status(bare, {200}), bare)
    return True


def check_health_body(run: Runner, body: dict[str, Any], exchange: Exchange) -> None:
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
        run.skip(["health.timestamp"], "no timestamp to check (see health.shape)")
        return
    moment = parse_rfc3339(stamp)
    if moment is None:
        run.verdict("health.timestamp", [f"{stamp!r} is not an RFC 3339 date-time"], exchange)
        return
    drift = moment.timestamp() - run.clock()
    problems = []
    if abs(drift) > CLOCK_TOLERANCE_SECONDS:
        problems.append(
            f"the vendor's clock is {drift:+.0f} s from ours: beyond 300 s it refuses "
            "authentic market requests as stale"
        )
    run.verdict("health.timestamp", problems, exchange)


def check_authentication(run: Runner) -> None:
    body = run.deactivate_body(preserve_data=True)
    raw = encode(body)
    now = int(run.clock())
    cases = [
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
    for check_id, options, code in cases:
        exchange = run.call("POST", "tenant_deactivate", run.auth_tenant, raw=raw, **options)
        run.verdict(check_id, expect_error(exchange, {401}, code), exchange)
    exchange = run.call("GET", "tenant_status", run.auth_tenant, auth="missing")
    run.verdict("auth.status_requires_key", expect_error(exchange, {401}, "unauthorized"), exchange)
