"""The conformance run: one tenant walked through its whole life, plus the refusals.

The order matters and is the market's own: health, the authentication refusals (sent to a
tenant that does not exist, so a vendor that wrongly accepts them changes nothing), then
tenant A is activated, repeated, conflicted, measured, changed, deactivated, reactivated and
deleted; tenant B is deactivated without its data; a few malformed requests; finally every
tenant the run created is cleaned up and the answers of the whole run are judged together.

A check that cannot be judged because an earlier step failed is skipped with the reason, so a
single fault is reported once, by the check that owns it.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from vendorkit.conformance.catalogue import CATALOGUE, CHECKS_BY_ID
from vendorkit.conformance.report import CheckResult, Report
from vendorkit.conformance.session import NOT_JSON, Exchange, SignedSession, encode
from vendorkit.conformance.shapes import (
    ACCESS_URL,
    media_type,
    parse_rfc3339,
    problems_error_body,
    problems_status_shape,
    problems_usage_metrics,
)
from vendorkit.conformance.target import VendorProfile

CLOCK_TOLERANCE_SECONDS = 300
# Far enough past the 300 s tolerance that a vendor clock off by a minute or so still counts.
STALE_OFFSET_SECONDS = 400
NOT_IMPLEMENTED = frozenset({404, 405, 501})
INVALID_MONTH = "2026-13"

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


def rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def previous_month(moment: float) -> str:
    first_of_month = datetime.fromtimestamp(moment, UTC).replace(day=1)
    return (first_of_month - timedelta(days=1)).strftime("%Y-%m")


def expect_status(exchange: Exchange, allowed: Iterable[int]) -> list[str]:
    allowed = sorted(set(allowed))
    if exchange.reply is None:
        return [f"no answer: {exchange.error}"]
    if exchange.status not in allowed:
        wanted = " or ".join(str(code) for code in allowed)
        return [f"expected HTTP {wanted}, got {exchange.status}"]
    return []


def error_body_problems(exchange: Exchange) -> list[str]:
    if exchange.json is NOT_JSON:
        return ["the body is not JSON"]
    return problems_error_body(exchange.json)


def expect_error(exchange: Exchange, allowed: Iterable[int], *codes: str) -> list[str]:
    """The status is one of ``allowed`` and the body is the standard error with one of ``codes``."""
    problems = expect_status(exchange, allowed) or error_body_problems(exchange)
    code = exchange.obj.get("error") if exchange.obj else None
    if not problems and codes and code not in codes:
        problems.append(f"'error' must be {' or '.join(repr(c) for c in codes)}, got {code!r}")
    return problems


class Runner:
    """Runs the catalogue against one vendor; results land in ``self.results``."""

    def __init__(
        self,
        *,
        profile: VendorProfile,
        session: SignedSession,
        tenant_prefix: str,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.profile = profile
        self.session = session
        self.clock = clock
        self.sleep = sleep
        self.results: dict[str, CheckResult] = {}
        tag = secrets.token_hex(4)
        self.tenant_a = f"{tenant_prefix}{tag}"
        self.tenant_b = f"{tenant_prefix}{tag}_b"
        self.unknown_tenant = f"{tenant_prefix}{tag}_unknown"
        self.auth_tenant = f"{tenant_prefix}{tag}_auth"
        self.invalid_tenant = f"{tenant_prefix}{tag}_invalid"
        self.created: list[str] = []
        self.gone: set[str] = set()
        self.delete_works = False

    # -- recording verdicts -----------------------------------------------------------------

    def _record(self, check_id: str, outcome: str, detail: str, exchange: Exchange | None) -> None:
        if check_id in self.results:
            return  # the first verdict stands
        spec = CHECKS_BY_ID[check_id]
        self.results[check_id] = CheckResult(
            id=spec.id,
            title=spec.title,
            required=spec.required,
            outcome=outcome,  # type: ignore[arg-type]
            detail=detail,
            request=exchange.request_excerpt() if exchange is not None else "",
            response=exchange.response_excerpt() if exchange is not None else "",
        )

    def verdict(self, check_id: str, problems: list[str], exchange: Exchange | None) -> bool:
        if problems:
            self._record(check_id, "FAIL", "; ".join(problems), exchange)
            return False
        self._record(check_id, "PASS", "", exchange)
        return True

    def skip(self, check_ids: Iterable[str], reason: str) -> None:
        for check_id in check_ids:
            self._record(check_id, "SKIP", reason, None)

    def report(self, report: Report) -> Report:
        report.results = [
            self.results.get(spec.id)
            or CheckResult(spec.id, spec.title, spec.required, "SKIP", "not reached")
            for spec in CATALOGUE
        ]
        return report

    # -- requests ---------------------------------------------------------------------------

    def call(self, method: str, endpoint: str, tenant_id: str | None = None, **kwargs: Any):
        query = kwargs.pop("query", "")
        return self.session.send(method, self.profile.url(endpoint, tenant_id, query), **kwargs)

    def status(self, tenant_id: str) -> Exchange:
        return self.call("GET", "tenant_status", tenant_id)

    def activate_body(self, tenant_id: str) -> dict[str, Any]:
        plan = self.profile.first_plan
        body: dict[str, Any] = {
            "tenant_id": tenant_id,
            "tenant_name": "Conformance Kit School",
            "plan": plan.code,
            "features": list(plan.features),
            "config": dict(plan.config),
            "admin": {"email": "conformance-kit@market.example", "name": "Conformance Kit"},
            "subscription_id": str(uuid.uuid4()),
        }
        if self.profile.isolation:
            body["isolation"] = self.profile.isolation
        return body

    def deactivate_body(self, *, preserve_data: bool) -> dict[str, Any]:
        return {
            "reason": "admin_request",
            "preserve_data": preserve_data,
            "deactivate_at": rfc3339(self.clock()),
        }

    def wait_for_status(self, tenant_id: str, states: set[str], plan: str | None = None):
        """Poll status (async vendors) until it shows one of ``states`` or time runs out."""
        deadline = self.clock() + self.profile.async_timeout
        while True:
            exchange = self.status(tenant_id)
            body = exchange.obj or {}
            settled = body.get("status") in states and (plan is None or body.get("plan") == plan)
            if settled or self.clock() >= deadline:
                return exchange
            self.sleep(self.profile.poll_interval)

    def _accepted(self, exchange: Exchange, final: str, transitional: str, tenant_id: str):
        """Problems of a 200 ``final`` / async 202 ``transitional`` answer about ``tenant_id``."""
        allowed = {200, 202} if self.profile.asynchronous else {200}
        problems = expect_status(exchange, allowed)
        if problems:
            if exchange.status == 202:
                return [
                    "HTTP 202 is only allowed when the manifest declares operations.async: true"
                ]
            return problems
        body = exchange.obj
        if body is None:
            return ["the body is not a JSON object"]
        wanted = transitional if exchange.status == 202 else final
        problems = []
        if body.get("status") != wanted:
            problems.append(f"'status' must be {wanted!r}, got {body.get('status')!r}")
        if body.get("tenant_id") != tenant_id:
            problems.append(f"'tenant_id' must be {tenant_id!r}, got {body.get('tenant_id')!r}")
        return problems

    def activation_problems(self, exchange: Exchange, tenant_id: str) -> list[str]:
        problems = self._accepted(exchange, "activated", "activating", tenant_id)
        body = exchange.obj
        if problems or exchange.status != 200 or body is None:
            return problems
        access_url = body.get("access_url")
        if not isinstance(access_url, str) or not ACCESS_URL.match(access_url):
            problems.append(f"'access_url' must be an http(s) URL, got {access_url!r}")
        credentials = body.get("admin_credentials")
        if credentials is not None:
            password = credentials.get("temp_password") if isinstance(credentials, dict) else None
            if not isinstance(password, str) or not password:
                problems.append("'admin_credentials' must hold a non-empty 'temp_password'")
        delivery = body.get("credentials_delivery")
        if delivery is not None and delivery != "email":
            problems.append(f"'credentials_delivery' may only be 'email', got {delivery!r}")
        return problems

    def activate(self, tenant_id: str, body: dict[str, Any], request_id: str | None = None):
        """Send activate; remember the tenant when the vendor accepted it."""
        exchange = self.call("POST", "tenant_activate", tenant_id, body=body, request_id=request_id)
        if exchange.status in (200, 202) and tenant_id not in self.created:
            self.created.append(tenant_id)
        if exchange.status in (200, 202):
            self.gone.discard(tenant_id)
        return exchange

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> bool:
        """Run every check; False when the vendor could not be reached at all."""
        if not self.check_health():
            return False
        self.check_authentication()
        if self.check_activation():
            self.check_usage()
            self.check_update()
            if self.check_deactivation():
                self.check_reactivation()
            else:
                self.skip(["activate.reactivate"], "the tenant was not deactivated")
            self.check_deactivate_validation()
        self.check_drop_data()
        self.check_unknown_tenant()
        self.check_invalid_requests()
        if self.tenant_a in self.created:
            self.check_delete()
        self.check_cleanup()
        self.check_every_answer()
        return True

    def check_health(self) -> bool:
        exchange = self.call("GET", "health")
        if exchange.reply is None:
            self.verdict(
                "health.reachable", [f"the vendor cannot be reached: {exchange.error}"], exchange
            )
            self.skip([spec.id for spec in CATALOGUE], "the vendor could not be reached")
            return False
        body = exchange.obj
        problems = expect_status(exchange, {200})
        if body is None:
            problems.append("the body is not a JSON object")
        self.verdict("health.reachable", problems, exchange)
        if body is None:
            self.skip(
                ["health.shape", "health.status", "health.timestamp"],
                "no JSON body to check (see health.reachable)",
            )
        else:
            self._check_health_body(body, exchange)
        bare = self.call("GET", "health", market_headers=False)
        self.verdict("health.no_auth", expect_status(bare, {200}), bare)
        return True

    def _check_health_body(self, body: dict[str, Any], exchange: Exchange) -> None:
        problems = []
        for key in ("status", "timestamp"):
            if not isinstance(body.get(key), str):
                problems.append(f"'{key}' must be a string, got {body.get(key)!r}")
        version = body.get("version")
        if not isinstance(version, str) or not version:
            problems.append(f"'version' must be a non-empty string, got {version!r}")
        self.verdict("health.shape", problems, exchange)

        state = body.get("status")
        if not isinstance(state, str):
            self.skip(["health.status"], "no status to check (see health.shape)")
        elif state == "unhealthy":
            self.verdict(
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
            self.verdict("health.status", problems, exchange)

        stamp = body.get("timestamp")
        if not isinstance(stamp, str):
            self.skip(["health.timestamp"], "no timestamp to check (see health.shape)")
            return
        moment = parse_rfc3339(stamp)
        if moment is None:
            self.verdict("health.timestamp", [f"{stamp!r} is not an RFC 3339 date-time"], exchange)
            return
        drift = moment.timestamp() - self.clock()
        problems = []
        if abs(drift) > CLOCK_TOLERANCE_SECONDS:
            problems.append(
                f"the vendor's clock is {drift:+.0f} s from ours: beyond 300 s it refuses "
                "authentic market requests as stale"
            )
        self.verdict("health.timestamp", problems, exchange)

    def check_authentication(self) -> None:
        body = self.deactivate_body(preserve_data=True)
        raw = encode(body)
        now = int(self.clock())
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
            exchange = self.call("POST", "tenant_deactivate", self.auth_tenant, raw=raw, **options)
            self.verdict(check_id, expect_error(exchange, {401}, code), exchange)
        exchange = self.call("GET", "tenant_status", self.auth_tenant, auth="missing")
        self.verdict(
            "auth.status_requires_key", expect_error(exchange, {401}, "unauthorized"), exchange
        )

    def check_activation(self) -> bool:
        tenant = self.tenant_a
        plan = self.profile.first_plan.code
        self.body_a = self.activate_body(tenant)
        first_id = str(uuid.uuid4())
        first = self.activate(tenant, self.body_a, request_id=first_id)
        self.verdict("activate.shape", self.activation_problems(first, tenant), first)
        if first.status not in (200, 202):
            self.skip(A_LIFECYCLE, "activate did not succeed (see activate.shape)")
            return False
        if first.status == 202:
            after = self.wait_for_status(tenant, {"active"})
        else:
            after = self.status(tenant)

        problems = expect_status(after, {200})
        status_body = after.obj
        if not problems and status_body is None:
            problems.append("the body is not a JSON object")
        if status_body is not None and not problems:
            if status_body.get("tenant_id") != tenant:
                problems.append(
                    f"'tenant_id' must be {tenant!r}, got {status_body.get('tenant_id')!r}"
                )
            if status_body.get("status") != "active":
                problems.append(f"'status' must be 'active', got {status_body.get('status')!r}")
            if status_body.get("plan") != plan:
                problems.append(
                    f"'plan' must be {plan!r} (the plan activated), got {status_body.get('plan')!r}"
                )
        self.verdict("status.after_activate", problems, after)
        if after.status == 200 and status_body is not None:
            self.verdict("status.shape", problems_status_shape(status_body), after)
        else:
            self.skip(["status.shape"], "no status body to check (see status.after_activate)")

        replay = self.activate(tenant, self.body_a, request_id=first_id)
        problems = []
        if replay.reply is None:
            problems.append(f"no answer: {replay.error}")
        elif replay.status != first.status:
            problems.append(
                f"the repeat got HTTP {replay.status}; the first answer was HTTP {first.status}"
            )
        elif replay.json != first.json:
            problems.append(
                "the repeat's body differs from the first answer: the vendor acted again"
            )
        if not problems:
            again = self.status(tenant)
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
        self.verdict("activate.replay", problems, replay)

        conflict = self.activate(tenant, self.body_a)
        self.verdict(
            "activate.conflict", expect_error(conflict, {409}, "tenant_already_exists"), conflict
        )
        return True

    def _optional(self, endpoint: str, check_ids: tuple[str, ...]) -> bool:
        if self.profile.may_call(endpoint):
            return True
        self.skip(check_ids, f"the manifest declares no {endpoint} endpoint")
        return False

    def _not_there(self, exchange: Exchange, endpoint: str, check_ids: tuple[str, ...]) -> bool:
        """True (and the checks skipped) when probing found no optional endpoint."""
        if self.profile.declared.get(endpoint) is None and exchange.status in NOT_IMPLEMENTED:
            exchange.probe = True
            self.skip(
                check_ids,
                f"not declared (no manifest) and the default path answered HTTP {exchange.status}",
            )
            return True
        return False

    def check_usage(self) -> None:
        checks = ("usage.shape", "usage.period", "usage.metrics", "usage.invalid_month")
        if not self._optional("usage_report", checks):
            return
        month = previous_month(self.clock())
        exchange = self.call(
            "GET", "usage_report", self.tenant_a, query=f"period=monthly&month={month}"
        )
        if self._not_there(exchange, "usage_report", checks):
            return
        body = exchange.obj
        problems = expect_status(exchange, {200})
        if not problems and body is None:
            problems.append("the body is not a JSON object")
        if body is not None and not problems:
            if body.get("tenant_id") != self.tenant_a:
                problems.append(
                    f"'tenant_id' must be {self.tenant_a!r}, got {body.get('tenant_id')!r}"
                )
            if not isinstance(body.get("usage"), dict):
                problems.append(f"'usage' must be an object, got {body.get('usage')!r}")
        self.verdict("usage.shape", problems, exchange)
        if exchange.status == 200 and body is not None:
            period = body.get("period")
            self.verdict(
                "usage.period",
                []
                if period == month
                else [f"'period' must be {month!r} (the month asked), got {period!r}"],
                exchange,
            )
        else:
            self.skip(["usage.period"], "no usage body (see usage.shape)")
        if exchange.status == 200 and body is not None and isinstance(body.get("usage"), dict):
            self.verdict(
                "usage.metrics",
                problems_usage_metrics(body["usage"], declared=self.profile.metrics),
                exchange,
            )
        else:
            self.skip(["usage.metrics"], "no usage object (see usage.shape)")
        invalid = self.call(
            "GET", "usage_report", self.tenant_a, query=f"period=monthly&month={INVALID_MONTH}"
        )
        self.verdict(
            "usage.invalid_month", expect_error(invalid, {400, 422}, "invalid_request"), invalid
        )

    def check_update(self) -> None:
        checks = ("update.plan_change", "update.status_shows_plan")
        if not self._optional("tenant_update", checks):
            return
        plan = self.profile.second_plan
        body = {"plan": plan.code, "features": list(plan.features), "config": dict(plan.config)}
        exchange = self.call("POST", "tenant_update", self.tenant_a, body=body)
        if self._not_there(exchange, "tenant_update", checks):
            return
        problems = self._accepted(exchange, "updated", "updating", self.tenant_a)
        if (
            not problems
            and exchange.status == 200
            and (exchange.obj or {}).get("plan") != plan.code
        ):
            problems.append(
                f"'plan' must be {plan.code!r}, got {(exchange.obj or {}).get('plan')!r}"
            )
        self.verdict("update.plan_change", problems, exchange)
        if exchange.status not in (200, 202):
            self.skip(
                ["update.status_shows_plan"], "the update was refused (see update.plan_change)"
            )
            return
        if exchange.status == 202:
            after = self.wait_for_status(self.tenant_a, {"active"}, plan=plan.code)
        else:
            after = self.status(self.tenant_a)
        body = after.obj or {}
        problems = expect_status(after, {200})
        if not problems:
            if body.get("plan") != plan.code:
                problems.append(f"'plan' must be {plan.code!r}, got {body.get('plan')!r}")
            if body.get("status") != "active":
                problems.append(f"'status' must be 'active', got {body.get('status')!r}")
        self.verdict("update.status_shows_plan", problems, after)

    def _deadline_problems(self, body: dict[str, Any], where: str) -> list[str]:
        problems = []
        if body.get("data_preserved") is not True:
            problems.append(
                f"{where}'data_preserved' must be true, got {body.get('data_preserved')!r}"
            )
        deadline = parse_rfc3339(body.get("reactivation_deadline"))
        if deadline is None:
            problems.append(
                f"{where}'reactivation_deadline' must be an RFC 3339 date-time, "
                f"got {body.get('reactivation_deadline')!r}"
            )
        elif deadline.timestamp() <= self.clock():
            problems.append(
                f"{where}'reactivation_deadline' {body['reactivation_deadline']} is not in the future"
            )
        return problems

    def check_deactivation(self) -> bool:
        tenant = self.tenant_a
        request_id = str(uuid.uuid4())
        body = self.deactivate_body(preserve_data=True)
        first = self.call("POST", "tenant_deactivate", tenant, body=body, request_id=request_id)
        problems = self._accepted(first, "deactivated", "deactivating", tenant)
        if not problems and first.status == 200:
            problems += self._deadline_problems(first.obj or {}, "")
        self.verdict("deactivate.preserve_data", problems, first)
        if first.status not in (200, 202):
            self.skip(
                ["status.after_deactivate", "status.deactivated_details", "deactivate.repeat"],
                "deactivate was refused (see deactivate.preserve_data)",
            )
            return False
        if first.status == 202:
            after = self.wait_for_status(tenant, {"deactivated"})
        else:
            after = self.status(tenant)
        state = (after.obj or {}).get("status")
        problems = expect_status(after, {200})
        if not problems and state != "deactivated":
            problems.append(f"'status' must be 'deactivated', got {state!r}")
        self.verdict("status.after_deactivate", problems, after)
        if after.status == 200 and state == "deactivated":
            self.verdict(
                "status.deactivated_details",
                self._deadline_problems(after.obj or {}, "status: "),
                after,
            )
        else:
            self.skip(
                ["status.deactivated_details"], "not deactivated (see status.after_deactivate)"
            )

        again = self.call(
            "POST", "tenant_deactivate", tenant, body=self.deactivate_body(preserve_data=True)
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
            replay = self.call(
                "POST", "tenant_deactivate", tenant, body=body, request_id=request_id
            )
            if replay.status != first.status or replay.json != first.json:
                problems.append(
                    f"the same request id again: got HTTP {replay.status} and another body than "
                    "the first answer"
                )
                evidence = replay
        self.verdict("deactivate.repeat", problems, evidence)
        return True

    def check_reactivation(self) -> None:
        tenant = self.tenant_a
        exchange = self.activate(tenant, self.body_a)
        problems = self.activation_problems(exchange, tenant)
        evidence = exchange
        if exchange.status in (200, 202):
            after = (
                self.wait_for_status(tenant, {"active"})
                if exchange.status == 202
                else self.status(tenant)
            )
            state = (after.obj or {}).get("status")
            if state != "active":
                problems.append(f"status after reactivation must be 'active', got {state!r}")
                evidence = after
        self.verdict("activate.reactivate", problems, evidence)

    def check_deactivate_validation(self) -> None:
        invalid = self.call(
            "POST", "tenant_deactivate", self.tenant_a, body={"reason": "admin_request"}
        )
        self.verdict(
            "request.deactivate_missing_field",
            expect_error(invalid, {400, 422}, "invalid_request"),
            invalid,
        )

    def check_drop_data(self) -> None:
        tenant = self.tenant_b
        activated = self.activate(tenant, self.activate_body(tenant))
        if activated.status not in (200, 202):
            self.skip(
                ["deactivate.drop_data"],
                f"a second tenant could not be activated (HTTP {activated.status})",
            )
            return
        if activated.status == 202:
            self.wait_for_status(tenant, {"active"})
        exchange = self.call(
            "POST", "tenant_deactivate", tenant, body=self.deactivate_body(preserve_data=False)
        )
        problems = self._accepted(exchange, "deactivated", "deactivating", tenant)
        evidence = exchange
        if not problems:
            body = exchange.obj or {}
            if exchange.status == 202:
                evidence = self.wait_for_status(tenant, {"deactivated"})
                body = evidence.obj or {}
                if body.get("status") != "deactivated":
                    problems.append(
                        f"status never became 'deactivated' (got {body.get('status')!r})"
                    )
            if body.get("data_preserved", False) is not False:
                problems.append(
                    f"'data_preserved' must be false, got {body.get('data_preserved')!r}"
                )
            if body.get("reactivation_deadline") is not None:
                problems.append(
                    f"'reactivation_deadline' must be null without kept data, "
                    f"got {body.get('reactivation_deadline')!r}"
                )
        self.verdict("deactivate.drop_data", problems, evidence)

    def check_unknown_tenant(self) -> None:
        tenant = self.unknown_tenant
        status = self.status(tenant)
        self.verdict(
            "tenant.unknown_status", expect_error(status, {404}, "tenant_not_found"), status
        )
        deactivate = self.call(
            "POST", "tenant_deactivate", tenant, body=self.deactivate_body(preserve_data=True)
        )
        self.verdict(
            "tenant.unknown_deactivate",
            expect_error(deactivate, {404}, "tenant_not_found"),
            deactivate,
        )

    def check_invalid_requests(self) -> None:
        base = self.activate_body(self.invalid_tenant)
        cases: list[tuple[str, dict[str, Any]]] = [
            (
                "request.malformed_json",
                {"raw": b'{"tenant_id": "' + self.invalid_tenant.encode() + b'", "plan": '},
            ),
            ("request.missing_field", {"body": {k: v for k, v in base.items() if k != "plan"}}),
            (
                "request.wrong_type",
                {"body": {**base, "config": {**base["config"], "max_users": "many"}}},
            ),
        ]
        for check_id, options in cases:
            exchange = self.call("POST", "tenant_activate", self.invalid_tenant, **options)
            if exchange.status in (200, 202) and self.invalid_tenant not in self.created:
                self.created.append(self.invalid_tenant)
            self.verdict(check_id, expect_error(exchange, {400, 422}, "invalid_request"), exchange)

    def check_delete(self) -> None:
        checks = ("delete.purge", "delete.gone")
        if not self._optional("tenant_delete", checks):
            return
        tenant = self.tenant_a
        exchange = self.call("POST", "tenant_delete", tenant, body={"reason": "retention_expired"})
        probing = self.profile.declared.get("tenant_delete") is None
        # A 404 from delete can mean "already gone": only a tenant still there proves that the
        # endpoint itself is missing.
        if probing and exchange.status in NOT_IMPLEMENTED and self.status(tenant).status == 200:
            self._not_there(exchange, "tenant_delete", checks)
            return
        problems = expect_status(exchange, {200})
        if not problems:
            body = exchange.obj or {}
            if body.get("status") != "deleted":
                problems.append(f"'status' must be 'deleted', got {body.get('status')!r}")
            if body.get("tenant_id") != tenant:
                problems.append(f"'tenant_id' must be {tenant!r}, got {body.get('tenant_id')!r}")
        self.verdict("delete.purge", problems, exchange)
        if exchange.status != 200:
            self.skip(["delete.gone"], "delete was refused (see delete.purge)")
            return
        self.delete_works = True
        after = self.status(tenant)
        problems = expect_error(after, {404, 410}, "tenant_not_found", "tenant_purged")
        if after.status in (404, 410):
            self.gone.add(tenant)
        self.verdict("delete.gone", problems, after)

    def check_cleanup(self) -> None:
        leftovers = [tenant for tenant in self.created if tenant not in self.gone]
        problems: list[str] = []
        evidence: Exchange | None = None
        for tenant in leftovers:
            if self.delete_works:
                done = self.call("POST", "tenant_delete", tenant, body={"reason": "admin_request"})
                wanted = {"404", "410"}
            else:
                done = self.call(
                    "POST",
                    "tenant_deactivate",
                    tenant,
                    body=self.deactivate_body(preserve_data=False),
                )
                if done.status == 202:
                    self.wait_for_status(tenant, {"deactivated"})
                wanted = {"404", "410", "deactivated"}
            after = self.status(tenant)
            state = (
                str(after.status) if after.status in (404, 410) else (after.obj or {}).get("status")
            )
            if state not in wanted:
                problems.append(
                    f"{tenant}: cleanup answered HTTP {done.status}; its status is now {state!r}"
                )
                evidence = evidence or done
        how = "deleted" if self.delete_works else "deactivated without data"
        if not self.created:
            self._record("cleanup.tenants", "PASS", "no tenant was created", None)
        else:
            self.verdict("cleanup.tenants", problems, evidence)
            if not problems:
                self.results[
                    "cleanup.tenants"
                ].detail = f"{len(self.created)} tenant(s) {how}: {', '.join(self.created)}"

    def check_every_answer(self) -> None:
        answered = [ex for ex in self.session.exchanges if ex.reply is not None and not ex.probe]
        wrong_type = [
            ex for ex in answered if media_type(ex.reply.content_type) != "application/json"
        ]
        self.verdict(
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
        self.verdict(
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
