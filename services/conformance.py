"""Run the conformance kit from the market: against a registered service, or a given URL.

The kit (``vendorkit.conformance``) is the same one vendors run themselves. When the market
runs it against a registered service, the URL comes from a vendor's manifest, so every request
goes through ``guarded_transport``: the vendor client's private-address guard (checked at
connect time, so DNS rebinding cannot slip through), its connect timeout and total deadline,
its response-size cap, and no redirects.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from services.listing import service_list_if_ready
from services.models import ConformanceRun, Service
from services.vendor_client import jwt_keys
from services.vendor_client.kit_transport import GuardedTransport
from services.vendor_targets import target_from_manifest, valid_credentials
from vendorkit.conformance import (
    DEFAULT_TENANT_PREFIX,
    DEFAULT_TIMEOUT_SECONDS,
    ManifestLoadError,
    Report,
    run_checks,
)

logger = logging.getLogger(__name__)


def guarded_transport() -> GuardedTransport:
    return GuardedTransport()


def run_against_url(
    *,
    base_url: str | None,
    api_key: str,
    signing_secret: str,
    manifest: dict[str, Any] | str | None = None,
    tenant_prefix: str = DEFAULT_TENANT_PREFIX,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    **auth: str,
) -> Report:
    """The kit against a URL someone typed (staff on the command line): no guard, like the
    vendor's own run, so a vendor on a laptop can be checked. ``auth``: the kit's oauth2 / jwt
    options (``oauth_client_secret``, ``oauth_client_id``, ``token_url``, ``bearer_token``).
    Raises ``ManifestLoadError``."""
    return run_checks(
        base_url=base_url,
        api_key=api_key,
        signing_secret=signing_secret,
        manifest=manifest,
        tenant_prefix=tenant_prefix,
        timeout=timeout,
        **auth,
    )


def _auth_headers_for(service: Service, auth_type: str):
    if auth_type == "jwt":
        return lambda: {
            "Authorization": f"Bearer {jwt_keys.issue_service_token(service.service_id)}"
        }
    return None


def _run_service(service: Service, *, tenant_prefix: str) -> tuple[Report | None, str]:
    """(report, "") or (None, why the kit could not run)."""
    manifest = service.manifest_data
    if not manifest:
        return None, "the service has no current manifest"
    credentials = valid_credentials(service)
    if not credentials:
        return None, "the service has no valid credentials"
    target = target_from_manifest(
        service_id=service.service_id, manifest=manifest, credentials=credentials
    )
    if target.auth_type not in ("api_key", "jwt", "oauth2"):
        return None, (
            f"conformance runs support auth.type api_key, oauth2 and jwt, not {target.auth_type!r}"
        )
    transport = guarded_transport()
    try:
        # oauth2: the kit asks the vendor's token_url (through the same guarded transport) with
        # the client id and secret the market uses for its own calls.
        report = run_checks(
            base_url=target.base_url,
            api_key=target.api_key,
            signing_secret=list(target.signing_secrets),
            manifest=manifest,
            tenant_prefix=tenant_prefix,
            timeout=float(settings.VENDOR_TOTAL_TIMEOUT),
            transport=transport,
            auth_headers=_auth_headers_for(service, target.auth_type),
            token_url=target.token_url,
            oauth_client_id=target.oauth_client_id,
            oauth_client_secret=target.oauth_client_secret,
        )
    except ManifestLoadError as exc:
        return None, str(exc)
    except Exception as exc:  # a fault in the kit must not leave the run "running" forever
        logger.exception("conformance kit failed against %s", service.service_id)
        return None, f"the conformance kit failed: {type(exc).__name__}: {exc}"
    finally:
        transport.close()
    return report, ""


def _result_of(report: Report) -> str:
    """The listing gate's verdict: required checks only. Recommended checks that did not pass
    (``WARN``) stay in the stored report for the vendor and never make a run fail."""
    if not report.reachable:
        return ConformanceRun.Result.ERROR
    return ConformanceRun.Result.PASSED if report.conformant else ConformanceRun.Result.FAILED


def conformance_run(
    *,
    service: Service,
    started_by=None,
    tenant_prefix: str = DEFAULT_TENANT_PREFIX,
) -> ConformanceRun:
    """Run the kit against ``service`` with its current credentials and store the report.

    The run row is written first (result ``running``) so staff can see a run in progress; the
    kit then talks to the vendor outside any transaction (it takes seconds), and the result,
    the counts and the report are saved at the end: ``passed`` when every required check passed
    (warnings allowed), ``failed`` when one did not (``failed_count`` counts required checks
    only). A run that cannot start (no manifest, no credentials, an unsupported auth type, an
    OAuth2 token endpoint that gives no token) or cannot reach the vendor ends as ``error``.
    """
    run = ConformanceRun.objects.create(service=service, started_by=started_by)
    report, problem = _run_service(service, tenant_prefix=tenant_prefix)
    with transaction.atomic():
        run.finished_at = timezone.now()
        if report is None:
            run.result = ConformanceRun.Result.ERROR
            run.report = {"error": problem, "results": []}
        else:
            run.result = _result_of(report)
            run.passed_count = report.passed_count
            run.failed_count = report.failed_count
            run.skipped_count = report.skipped_count
            run.report = report.to_dict()
        run.save(
            update_fields=[
                "result",
                "finished_at",
                "passed_count",
                "failed_count",
                "skipped_count",
                "report",
                "updated_at",
            ]
        )
    if run.result == ConformanceRun.Result.PASSED:
        service_list_if_ready(service=service)  # the listing gate (services.listing)
    logger.info(
        "conformance run %s of %s: %s (%s passed, %s failed, %s skipped)",
        run.pk,
        service.service_id,
        run.result,
        run.passed_count,
        run.failed_count,
        run.skipped_count,
    )
    return run


def stored_report(run: ConformanceRun) -> Report | None:
    """The kit's report kept with ``run`` (None when the kit could not run)."""
    if not run.report.get("results") and run.report.get("error"):
        return None
    return Report.from_dict(run.report)
