"""What the kit needs to know about the vendor: paths, plans, auth header, async settings.

All of it comes from the vendor's manifest when one is given. Without one, the kit uses the
standard's default paths and the founding document's plan codes, and *probes* the optional
endpoints: an optional endpoint whose default path answers 404, 405 or 501 is skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

DEFAULT_PATHS = {
    "health": "/mt/health",
    "tenant_activate": "/mt/tenant/{tenant_id}/activate",
    "tenant_deactivate": "/mt/tenant/{tenant_id}/deactivate",
    "tenant_status": "/mt/tenant/{tenant_id}/status",
    "usage_report": "/mt/tenant/{tenant_id}/usage",
    "tenant_update": "/mt/tenant/{tenant_id}/update",
    "tenant_delete": "/mt/tenant/{tenant_id}/delete",
}
OPTIONAL_ENDPOINTS = ("usage_report", "tenant_update", "tenant_delete")
STANDARD_METRICS = ["api_calls", "ai_tokens", "storage_gb", "active_users"]
DEFAULT_API_KEY_HEADER = "X-Market-API-Key"
# Without a manifest: the founding document's plan codes and features.
FALLBACK_PLANS = {
    "basic": (["ai_chat", "file_upload"], {"max_users": 10, "storage_limit_gb": 1}),
    "standard": (
        ["ai_chat", "file_upload", "rag", "discussion"],
        {"max_users": 20, "storage_limit_gb": 2},
    ),
}
MAX_ASYNC_WAIT_SECONDS = 120


class ManifestLoadError(Exception):
    """The manifest file could not be read."""


def load_manifest(path: str | Path) -> dict[str, Any]:
    """Read a manifest file: YAML when PyYAML is installed, JSON always."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestLoadError(f"cannot read {path}: {error}") from error
    try:
        import yaml  # optional: the kit itself needs only the standard library
    except ImportError:
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ManifestLoadError(
                "reading a YAML manifest needs PyYAML (pip install pyyaml); "
                "or give the manifest as JSON"
            ) from error
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ManifestLoadError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ManifestLoadError(f"{path} does not hold a mapping at the top level")
    return data


@dataclass(frozen=True)
class PlanTerms:
    code: str
    features: list[str]
    config: dict[str, int]


@dataclass(frozen=True)
class VendorProfile:
    """The vendor as the kit sees it."""

    base_url: str
    paths: dict[str, str]
    declared: dict[str, bool | None]  # optional endpoint -> True/False, None = probe
    api_key_header: str
    first_plan: PlanTerms
    second_plan: PlanTerms
    metrics: list[str]
    isolation: str | None = None
    asynchronous: bool = False
    poll_interval: float = 1.0
    async_timeout: float = 60.0
    has_manifest: bool = False
    notes: list[str] = field(default_factory=list)
    auth_type: str = "api_key"
    token_url: str = ""
    oauth_scope: str = ""
    oauth_client_id: str = ""
    lti: dict[str, Any] | None = None  # the manifest's `lti` block, when it declares one

    def url(self, endpoint: str, tenant_id: str | None = None, query: str = "") -> str:
        path = self.paths[endpoint]
        if tenant_id is not None:
            path = path.replace("{tenant_id}", quote(tenant_id, safe=""))
        url = f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"
        if query:
            url += ("&" if "?" in url else "?") + query
        return url

    def may_call(self, endpoint: str) -> bool:
        """False only for an optional endpoint the manifest does not declare."""
        return self.declared.get(endpoint, True) is not False


def _limits(plan: dict[str, Any]) -> dict[str, int]:
    limits = plan.get("limits") if isinstance(plan.get("limits"), dict) else {}
    max_users = limits.get("max_users")
    storage = limits.get("storage_limit_gb")
    return {
        "max_users": max_users if isinstance(max_users, int) and max_users > 0 else 10,
        "storage_limit_gb": storage if isinstance(storage, int) and storage >= 0 else 1,
    }


def _plans(manifest: dict[str, Any]) -> list[PlanTerms]:
    plans = manifest.get("plans") if isinstance(manifest.get("plans"), dict) else {}
    features = manifest.get("features") if isinstance(manifest.get("features"), dict) else {}
    terms = []
    for code in [*plans, *(code for code in features if code not in plans)]:
        plan = plans.get(code) if isinstance(plans.get(code), dict) else {}
        plan_features = plan.get("features") or features.get(code) or []
        terms.append(PlanTerms(str(code), [str(f) for f in plan_features], _limits(plan)))
    return terms


def _second_plan(manifest: dict[str, Any], plans: list[PlanTerms]) -> PlanTerms:
    first = plans[0]
    allowed = (((manifest.get("plans") or {}).get(first.code) or {}).get("allowed_changes")) or []
    for plan in plans[1:]:
        if plan.code in allowed:
            return plan
    return plans[1] if len(plans) > 1 else first


def build_profile(*, base_url: str | None, manifest: dict[str, Any] | None) -> VendorProfile:
    """The profile from a manifest (may be None) and a base URL (overrides the manifest's)."""
    if not manifest:
        plans = [PlanTerms(code, list(f), dict(c)) for code, (f, c) in FALLBACK_PLANS.items()]
        if not base_url:
            raise ManifestLoadError("a base URL is needed (--base-url or a manifest)")
        return VendorProfile(
            base_url=base_url,
            paths=dict(DEFAULT_PATHS),
            declared={name: None for name in OPTIONAL_ENDPOINTS},
            api_key_header=DEFAULT_API_KEY_HEADER,
            first_plan=plans[0],
            second_plan=plans[1],
            metrics=list(STANDARD_METRICS),
            notes=["no manifest: default paths, optional endpoints probed, plans basic/standard"],
        )
    endpoints = manifest.get("endpoints") if isinstance(manifest.get("endpoints"), dict) else {}
    base = base_url or endpoints.get("base_url")
    if not base:
        raise ManifestLoadError("a base URL is needed (--base-url or endpoints.base_url)")
    paths = dict(DEFAULT_PATHS)
    for name in DEFAULT_PATHS:
        if isinstance(endpoints.get(name), str) and endpoints[name]:
            paths[name] = endpoints[name]
    declared: dict[str, bool | None] = {
        name: bool(endpoints.get(name)) for name in OPTIONAL_ENDPOINTS
    }
    plans = _plans(manifest) or [
        PlanTerms(code, list(f), dict(c)) for code, (f, c) in FALLBACK_PLANS.items()
    ]
    auth = manifest.get("auth") if isinstance(manifest.get("auth"), dict) else {}
    usage = manifest.get("usage_report") if isinstance(manifest.get("usage_report"), dict) else {}
    metrics = usage.get("metrics") if isinstance(usage.get("metrics"), list) else None
    isolation = manifest.get("isolation") if isinstance(manifest.get("isolation"), dict) else {}
    operations = manifest.get("operations") if isinstance(manifest.get("operations"), dict) else {}
    poll = operations.get("poll_interval_seconds")
    timeout = operations.get("timeout_seconds")
    service = manifest.get("service") if isinstance(manifest.get("service"), dict) else {}
    return VendorProfile(
        base_url=base,
        paths=paths,
        declared=declared,
        auth_type=str(auth.get("type") or "api_key"),
        token_url=str(auth.get("token_url") or ""),
        oauth_scope=str(auth.get("scope") or ""),
        # The market's client id is the manifest's auth.client_id, else the service id.
        oauth_client_id=str(auth.get("client_id") or service.get("id") or ""),
        api_key_header=auth.get("header") or DEFAULT_API_KEY_HEADER,
        first_plan=plans[0],
        second_plan=_second_plan(manifest, plans),
        metrics=[str(m) for m in metrics] if metrics else list(STANDARD_METRICS),
        isolation=isolation.get("default") if isinstance(isolation.get("default"), str) else None,
        asynchronous=operations.get("async") is True,
        poll_interval=float(poll) if isinstance(poll, int | float) and poll > 0 else 1.0,
        async_timeout=min(
            float(timeout) if isinstance(timeout, int | float) and timeout > 0 else 60.0,
            MAX_ASYNC_WAIT_SECONDS,
        ),
        has_manifest=True,
        lti=manifest["lti"] if isinstance(manifest.get("lti"), dict) else None,
    )
