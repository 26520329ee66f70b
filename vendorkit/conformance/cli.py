"""``python -m vendorkit.conformance``: run the kit from the command line (or a vendor's CI).

Exit status: 0 when every required check passes (recommended failures print as warnings), 1
when a required check fails, 2 when the run could not be made (the vendor cannot be reached,
or the options, the manifest or the OAuth2 token endpoint are unusable); with ``--strict``, 3
when only recommended checks did not pass. ``--junit-xml PATH``
also writes the report as JUnit XML; ``--list-checks`` prints the checks without running any.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from vendorkit.conformance.api import DEFAULT_TENANT_PREFIX, DEFAULT_TIMEOUT_SECONDS, run_checks
from vendorkit.conformance.junit import write_junit_xml
from vendorkit.conformance.listing import checks_json, checks_markdown, checks_text, write_into
from vendorkit.conformance.report import EXIT_CODES, EXIT_COULD_NOT_RUN, format_text
from vendorkit.conformance.target import ManifestLoadError


def build_parser(prog: str = "python -m vendorkit.conformance") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check a live vendor service against the Service Market's standard.",
        epilog="exit status: "
        + "; ".join(f"{code} = {meaning}" for code, meaning in EXIT_CODES.items()),
    )
    add_arguments(parser)
    parser.add_argument(
        "--list-checks",
        action="store_true",
        help="print every check with its level and source, run nothing",
    )
    parser.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="with --list-checks: the form of the list (markdown is docs/standard/conformance.md's)",
    )
    parser.add_argument(
        "--write",
        metavar="PATH",
        help="with --list-checks --format markdown: replace the generated block in PATH",
    )
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The kit's options; the market's ``manage.py conformance`` adds the same ones."""
    # Secrets may come from the environment so they stay out of shell history and `ps`.
    env = os.environ.get
    parser.add_argument("--base-url", help="the vendor's base URL (default: the manifest's)")
    parser.add_argument(
        "--api-key",
        default=env("CONFORMANCE_API_KEY"),
        help="the API key the market sends, for auth.type api_key (or $CONFORMANCE_API_KEY)",
    )
    parser.add_argument(
        "--signing-secret",
        default=env("CONFORMANCE_SIGNING_SECRET"),
        help="the signing secret (or $CONFORMANCE_SIGNING_SECRET)",
    )
    parser.add_argument(
        "--oauth-client-secret",
        default=env("CONFORMANCE_OAUTH_CLIENT_SECRET"),
        help="for auth.type oauth2: the client secret your token endpoint gives the market "
        "(or $CONFORMANCE_OAUTH_CLIENT_SECRET)",
    )
    parser.add_argument(
        "--oauth-client-id",
        default="",
        help="for auth.type oauth2: the client id (default: auth.client_id, else service.id)",
    )
    parser.add_argument(
        "--token-url", default="", help="for auth.type oauth2: overrides auth.token_url"
    )
    parser.add_argument(
        "--bearer-token",
        default=env("CONFORMANCE_BEARER_TOKEN"),
        help="for auth.type jwt: a token your test set-up issued (or $CONFORMANCE_BEARER_TOKEN)",
    )
    parser.add_argument(
        "--lti-issuer",
        default="",
        help="with an lti block: the platform issuer the tool is configured with "
        "(default https://conformance-kit.invalid)",
    )
    parser.add_argument(
        "--lti-client-id",
        default="",
        help="with an lti block: the client_id the tool is configured with "
        "(default conformance-kit)",
    )
    parser.add_argument(
        "--lti-authorization-endpoint",
        default="",
        help="with an lti block: where the login must redirect (default <issuer>/lti/authorize)",
    )
    parser.add_argument("--manifest", help="the vendor's manifest.yaml (or .json)")
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    parser.add_argument(
        "--junit-xml",
        metavar="PATH",
        help="also write the report as JUnit XML to PATH (for CI systems)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 3 (and JUnit failures) when every required check passes but a recommended "
        "one does not",
    )
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


def _list_checks(args: argparse.Namespace) -> int:
    if args.write:
        if args.format != "markdown":
            print("error: --write needs --format markdown", file=sys.stderr)
            return EXIT_COULD_NOT_RUN
        try:
            changed = write_into(args.write)
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_COULD_NOT_RUN
        print(f"{args.write}: {'updated' if changed else 'already up to date'}")
        return 0
    listing = {"text": checks_text, "markdown": checks_markdown, "json": checks_json}
    print(listing[args.format]().rstrip("\n"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_checks:
        return _list_checks(args)
    if not args.signing_secret:
        parser.print_usage(sys.stderr)
        print("error: --signing-secret is required", file=sys.stderr)
        return EXIT_COULD_NOT_RUN
    started = time.monotonic()
    try:
        report = run_checks(
            base_url=args.base_url,
            api_key=args.api_key or "",
            signing_secret=args.signing_secret,
            manifest=args.manifest,
            tenant_prefix=args.tenant_prefix,
            timeout=args.timeout,
            oauth_client_secret=args.oauth_client_secret or "",
            oauth_client_id=args.oauth_client_id,
            token_url=args.token_url,
            bearer_token=args.bearer_token or "",
            lti_issuer=args.lti_issuer,
            lti_client_id=args.lti_client_id,
            lti_authorization_endpoint=args.lti_authorization_endpoint,
        )
    except ManifestLoadError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_COULD_NOT_RUN
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_text(report))
    if args.junit_xml:
        try:
            write_junit_xml(
                report,
                args.junit_xml,
                duration_seconds=time.monotonic() - started,
                strict=args.strict,
            )
        except OSError as error:
            print(f"error: cannot write {args.junit_xml}: {error}", file=sys.stderr)
            return EXIT_COULD_NOT_RUN
    return report.exit_code_for(strict=args.strict)
