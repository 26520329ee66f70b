"""The kit drives ``auth.type: oauth2`` services: a client-credentials token from a stub token
endpoint, then bearer; and ``jwt`` services with a bearer token the vendor's set-up issued."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.vendorkit.broken_vendors import start_vendor
from tests.vendorkit.conformance_oauth_stub import (
    TokenServer,
    bearer_vendor_handler,
    oauth2_vendor_handler,
)
from vendorkit.conformance import RunError, run_checks

SIGNING_SECRET = "oauth-signing-secret"
CLIENT_ID = "oauth_tutor"
CLIENT_SECRET = "client secret/with:odd+chars"
REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_MANIFEST = REPO_ROOT / "vendorkit" / "reference_manifest.yaml"


@pytest.fixture
def oauth_world(tmp_path):
    servers = []

    def start(**token_options):
        tokens = TokenServer(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, scope="market", **token_options
        ).start()
        vendor = start_vendor(
            db_path=tmp_path / f"oauth-{len(servers)}.sqlite3",
            api_key="not-used-by-oauth2",
            signing_secret=SIGNING_SECRET,
            handler=oauth2_vendor_handler(tokens),
        )
        servers.extend([tokens, vendor])
        manifest = yaml.safe_load(REFERENCE_MANIFEST.read_text(encoding="utf-8"))
        manifest["service"]["id"] = CLIENT_ID
        manifest["auth"] = {"type": "oauth2", "token_url": tokens.token_url, "scope": "market"}
        return tokens, vendor, manifest

    yield start
    for server in servers:
        server.stop()


def test_an_oauth2_vendor_passes_with_a_client_credentials_token(oauth_world):
    tokens, vendor, manifest = oauth_world()

    report = run_checks(
        base_url=vendor.base_url,
        api_key="",
        signing_secret=SIGNING_SECRET,
        manifest=manifest,
        oauth_client_secret=CLIENT_SECRET,
    )

    assert [
        r.id for r in report.results if r.outcome != "PASS" and not r.id.startswith("lti.")
    ] == []
    assert report.exit_code == 0
    # One token for the whole run (reused), asked for the way RFC 6749 section 4.4 says.
    assert len(tokens.requests) == 1
    request = tokens.requests[0]
    assert request["form"] == {"grant_type": "client_credentials", "scope": "market"}
    user, _, password = base64.b64decode(request["authorization"][6:]).decode().partition(":")
    assert (user, password) == (CLIENT_ID, "client+secret%2Fwith%3Aodd%2Bchars")
    # The refusals: no token, and a token the endpoint never issued.
    assert "Authorization" not in report.result("auth.missing_key").request
    assert "Bearer conformance-kit-invalid-token" in report.result("auth.wrong_key").request
    assert "Authorization: [redacted]" in report.result("activate.shape").request


def test_a_token_that_expires_during_the_run_is_fetched_again(oauth_world):
    tokens, vendor, manifest = oauth_world(uses_per_token=5)

    report = run_checks(
        base_url=vendor.base_url,
        api_key="",
        signing_secret=SIGNING_SECRET,
        manifest=manifest,
        oauth_client_secret=CLIENT_SECRET,
    )

    assert [r.id for r in report.results if r.outcome == "FAIL"] == []
    assert len(tokens.requests) > 2


def test_a_token_close_to_its_expiry_is_not_used(oauth_world):
    tokens, vendor, manifest = oauth_world(expires_in=20)  # inside the 30 s margin

    report = run_checks(
        base_url=vendor.base_url,
        api_key="",
        signing_secret=SIGNING_SECRET,
        manifest=manifest,
        oauth_client_secret=CLIENT_SECRET,
    )

    assert report.exit_code == 0
    assert len(tokens.requests) > 10, "a fresh token for every request"


def test_a_token_endpoint_that_refuses_the_client_means_the_run_cannot_be_made(oauth_world):
    tokens, vendor, manifest = oauth_world()

    with pytest.raises(RunError, match="answered HTTP 401"):
        run_checks(
            base_url=vendor.base_url,
            api_key="",
            signing_secret=SIGNING_SECRET,
            manifest=manifest,
            oauth_client_secret="wrong secret",
        )
    assert vendor.stats.snapshot()["requests"]["activate"] == 0, "no check was run"


def test_oauth2_without_a_client_secret_or_token_url_is_refused_with_what_to_give():
    manifest = yaml.safe_load(REFERENCE_MANIFEST.read_text(encoding="utf-8"))
    manifest["auth"] = {"type": "oauth2"}

    with pytest.raises(RunError, match="auth.token_url"):
        run_checks(
            base_url="http://127.0.0.1:1",
            api_key="",
            signing_secret="s",
            manifest=manifest,
            oauth_client_secret="x",
        )
    manifest["auth"]["token_url"] = "http://127.0.0.1:1/token"
    with pytest.raises(RunError, match="client secret"):
        run_checks(base_url="http://127.0.0.1:1", api_key="", signing_secret="s", manifest=manifest)


def _kit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vendorkit.conformance", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_the_command_line_drives_oauth2_with_the_secret_from_the_environment(oauth_world, tmp_path):
    tokens, vendor, manifest = oauth_world()
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    base = ["--base-url", vendor.base_url, "--manifest", str(path)]
    secret = {"CONFORMANCE_SIGNING_SECRET": SIGNING_SECRET}

    good = _kit(*base, env={**secret, "CONFORMANCE_OAUTH_CLIENT_SECRET": CLIENT_SECRET})
    refused = _kit(*base, env={**secret, "CONFORMANCE_OAUTH_CLIENT_SECRET": "wrong"})

    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.splitlines()[-1].endswith("- CONFORMANT")
    assert refused.returncode == 2
    assert "the OAuth2 token request to" in refused.stderr and "HTTP 401" in refused.stderr
    assert CLIENT_SECRET not in good.stdout


def test_a_jwt_vendor_is_driven_with_the_given_bearer_token(tmp_path):
    token = "vendor-issued-test-jwt"
    vendor = start_vendor(
        db_path=tmp_path / "jwt.sqlite3",
        api_key="not-used-by-jwt",
        signing_secret=SIGNING_SECRET,
        handler=bearer_vendor_handler(lambda presented: presented == token),
    )
    manifest = yaml.safe_load(REFERENCE_MANIFEST.read_text(encoding="utf-8"))
    manifest["auth"] = {"type": "jwt"}
    try:
        report = run_checks(
            base_url=vendor.base_url,
            api_key="",
            signing_secret=SIGNING_SECRET,
            manifest=manifest,
            bearer_token=token,
        )
        with pytest.raises(RunError, match="--bearer-token"):
            run_checks(base_url=vendor.base_url, api_key="", signing_secret="s", manifest=manifest)
    finally:
        vendor.stop()

    assert [
        r.id for r in report.results if r.outcome != "PASS" and not r.id.startswith("lti.")
    ] == []
    assert report.result("auth.wrong_key").outcome == "PASS"
    assert token not in str(report.to_dict())
