"""The optional endpoints: usage, update and delete; skipped when not declared (or, without a
manifest, when probing finds nothing)."""

from __future__ import annotations

from vendorkit.conformance.context import RunContext
from vendorkit.conformance.expect import (
    INVALID_MONTH,
    NOT_IMPLEMENTED,
    expect_error,
    expect_status,
    previous_month,
)
from vendorkit.conformance.shapes import MONTH, problems_usage_metrics


def check_usage(run: RunContext) -> None:
    checks = ("usage.shape", "usage.period", "usage.metrics", "usage.invalid_month")
    if not run.declared_or_skip("usage_report", checks):
        return
    month = previous_month(run.clock())
    exchange = run.call("GET", "usage_report", run.tenant_a, query=f"period=monthly&month={month}")
    if run.probe_found_nothing(exchange, "usage_report", checks):
        return
    body = exchange.obj
    problems = expect_status(exchange, {200})
    if not problems and body is None:
        problems.append("the body is not a JSON object")
    if body is not None and not problems:
        if body.get("tenant_id") != run.tenant_a:
            problems.append(f"'tenant_id' must be {run.tenant_a!r}, got {body.get('tenant_id')!r}")
        if not isinstance(body.get("period"), str) or not MONTH.match(body["period"]):
            problems.append(f"'period' must be a month YYYY-MM, got {body.get('period')!r}")
        if not isinstance(body.get("usage"), dict):
            problems.append(f"'usage' must be an object, got {body.get('usage')!r}")
    run.verdict("usage.shape", problems, exchange)
    period = (body or {}).get("period")
    if exchange.status == 200 and isinstance(period, str) and MONTH.match(period):
        run.verdict(
            "usage.period",
            []
            if period == month
            else [f"'period' must be {month!r} (the month asked), got {period!r}"],
            exchange,
        )
    else:
        run.skip(["usage.period"], "no month in the answer to compare (see usage.shape)")
    if exchange.status == 200 and body is not None and isinstance(body.get("usage"), dict):
        run.verdict(
            "usage.metrics",
            problems_usage_metrics(body["usage"], declared=run.profile.metrics),
            exchange,
        )
    else:
        run.skip(["usage.metrics"], "no usage object (see usage.shape)")
    invalid = run.call(
        "GET", "usage_report", run.tenant_a, query=f"period=monthly&month={INVALID_MONTH}"
    )
    run.verdict(
        "usage.invalid_month", expect_error(invalid, {400, 422}, "invalid_request"), invalid
    )


def check_update(run: RunContext) -> None:
    checks = ("update.plan_change", "update.status_shows_plan")
    if not run.declared_or_skip("tenant_update", checks):
        return
    plan = run.profile.second_plan
    body = {
        "tenant_id": run.tenant_a,
        "plan": plan.code,
        "features": list(plan.features),
        "config": dict(plan.config),
    }
    exchange = run.call("POST", "tenant_update", run.tenant_a, body=body)
    if run.probe_found_nothing(exchange, "tenant_update", checks):
        return
    problems = run.accepted_problems(exchange, "updated", "updating", run.tenant_a)
    if not problems and exchange.status == 200 and (exchange.obj or {}).get("plan") != plan.code:
        problems.append(f"'plan' must be {plan.code!r}, got {(exchange.obj or {}).get('plan')!r}")
    run.verdict("update.plan_change", problems, exchange)
    if exchange.status not in (200, 202):
        run.skip(["update.status_shows_plan"], "the update was refused (see update.plan_change)")
        return
    after = run.status_after(exchange, run.tenant_a, {"active"}, plan=plan.code)
    body = after.obj or {}
    problems = expect_status(after, {200})
    if not problems:
        if body.get("plan") != plan.code:
            problems.append(f"'plan' must be {plan.code!r}, got {body.get('plan')!r}")
        if body.get("status") != "active":
            problems.append(f"'status' must be 'active', got {body.get('status')!r}")
    run.verdict("update.status_shows_plan", problems, after)


def check_delete(run: RunContext) -> None:
    checks = ("delete.purge", "delete.gone")
    if not run.declared_or_skip("tenant_delete", checks):
        return
    tenant = run.tenant_a
    exchange = run.call(
        "POST", "tenant_delete", tenant, body={"tenant_id": tenant, "reason": "retention_expired"}
    )
    probing = run.profile.declared.get("tenant_delete") is None
    # A 404 from delete can mean "already gone": only a tenant still there proves that the
    # endpoint itself is missing.
    if probing and exchange.status in NOT_IMPLEMENTED and run.status(tenant).status == 200:
        run.probe_found_nothing(exchange, "tenant_delete", checks)
        return
    problems = expect_status(exchange, {200})
    if not problems:
        body = exchange.obj or {}
        if body.get("status") != "deleted":
            problems.append(f"'status' must be 'deleted', got {body.get('status')!r}")
        if body.get("tenant_id") != tenant:
            problems.append(f"'tenant_id' must be {tenant!r}, got {body.get('tenant_id')!r}")
    run.verdict("delete.purge", problems, exchange)
    if exchange.status != 200:
        run.skip(["delete.gone"], "delete was refused (see delete.purge)")
        return
    run.delete_works = True
    after = run.status(tenant)
    problems = expect_error(after, {404, 410}, "tenant_not_found", "tenant_purged")
    if after.status in (404, 410):
        run.gone.add(tenant)
    run.verdict("delete.gone", problems, after)
