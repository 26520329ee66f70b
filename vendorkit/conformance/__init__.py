"""The conformance kit: checks a live vendor service against the market's standard v1.

Run it::

    python -m vendorkit.conformance --base-url https://vendor.example --api-key KEY \\
        --signing-secret SECRET [--manifest manifest.yaml] [--json]

or from Python::

    from vendorkit.conformance import run_checks
    report = run_checks(base_url=..., api_key=..., signing_secret=...)

Standard library only (PyYAML is used when present, to read a YAML manifest); it never imports
the market or Django. See ``docs/standard/conformance.md`` for every check.
"""

from vendorkit.conformance.api import DEFAULT_TENANT_PREFIX, DEFAULT_TIMEOUT_SECONDS, run_checks
from vendorkit.conformance.catalogue import CATALOGUE
from vendorkit.conformance.report import CheckResult, CheckSpec, Report, format_text
from vendorkit.conformance.target import ManifestLoadError, load_manifest
from vendorkit.conformance.transport import HttpReply, TransportError

__all__ = [
    "CATALOGUE",
    "DEFAULT_TENANT_PREFIX",
    "DEFAULT_TIMEOUT_SECONDS",
    "CheckResult",
    "CheckSpec",
    "HttpReply",
    "ManifestLoadError",
    "Report",
    "TransportError",
    "format_text",
    "load_manifest",
    "run_checks",
]
