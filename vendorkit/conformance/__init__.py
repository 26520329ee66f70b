"""The conformance kit: checks a live vendor service against the market's standard.

Run it::

    python -m vendorkit.conformance --base-url https://vendor.example --api-key KEY \\
        --signing-secret SECRET [--manifest manifest.yaml] [--json] [--junit-xml report.xml]
    python -m vendorkit.conformance --list-checks [--format text|markdown|json]

or from Python::

    from vendorkit.conformance import run_checks
    report = run_checks(base_url=..., api_key=..., signing_secret=...)

Standard library only (PyYAML is used when present, to read a YAML manifest); it never imports
the market or Django. Every check is ``required`` or ``recommended`` (``catalogue.py``); the
exit status is 0 exactly when every required check passes. See ``docs/standard/conformance.md``
(generated from the catalogue) for every check.
"""

from vendorkit.conformance.api import (
    DEFAULT_TENANT_PREFIX,
    DEFAULT_TIMEOUT_SECONDS,
    RunError,
    run_checks,
)
from vendorkit.conformance.catalogue import CATALOGUE, RECOMMENDED, REQUIRED, CheckSpec
from vendorkit.conformance.junit import to_junit_xml
from vendorkit.conformance.report import (
    EXIT_CONFORMANT,
    EXIT_COULD_NOT_RUN,
    EXIT_NOT_CONFORMANT,
    CheckResult,
    Report,
    format_text,
)
from vendorkit.conformance.target import ManifestLoadError, load_manifest
from vendorkit.conformance.transport import HttpReply, TransportError

__all__ = [
    "CATALOGUE",
    "DEFAULT_TENANT_PREFIX",
    "DEFAULT_TIMEOUT_SECONDS",
    "EXIT_CONFORMANT",
    "EXIT_COULD_NOT_RUN",
    "EXIT_NOT_CONFORMANT",
    "RECOMMENDED",
    "REQUIRED",
    "CheckResult",
    "CheckSpec",
    "HttpReply",
    "ManifestLoadError",
    "Report",
    "RunError",
    "TransportError",
    "format_text",
    "load_manifest",
    "run_checks",
    "to_junit_xml",
]
