"""``python -m vendorkit.conformance``: run the kit from the command line.

Exit status: 0 when every required check passes, 1 when one fails, 2 when the vendor cannot be
reached at all (or the command line or manifest is unusable).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from vendorkit.conformance.api import DEFAULT_TENANT_PREFIX, DEFAULT_TIMEOUT_SECONDS, run_checks
from vendorkit.conformance.report import EXIT_UNREACHABLE, format_text
from vendorkit.conformance.target import ManifestLoadError


def build_parser(prog: str = "python -m vendorkit.conformance") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check a live vendor service against the Service Market's standard v1.",
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The kit's options; the market's ``manage.py conformance`` adds the same ones."""
    # Secrets may come from the environment so they stay out of shell history and `ps`.
    env_defaults = {
        "api_key": os.environ.get("CONFORMANCE_API_KEY"),
        "signing_secret": os.environ.get("CONFORMANCE_SIGNING_SECRET"),
    }
    parser.add_argument("--base-url", help="the vendor's base URL (default: the manifest's)")
    parser.add_argument(
        "--api-key",
        default=env_defaults.get("api_key"),
        help="the API key the market sends (or $CONFORMANCE_API_KEY)",
    )
    parser.add_argument(
        "--signing-secret",
        default=env_defaults.get("signing_secret"),
        help="the signing secret (or $CONFORMANCE_SIGNING_SECRET)",
    )
    parser.add_argument("--manifest", help="the vendor's manifest.yaml (or .json)")
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    parser.add_argument(
        "--tenant-prefix",
        default=DEFAULT_TENANT_PREFIX,
        help=f"prefix of the tenant ids the run creates (default {DEFAULT_TENANT_PREFIX})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help="seconds to wait for each answer",
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.api_key or not args.signing_secret:
        parser.print_usage(sys.stderr)
        print("error: --api-key and --signing-secret are required", file=sys.stderr)
        return EXIT_UNREACHABLE
    try:
        report = run_checks(
            base_url=args.base_url,
            api_key=args.api_key,
            signing_secret=args.signing_secret,
            manifest=args.manifest,
            tenant_prefix=args.tenant_prefix,
            timeout=args.timeout,
        )
    except ManifestLoadError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_text(report))
    return report.exit_code
