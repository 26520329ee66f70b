"""The standard needs nothing from Python: examples/typescript-vendor (Node 20, Express, npm
http-message-signatures and jose) passes the kit's required checks, accepts the RFC 9421
requests signed here with PyPI http-message-signatures, and verifies JWT bearer tokens made
with PyJWT against a JWKS it fetches with jose."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.examples.servers import (
    API_KEY,
    EXAMPLES,
    SIGNING_SECRET,
    example_env,
    failures,
    free_port,
    run_kit,
    running,
)
from tests.vendorkit.adapter_support import OTHER_SECRET, activate_body, market_headers

FOLDER = EXAMPLES / "typescript-vendor"


@pytest.fixture(scope="module")
def tsx() -> str:
    """The locked packages, installed with ``npm ci`` when node_modules is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("Node.js 20 and npm are needed for the TypeScript vendor (install nodejs)")
    if not (FOLDER / "node_modules" / ".bin" / "tsx").exists():
        completed = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=FOLDER, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert completed.returncode == 0, f"npm ci failed: {completed.stderr[-2000:]}"
    return str(FOLDER / "node_modules" / ".bin" / "tsx")


def start(tsx, tmp_path, **env):
    port = free_port()
    environment = example_env(PORT=str(port), EXAMPLE_LOG=str(tmp_path / "node.log"), **env)
    return running([tsx, "src/server.ts"], cwd=FOLDER, env=environment, port=port)


def call(url, method="GET", payload=b"", **options):
    headers = market_headers(method, url, payload, **options)
    request = urllib.request.Request(url, data=payload if method == "POST" else None, headers=headers, method=method)  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_the_typescript_vendor_typechecks(tsx):
    completed = subprocess.run(
        [str(FOLDER / "node_modules" / ".bin" / "tsc"), "--noEmit"], cwd=FOLDER,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_typescript_vendor_passes_the_required_checks(tsx, tmp_path):
    with start(tsx, tmp_path, MARKET_SIGNING_SECRET=SIGNING_SECRET) as base_url:
        exit_code, report = run_kit(base_url, FOLDER / "manifest.yaml")
    assert not failures(report), "\n\n".join(failures(report))
    assert exit_code == 0 and report["conformant"], report["summary"]


def test_the_typescript_vendor_verifies_rfc9421_signed_in_python(tsx, tmp_path):
    secrets = [SIGNING_SECRET]
    with start(tsx, tmp_path, MARKET_SIGNING_SECRET=SIGNING_SECRET) as base_url:
        url = f"{base_url}/mt/tenant/school%2F7/activate"
        payload = json.dumps(activate_body("school/7")).encode()
        options = {"secrets": secrets, "api_key": API_KEY, "legacy": False}
        assert call(url, "POST", payload, **options)[0] == 200
        # Rotation: the new secret under `market`, the old one under `market-previous`.
        status_url = f"{base_url}/mt/tenant/school%2F7/status"
        rotated = call(status_url, **{**options, "secrets": [OTHER_SECRET, SIGNING_SECRET]})
        assert rotated == (200, rotated[1]) and rotated[1]["tenant_id"] == "school/7"
        wrong = call(status_url, **{**options, "secrets": [OTHER_SECRET]})
        assert wrong[0] == 401 and wrong[1]["error"] == "invalid_signature"
        stale = call(status_url, **options, created=int(time.time()) - 400)
        assert stale[0] == 401 and stale[1]["error"] == "stale_timestamp"
        # Signed for one tenant, sent to another: the path is covered.
        headers = market_headers("GET", status_url, **options)
        other = urllib.request.Request(f"{base_url}/mt/tenant/other/status", headers=headers)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(other, timeout=10)
        assert refused.value.code == 401


class _Jwks(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        return


def test_the_typescript_vendor_checks_jwt_bearer_tokens_with_jose(tsx, tmp_path):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    _Jwks.body = json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()
    jwks = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    threading.Thread(target=jwks.serve_forever, daemon=True).start()
    issuer = "https://market.example"

    def token(**claims):
        now = int(time.time())
        body = {"iss": issuer, "aud": "keli_tutor_ts", "exp": now + 300, "iat": now, "token_use": "service"}  # fmt: skip
        return jwt.encode({**body, **claims}, key, algorithm="RS256", headers={"kid": "k1"})

    env = {
        "MARKET_SIGNING_SECRET": SIGNING_SECRET,
        "MARKET_API_KEY": "",
        "MARKET_JWKS_URL": f"http://127.0.0.1:{jwks.server_port}/.well-known/jwks.json",
        "MARKET_ISSUER": issuer,
        "SERVICE_ID": "keli_tutor_ts",
    }
    try:
        with start(tsx, tmp_path, **env) as base_url:
            url = f"{base_url}/mt/tenant/nobody/status"

            def status_with(value):
                headers = market_headers("GET", url, secrets=[SIGNING_SECRET], api_key=None)
                request = urllib.request.Request(url, headers={**headers, "Authorization": value})
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        return answer.status
                except urllib.error.HTTPError as refused:
                    return refused.code

            assert status_with(f"Bearer {token()}") == 404  # authenticated; unknown tenant
            assert status_with(f"Bearer {token(aud='someone_else')}") == 401
            assert status_with(f"Bearer {token(token_use='launch')}") == 401
            assert status_with("Bearer not-a-jwt") == 401
    finally:
        jwks.shutdown()
