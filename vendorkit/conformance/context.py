"""The state of one conformance run and the helpers every check module uses.

``RunContext`` knows the vendor (its profile), the session that sends and records requests,
the tenants the run created, and the verdicts so far. The check modules take one and record
their verdicts on it; ``runner.py`` decides the order. Neither this module nor the catalogue
imports a check module, so the runner and the checks do not import each other.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from vendorkit.conformance.catalogue import CATALOGUE, CHECKS_BY_ID
from vendorkit.conformance.expect import NOT_IMPLEMENTED, expect_status, rfc3339
from vendorkit.conformance.report import CheckResult, Report
from vendorkit.conformance.session import Exchange, SignedSession
from vendorkit.conformance.shapes import ACCESS_URL, parse_rfc3339
from vendorkit.conformance.target import VendorProfile

DEFAULT_LTI_ISSUER = "https://conformance-kit.invalid"
DEFAULT_LTI_CLIENT_ID = "conformance-kit"


class RunContext:
    """One run against one vendor; verdicts land in ``self.results``."""

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
        self.body_a: dict[str, Any] = {}
        # Who the kit plays when it starts an LTI login: the tool must be configured with this
        # issuer and client_id (the market's values when the market runs the kit).
        self.lti_issuer = DEFAULT_LTI_ISSUER
        self.lti_client_id = DEFAULT_LTI_CLIENT_ID
        self.lti_authorization_endpoint = ""

    # -- recording verdicts -----------------------------------------------------------------

    def record(self, check_id: str, outcome: str, detail: str, exchange: Exchange | None) -> None:
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
            level=spec.level,
            source=spec.source,
        )

    def verdict(self, check_id: str, problems: list[str], exchange: Exchange | None) -> bool:
        """PASS without problems; else FAIL (required check) or WARN (recommended check)."""
        if problems:
            failed = "FAIL" if CHECKS_BY_ID[check_id].required else "WARN"
            self.record(check_id, failed, "; ".join(problems), exchange)
            return False
        self.record(check_id, "PASS", "", exchange)
        return True

    def skip(self, check_ids: Iterable[str], reason: str) -> None:
        for check_id in check_ids:
            self.record(check_id, "SKIP", reason, None)

    def report(self, report: Report) -> Report:
        report.results = [
            self.results.get(spec.id)
            or CheckResult(
                spec.id,
                spec.title,
                spec.required,
                "SKIP",
                "not reached",
                level=spec.level,
                source=spec.source,
            )
            for spec in CATALOGUE
        ]
        return report

    # -- requests ---------------------------------------------------------------------------

    def call(self, method: str, endpoint: str, tenant_id: str | None = None, **kwargs: Any):
        query = kwargs.pop("query", "")
        return self.session.send(method, self.profile.url(endpoint, tenant_id, query), **kwargs)

    def status(self, tenant_id: str) -> Exchange:
        return self.call("GET", "tenant_status", tenant_id)

    def activate_body(self, tenant_id: str, *, reactivation: bool = False) -> dict[str, Any]:
        """The market's activate body (``reactivation`` says it brings back a tenant, v1.1)."""
        plan = self.profile.first_plan
        body: dict[str, Any] = {
            "tenant_id": tenant_id,
            "reactivation": reactivation,
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

    def deactivate_body(self, tenant_id: str, *, preserve_data: bool) -> dict[str, Any]:
        """The market's deactivate body; like every v1.1 lifecycle body it names the tenant."""
        return {
            "tenant_id": tenant_id,
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

    def status_after(
        self, answer: Exchange, tenant_id: str, states: set[str], plan: str | None = None
    ) -> Exchange:
        """Status once the operation that gave ``answer`` has settled (polled after a 202)."""
        if answer.status == 202:
            return self.wait_for_status(tenant_id, states, plan)
        return self.status(tenant_id)

    def accepted_problems(self, exchange: Exchange, final: str, transitional: str, tenant_id: str):
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
        problems = self.accepted_problems(exchange, "activated", "activating", tenant_id)
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

    def declared_or_skip(self, endpoint: str, check_ids: tuple[str, ...]) -> bool:
        if self.profile.may_call(endpoint):
            return True
        self.skip(check_ids, f"the manifest declares no {endpoint} endpoint")
        return False

    def probe_found_nothing(
        self, exchange: Exchange, endpoint: str, check_ids: tuple[str, ...]
    ) -> bool:
        """True (and the checks skipped) when probing found no optional endpoint."""
        if self.profile.declared.get(endpoint) is None and exchange.status in NOT_IMPLEMENTED:
            exchange.probe = True
            self.skip(
                check_ids,
                f"not declared (no manifest) and the default path answered HTTP {exchange.status}",
            )
            return True
        return False

    def deadline_problems(self, body: dict[str, Any], where: str) -> list[str]:
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
