"""Tenant A's life (activate, repeat, conflict, deactivate, reactivate), tenant B's
deactivation without data, unknown tenants and malformed requests."""

from __future__ import annotations

import uuid
from typing import Any

from vendorkit.conformance.context import RunContext
from vendorkit.conformance.expect import expect_error, expect_status
from vendorkit.conformance.shapes import problems_status_shape

# Checks about tenant A that cannot be judged when its activation fails.
A_LIFECYCLE = (
    "status.after_activate",
    "status.shape",
    "activate.replay",
    "activate.conflict",
    "usage.shape",
    "usage.period",
    "usage.metrics",
    "usage.invalid_month",
    "update.plan_change",
    "update.status_shows_plan",
    "deactivate.preserve_data",
    "status.after_deactivate",
    "status.deactivated_details",
    "deactivate.repeat",
    "activate.reactivate",
    "request.deactivate_missing_field",
    "delete.purge",
    "delete.gone",
)


def check_activation(run: RunContext) -> bool:
    tenant = run.tenant_a
    plan = run.profile.first_plan.code
    run.body_a = run.activate_body(tenant)
    first_id = str(uuid.uuid4())
    first = run.activate(tenant, run.body_a, request_id=first_id)
    run.verdict("activate.shape", run.activation_problems(first, tenant), first)
    if first.status not in (200, 202):
        run.skip(A_LIFECYCLE, "activate did not succeed (see activate.shape)")
        return False
    after = run.status_after(first, tenant, {"active"})

    problems = expect_status(after, {200})
    status_body = after.obj
    if not problems and status_body is None:
        problems.append("the body is not a JSON object")
    if status_body is not None and not problems:
        if status_body.get("tenant_id") != tenant:
            problems.append(f"'tenant_id' must be {tenant!r}, got {status_body.get('tenant_id')!r}")
        if status_body.get("status") != "active":
            problems.append(f"'status' must be 'active', got {status_body.get('status')!r}")
        if status_body.get("plan") != plan:
            problems.append(
                f"'plan' must be {plan!r} (the plan activated), got {status_body.get('plan')!r}"
            )
    run.verdict("status.after_activate", problems, after)
    if after.status == 200 and status_body is not None:
        run.verdict("status.shape", problems_status_shape(status_body), after)
    else:
        run.skip(["status.shape"], "no status body to check (see status.after_activate)")

    replay = run.activate(tenant, run.body_a, request_id=first_id)
    problems = []
    if replay.reply is None:
        problems.append(f"no answer: {replay.error}")
    elif replay.status != first.status:
        problems.append(
            f"the repeat got HTTP {replay.status}; the first answer was HTTP {first.status}"
        )
    elif replay.json != first.json:
        problems.append("the repeat's body differs from the first answer: the vendor acted again")
    if not problems:
        again = run.status(tenant)
        before = (status_body or {}).get("created_at")
        now_body = again.obj or {}
        if before is not None and now_body.get("created_at") != before:
            problems.append(
                f"created_at changed from {before!r} to {now_body.get('created_at')!r}: "
                "the repeat created the tenant again"
            )
        if now_body.get("status") not in ("active", "activating"):
            problems.append(f"after the repeat the tenant is {now_body.get('status')!r}")
        if problems:
            replay = again
    run.verdict("activate.replay", problems, replay)

    conflict = run.activate(tenant, run.body_a)
    run.verdict(
        "activate.conflict", expect_error(conflict, {409}, "tenant_already_exists"), conflict
    )
    return True


def check_deactivation(run: RunContext) -> bool:
    tenant = run.tenant_a
    request_id = str(uuid.uuid4())
    body = run.deactivate_body(tenant, preserve_data=True)
    first = run.call("POST", "tenant_deactivate", tenant, body=body, request_id=request_id)
    problems = run.accepted_problems(first, "deactivated", "deactivating", tenant)
    if not problems and first.status == 200:
        problems += run.deadline_problems(first.obj or {}, "")
    run.verdict("deactivate.preserve_data", problems, first)
    if first.status not in (200, 202):
        run.skip(
            ["status.after_deactivate", "status.deactivated_details", "deactivate.repeat"],
            "deactivate was refused (see deactivate.preserve_data)",
        )
        return False
    after = run.status_after(first, tenant, {"deactivated"})
    state = (after.obj or {}).get("status")
    problems = expect_status(after, {200})
    if not problems and state != "deactivated":
        problems.append(f"'status' must be 'deactivated', got {state!r}")
    run.verdict("status.after_deactivate", problems, after)
    if after.status == 200 and state == "deactivated":
        run.verdict(
            "status.deactivated_details",
            run.deadline_problems(after.obj or {}, "status: "),
            after,
        )
    else:
        run.skip(["status.deactivated_details"], "not deactivated (see status.after_deactivate)")

    again = run.call(
        "POST", "tenant_deactivate", tenant, body=run.deactivate_body(tenant, preserve_data=True)
    )
    problems = expect_status(again, {200})
    reference = first.obj if first.status == 200 else (after.obj or {})
    if not problems:
        body_again = again.obj or {}
        if body_again.get("status") != "deactivated":
            problems.append(
                f"a new request id: 'status' must be 'deactivated', got {body_again.get('status')!r}"
            )
        for key in ("data_preserved", "reactivation_deadline"):
            if key in (reference or {}) and body_again.get(key) != reference.get(key):
                problems.append(
                    f"a new request id: '{key}' changed from {reference.get(key)!r} "
                    f"to {body_again.get(key)!r}"
                )
    else:
        problems = [f"a new request id: {problem}" for problem in problems]
    evidence = again
    if not problems:
        replay = run.call("POST", "tenant_deactivate", tenant, body=body, request_id=request_id)
        if replay.status != first.status or replay.json != first.json:
            problems.append(
                f"the same request id again: got HTTP {replay.status} and another body than "
                "the first answer"
            )
            evidence = replay
    run.verdict("deactivate.repeat", problems, evidence)
    return True


def check_reactivation(run: RunContext) -> None:
    tenant = run.tenant_a
    exchange = run.activate(tenant, {**run.body_a, "reactivation": True})
    problems = run.activation_problems(exchange, tenant)
    evidence = exchange
    if exchange.status in (200, 202):
        after = run.status_after(exchange, tenant, {"active"})
        state = (after.obj or {}).get("status")
        if state != "active":
            problems.append(f"status after reactivation must be 'active', got {state!r}")
            evidence = after
    run.verdict("activate.reactivate", problems, evidence)


def check_deactivate_validation(run: RunContext) -> None:
    invalid = run.call(
        "POST",
        "tenant_deactivate",
        run.tenant_a,
        body={"tenant_id": run.tenant_a, "reason": "admin_request"},
    )
    run.verdict(
        "request.deactivate_missing_field",
        expect_error(invalid, {400, 422}, "invalid_request"),
        invalid,
    )


def check_drop_data(run: RunContext) -> None:
    tenant = run.tenant_b
    activated = run.activate(tenant, run.activate_body(tenant))
    if activated.status not in (200, 202):
        run.skip(
            ["deactivate.drop_data"],
            f"a second tenant could not be activated (HTTP {activated.status})",
        )
        return
    if activated.status == 202:
        run.wait_for_status(tenant, {"active"})
    exchange = run.call(
        "POST", "tenant_deactivate", tenant, body=run.deactivate_body(tenant, preserve_data=False)
    )
    problems = run.accepted_problems(exchange, "deactivated", "deactivating", tenant)
    evidence = exchange
    if not problems:
        body = exchange.obj or {}
        if exchange.status == 202:
            evidence = run.wait_for_status(tenant, {"deactivated"})
            body = evidence.obj or {}
            if body.get("status") != "deactivated":
                problems.append(f"status never became 'deactivated' (got {body.get('status')!r})")
        if body.get("data_preserved", False) is not False:
            problems.append(f"'data_preserved' must be false, got {body.get('data_preserved')!r}")
        if body.get("reactivation_deadline") is not None:
            problems.append(
                f"'reactivation_deadline' must be null without kept data, "
                f"got {body.get('reactivation_deadline')!r}"
            )
    run.verdict("deactivate.drop_data", problems, evidence)


def check_unknown_tenant(run: RunContext) -> None:
    tenant = run.unknown_tenant
    status = run.status(tenant)
    run.verdict("tenant.unknown_status", expect_error(status, {404}, "tenant_not_found"), status)
    deactivate = run.call(
        "POST", "tenant_deactivate", tenant, body=run.deactivate_body(tenant, preserve_data=True)
    )
    run.verdict(
        "tenant.unknown_deactivate",
        expect_error(deactivate, {404}, "tenant_not_found"),
        deactivate,
    )


def check_invalid_requests(run: RunContext) -> None:
    base = run.activate_body(run.invalid_tenant)
    cases: list[tuple[str, dict[str, Any]]] = [
        (
            "request.malformed_json",
            {"raw": b'{"tenant_id": "' + run.invalid_tenant.encode() + b'", "plan": '},
        ),
        ("request.missing_field", {"body": {k: v for k, v in base.items() if k != "plan"}}),
        (
            "request.wrong_type",
            {"body": {**base, "config": {**base["config"], "max_users": "many"}}},
        ),
    ]
    for check_id, options in cases:
        exchange = run.call("POST", "tenant_activate", run.invalid_tenant, **options)
        if exchange.status in (200, 202) and run.invalid_tenant not in run.created:
            run.created.append(run.invalid_tenant)
        run.verdict(check_id, expect_error(exchange, {400, 422}, "invalid_request"), exchange)
