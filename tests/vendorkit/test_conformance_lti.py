"""The kit's LTI checks: run when the manifest declares an ``lti`` block, skipped otherwise.

The reference LTI tool (configured by hand with the kit's issuer and client_id, the manifest way
of registering) passes them; a broken tool stub fails both required checks.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.vendorkit import test_conformance as base
from tests.vendorkit.test_conformance import ids_with, reference_manifest, run
from vendorkit.conformance import format_text
from vendorkit.conformance.context import DEFAULT_LTI_CLIENT_ID, DEFAULT_LTI_ISSUER
from vendorkit.reference_lti_tool import Platform, serve_in_thread

vendor_factory = base.vendor_factory  # the reference vendor, as the other kit tests start it
LTI_CHECKS = {"lti.jwks", "lti.login_redirect"}
AUTHORIZE = f"{DEFAULT_LTI_ISSUER}/lti/authorize"


def lti_block(base: str) -> dict[str, Any]:
    return {
        "login_initiation_url": f"{base}/lti/login",
        "target_link_uri": f"{base}/lti/launch",
        "redirect_uris": [f"{base}/lti/launch"],
        "jwks_url": f"{base}/lti/jwks",
    }


@pytest.fixture
def lti_tool() -> Iterator[str]:
    kit = Platform(
        issuer=DEFAULT_LTI_ISSUER,
        client_id=DEFAULT_LTI_CLIENT_ID,
        authorization_endpoint=AUTHORIZE,
        jwks_uri=f"{DEFAULT_LTI_ISSUER}/.well-known/jwks.json",
    )
    server = serve_in_thread(platforms=[kit])
    yield server.public_url
    server.stop()


class BrokenTool(BaseHTTPRequestHandler):
    """Redirects without prompt, nonce or state, to its own redirect URI; leaks a private key."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps({"keys": [{"kty": "RSA", "n": "abc", "e": "AQAB", "d": "secret"}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def do_POST(self) -> None:
        query = urlencode({"scope": "openid", "response_type": "id_token", "client_id": "x"})
        self.send_response(302)
        self.send_header("Location", f"{AUTHORIZE}?{query}&redirect_uri=https://elsewhere/")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def broken_tool() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BrokenTool)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_without_an_lti_block_the_lti_checks_are_skipped_with_the_reason(vendor_factory):
    report = run(vendor_factory())

    assert ids_with(report, "SKIP") >= LTI_CHECKS
    details = {r.detail for r in report.results if r.id in LTI_CHECKS}
    assert details == {"the manifest declares no lti block (the service is not an LTI tool)"}
    assert report.conformant


def test_the_reference_lti_tool_passes_the_lti_checks(vendor_factory, lti_tool):
    report = run(vendor_factory(), manifest=reference_manifest(lti=lti_block(lti_tool)))

    results = {r.id: r for r in report.results if r.id in LTI_CHECKS}
    assert {i: r.outcome for i, r in results.items()} == dict.fromkeys(LTI_CHECKS, "PASS")
    assert all(r.required and "Security Framework" in r.source for r in results.values())
    assert report.conformant, format_text(report)


def test_a_tool_that_does_not_know_the_kit_fails_the_login_check_with_a_hint(
    vendor_factory, lti_tool
):
    report = run(
        vendor_factory(),
        manifest=reference_manifest(lti=lti_block(lti_tool)),
        lti_client_id="not-configured-in-the-tool",
    )

    login = next(r for r in report.results if r.id == "lti.login_redirect")
    assert login.outcome == "FAIL"
    assert "configured with issuer" in login.detail
    assert not report.conformant


def test_a_broken_lti_tool_fails_the_required_lti_checks(vendor_factory, broken_tool):
    report = run(vendor_factory(), manifest=reference_manifest(lti=lti_block(broken_tool)))

    results = {r.id: r for r in report.results if r.id in LTI_CHECKS}
    assert {i: r.outcome for i, r in results.items()} == dict.fromkeys(LTI_CHECKS, "FAIL")
    assert "private key members ['d']" in results["lti.jwks"].detail
    assert "keys[0] must have a non-empty string 'kid'" in results["lti.jwks"].detail
    login = results["lti.login_redirect"].detail
    for problem in ("'prompt' must be 'none'", "'nonce'", "'state'", "'redirect_uri' must be"):
        assert problem in login
    assert not report.conformant
