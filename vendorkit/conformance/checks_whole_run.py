"""What is judged over the whole run: cleanup, content types, error bodies."""

from __future__ import annotations

from vendorkit.conformance.context import RunContext
from vendorkit.conformance.expect import error_body_problems
from vendorkit.conformance.session import Exchange
from vendorkit.conformance.shapes import media_type


def check_cleanup(run: RunContext) -> None:
    leftovers = [tenant for tenant in run.created if tenant not in run.gone]
    problems: list[str] = []
    evidence: Exchange | None = None
    for tenant in leftovers:
        done = None
        if run.delete_works:
            done = run.call(
                "POST",
                "tenant_delete",
                tenant,
                body={"tenant_id": tenant, "reason": "admin_request"},
            )
        if done is None or done.status not in (200, 404, 410):
            # Without a working delete (or when it fails now), deactivate without the data:
            # the founding document's own way to end a tenant.
            done = run.call(
                "POST",
                "tenant_deactivate",
                tenant,
                body=run.deactivate_body(tenant, preserve_data=False),
            )
            if done.status == 202:
                run.wait_for_status(tenant, {"deactivated"})
        wanted = {"404", "410", "deactivated"}
        after = run.status(tenant)
        state = str(after.status) if after.status in (404, 410) else (after.obj or {}).get("status")
        if state not in wanted:
            problems.append(
                f"{tenant}: cleanup answered HTTP {done.status}; its status is now {state!r}"
            )
            evidence = evidence or done
    how = "deleted" if run.delete_works else "deactivated without data"
    if not run.created:
        run.record("cleanup.tenants", "PASS", "no tenant was created", None)
    else:
        run.verdict("cleanup.tenants", problems, evidence)
        if not problems:
            run.results[
                "cleanup.tenants"
            ].detail = f"{len(run.created)} tenant(s) {how}: {', '.join(run.created)}"


def check_every_answer(run: RunContext) -> None:
    answered = [ex for ex in run.session.exchanges if ex.reply is not None and not ex.probe]
    wrong_type = [ex for ex in answered if media_type(ex.reply.content_type) != "application/json"]
    run.verdict(
        "http.content_type",
        [
            f"{len(wrong_type)} of {len(answered)} answers were not application/json, the "
            f"first: {wrong_type[0].method} {wrong_type[0].url} -> "
            f"{wrong_type[0].reply.content_type or '(none)'}"
        ]
        if wrong_type
        else [],
        wrong_type[0] if wrong_type else None,
    )
    bad_errors = [(ex, error_body_problems(ex)) for ex in answered if ex.status >= 400]
    bad_errors = [(ex, problems) for ex, problems in bad_errors if problems]
    errors = [ex for ex in answered if ex.status >= 400]
    run.verdict(
        "errors.body_shape",
        [
            f"{len(bad_errors)} of {len(errors)} error answers lack the standard body, the "
            f"first: {bad_errors[0][0].method} {bad_errors[0][0].url} -> HTTP "
            f"{bad_errors[0][0].status}: {'; '.join(bad_errors[0][1])}"
        ]
        if bad_errors
        else [],
        bad_errors[0][0] if bad_errors else None,
    )
