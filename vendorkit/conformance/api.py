"""``run_checks``: the kit's Python entry point (the command line and the market use it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from vendorkit.conformance.report import Report
from vendorkit.conformance.runner import Runner, rfc3339
from vendorkit.conformance.session import AuthHeaders, SignedSession
from vendorkit.conformance.target import build_profile, load_manifest
from vendorkit.conformance.transport import Transport, http_client_transport

DEFAULT_TENANT_PREFIX = "conformance_"
DEFAULT_TIMEOUT_SECONDS = 10.0


def run_checks(
    *,
    base_url: str | None,
    api_key: str,
    signing_secret: str | list[str],
    manifest: dict[str, Any] | str | Path | None = None,
    tenant_prefix: str = DEFAULT_TENANT_PREFIX,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    transport: Transport | None = None,
    auth_headers: AuthHeaders | None = None,
) -> Report:
    """Run every check against the vendor at ``base_url`` and return the report.

    ``manifest`` is the vendor's manifest (a mapping, or a path to a YAML/JSON file); without
    it the standard's default paths are used and optional endpoints are probed. ``base_url``
    overrides the manifest's ``endpoints.base_url``. ``signing_secret`` may be a list while two
    secrets are valid. ``transport`` replaces the standard-library HTTP transport (the market
    passes one guarded against private addresses). ``auth_headers`` replaces the API key with
    other authentication headers, made fresh for each request (for ``auth.type: jwt``).

    Raises ``ManifestLoadError`` when the manifest cannot be read or no base URL is known.
    """
    if isinstance(manifest, str | Path):
        manifest = load_manifest(manifest)
    profile = build_profile(base_url=base_url, manifest=manifest)
    secrets = [signing_secret] if isinstance(signing_secret, str) else list(signing_secret)
    session = SignedSession(
        transport=transport or http_client_transport,
        api_key=api_key,
        api_key_header=profile.api_key_header,
        signing_secrets=secrets,
        timeout=timeout,
        auth_headers=auth_headers,
    )
    report = Report(base_url=profile.base_url, started_at=rfc3339(time.time()))
    runner = Runner(profile=profile, session=session, tenant_prefix=tenant_prefix)
    report.reachable = runner.run()
    runner.report(report)
    report.finished_at = rfc3339(time.time())
    return report
