"""Running the reference vendor: counters, concurrency, rotation, async mode, launch, the CLI."""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests
import time_machine
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.vendorkit.conftest import REPO_ROOT, SignedClient, assert_matches_schema

SEED_NOW = datetime(2026, 1, 3, 12, 0, 0, tzinfo=UTC)


def _host_port(base_url: str) -> tuple[str, int]:
    host, port = base_url.removeprefix("http://").split(":")
    return host, int(port)


def _in_parallel(count: int, call) -> list:
    """Run ``call`` in ``count`` threads released together; return the results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        results[index] = call(index)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


# -- counters -------------------------------------------------------------------------------


def test_stats_count_requests_and_distinct_request_ids_per_operation(vendor):
    vendor.activate("hallym_univ", request_id="a")
    vendor.activate("hallym_univ", request_id="a")
    vendor.activate("hallym_univ", request_id="b")  # 409
    vendor.activate("hallym_univ", api_key="wrong")  # refused: no request id counted
    vendor.status("hallym_univ")
    stats = vendor.stats()
    assert stats["requests"]["activate"] == 4
    assert stats["distinct_request_ids"]["activate"] == 2
    assert stats["applied"]["activate"] == 1
    assert stats["replays"]["activate"] == 1
    assert stats["requests"]["status"] == 1
    assert stats["requests"]["deactivate"] == 0
    assert stats["max_concurrent"] >= 1


def test_reset_forgets_tenants_and_counters(vendor):
    vendor.activate("hallym_univ")
    response = vendor.session.post(vendor.base_url + "/_reset")
    assert response.json() == {"reset": True}
    assert vendor.stats()["requests"]["activate"] == 0
    assert vendor.status("hallym_univ").status_code == 404


def test_stats_and_reset_are_refused_to_other_addresses(vendor):
    host, port = _host_port(vendor.base_url)
    for method, path in (("GET", "/_stats"), ("POST", "/_reset")):
        connection = http.client.HTTPConnection(
            host, port, timeout=10, source_address=("127.0.0.2", 0)
        )
        try:
            connection.request(method, path)
            response = connection.getresponse()
            assert response.status == 403
            assert json.loads(response.read())["error"] == "forbidden"
        finally:
            connection.close()
    vendor.activate("hallym_univ")
    assert vendor.status("hallym_univ").status_code == 200  # the reset was refused


def test_concurrent_deliveries_of_one_request_act_once(vendor):
    responses = _in_parallel(
        8, lambda _: vendor.__class__(vendor.base_url).activate("hallym_univ", request_id="same")
    )
    assert {response.status_code for response in responses} == {200}
    assert len({response.content for response in responses}) == 1
    stats = vendor.stats()
    assert stats["applied"]["activate"] == 1
    assert stats["replays"]["activate"] == 7
    assert stats["distinct_request_ids"]["activate"] == 1


def test_concurrent_activations_with_different_ids_create_the_tenant_once(vendor):
    responses = _in_parallel(6, lambda _: SignedClient(vendor.base_url).activate("hallym_univ"))
    codes = sorted(response.status_code for response in responses)
    assert codes == [200, 409, 409, 409, 409, 409]


def test_delay_lets_requests_overlap_and_max_concurrent_shows_it(start_vendor):
    _, client = start_vendor(delay_ms=300)
    _in_parallel(4, lambda _: requests.get(client.base_url + "/mt/health", timeout=10))
    stats = client.stats()
    assert stats["requests"]["health"] == 4
    assert stats["max_concurrent"] >= 2


def test_connections_are_kept_alive_between_requests(vendor):
    host, port = _host_port(vendor.base_url)
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", "/mt/health")
        first = connection.getresponse()
        first.read()
        socket_before = connection.sock
        assert first.version == 11
        assert not first.will_close
        connection.request("GET", "/mt/health")
        second = connection.getresponse()
        second.read()
        assert second.status == 200
        assert connection.sock is socket_before
    finally:
        connection.close()


# -- rotation -------------------------------------------------------------------------------


def test_any_of_several_api_keys_and_signing_secrets_is_accepted(start_vendor):
    _, client = start_vendor(api_keys="old-key, new-key", signing_secrets="old-secret,new-secret")
    assert client.activate("t1", api_key="old-key", secrets=["old-secret"]).status_code == 200
    assert client.activate("t2", api_key="new-key", secrets=["new-secret"]).status_code == 200
    both = ["new-secret", "old-secret"]
    assert client.activate("t3", api_key="new-key", secrets=both).status_code == 200
    refused_key = client.status("t1", api_key="retired-key", secrets=["new-secret"])
    assert refused_key.json()["error"] == "unauthorized"
    refused_signature = client.status("t1", api_key="new-key", secrets=["retired-secret"])
    assert refused_signature.json()["error"] == "invalid_signature"


def test_a_market_signing_with_two_secrets_reaches_a_vendor_that_knows_one(start_vendor):
    _, client = start_vendor(signing_secrets="new-secret")
    response = client.activate("t1", secrets=["old-secret", "new-secret"])
    assert response.status_code == 200


# -- async mode -----------------------------------------------------------------------------


def test_async_activation_answers_202_then_settles_to_active(start_vendor):
    _, client = start_vendor(asynchronous=True, async_seconds=1.0)
    with time_machine.travel(SEED_NOW, tick=False) as traveller:
        response = client.activate("hallym_univ", request_id="async-1")
        assert response.status_code == 202
        assert response.json() == {"status": "activating", "tenant_id": "hallym_univ"}
        assert_matches_schema(response.json(), "activate.response.schema.json")
        during = client.status("hallym_univ").json()
        assert during["status"] == "activating"
        assert during["plan"] == "premium"
        replay = client.activate("hallym_univ", request_id="async-1")
        assert replay.status_code == 202
        assert replay.content == response.content
        traveller.shift(2)
        assert client.status("hallym_univ").json()["status"] == "active"


def test_async_deactivation_shows_deactivating_then_the_deadline(start_vendor):
    _, client = start_vendor(asynchronous=True, async_seconds=1.0)
    with time_machine.travel(SEED_NOW, tick=False) as traveller:
        client.activate("hallym_univ")
        traveller.shift(2)
        response = client.deactivate("hallym_univ")
        assert response.status_code == 202
        assert response.json()["status"] == "deactivating"
        assert client.status("hallym_univ").json()["status"] == "deactivating"
        traveller.shift(2)
        status = client.status("hallym_univ").json()
    assert status["status"] == "deactivated"
    assert status["data_preserved"] is True
    assert status["reactivation_deadline"] == "2026-04-03T12:00:02Z"


def test_async_update_shows_updating_then_the_new_plan(start_vendor):
    _, client = start_vendor(asynchronous=True, async_seconds=1.0)
    with time_machine.travel(SEED_NOW, tick=False) as traveller:
        client.activate("hallym_univ")
        traveller.shift(2)
        assert client.update("hallym_univ").status_code == 202
        during = client.status("hallym_univ").json()
        traveller.shift(2)
        after = client.status("hallym_univ").json()
    assert (during["status"], during["plan"]) == ("updating", "premium")
    assert (after["status"], after["plan"]) == ("active", "standard")


def test_sync_vendor_never_answers_202(vendor):
    assert vendor.activate("hallym_univ").status_code == 200
    assert vendor.update("hallym_univ").status_code == 200
    assert vendor.deactivate("hallym_univ").status_code == 200


# -- user access and launch -----------------------------------------------------------------


def test_app_page_names_tenant_and_plan(vendor):
    vendor.activate("hallym_univ")
    page = vendor.session.get(vendor.base_url + "/app/hallym_univ")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "hallym_univ" in page.text
    assert "premium" in page.text
    assert "한림대학교" in page.text


def test_app_page_says_launched_when_given_a_launch_token(vendor):
    vendor.activate("hallym_univ")
    page = vendor.session.get(vendor.base_url + "/app/hallym_univ?launch_token=abc.def.ghi")
    assert page.status_code == 200
    assert "launched" in page.text
    assert "not verified" in page.text


def test_app_page_of_unknown_or_deactivated_tenant_is_refused(vendor):
    assert vendor.session.get(vendor.base_url + "/app/nobody").status_code == 404
    vendor.activate("hallym_univ")
    vendor.deactivate("hallym_univ")
    assert vendor.session.get(vendor.base_url + "/app/hallym_univ").status_code == 403


@pytest.fixture
def market_keys():
    """An RSA key and its JWKS served on 127.0.0.1, standing in for the market."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()

    class JwksHandler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(jwks)))
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), JwksHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"

    def issue(**overrides):
        now = int(time.time())
        claims = {
            "iss": "http://market.test",
            "aud": "reference_tutor",
            "sub": "user-7",
            "tenant_id": "hallym_univ",
            "role": "school_admin",
            "nonce": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 300,
            "token_use": "launch",
        }
        claims.update(overrides)
        return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": "k1"})

    yield url, issue
    server.shutdown()
    server.server_close()


def test_launch_token_signed_by_the_market_signs_the_user_in(start_vendor, market_keys):
    jwks_url, issue = market_keys
    _, client = start_vendor(launch_jwks_url=jwks_url, launch_issuer="http://market.test")
    client.activate("hallym_univ")
    token = issue()
    page = client.session.get(client.base_url + f"/app/hallym_univ?launch_token={token}")
    assert page.status_code == 200
    assert "launched as user-7 (school_admin)" in page.text
    replayed = client.session.get(client.base_url + f"/app/hallym_univ?launch_token={token}")
    assert replayed.status_code == 401
    assert "already used" in replayed.text


def test_launch_token_posted_in_a_form_body_signs_the_user_in(start_vendor, market_keys):
    """The market posts the launch token (never in a URL); the reference vendor accepts it."""
    jwks_url, issue = market_keys
    _, client = start_vendor(launch_jwks_url=jwks_url, launch_issuer="http://market.test")
    client.activate("hallym_univ")
    token = issue()
    page = client.session.post(
        client.base_url + "/app/hallym_univ", data={"launch_token": token}, timeout=10
    )
    assert page.status_code == 200
    assert "launched as user-7 (school_admin)" in page.text
    replayed = client.session.post(
        client.base_url + "/app/hallym_univ", data={"launch_token": token}, timeout=10
    )
    assert replayed.status_code == 401


@pytest.mark.parametrize(
    "claims,reason",
    [
        ({"aud": "another_service"}, "audience"),
        ({"iss": "http://evil.test"}, "issuer"),
        ({"tenant_id": "another_univ"}, "another tenant"),
        ({"exp": int(time.time()) - 60}, "expired"),
        ({"exp": int(time.time()) + 3600}, "5 minutes"),
        ({"token_use": "service"}, "not a launch token"),
    ],
)
def test_launch_token_that_does_not_check_out_is_refused(start_vendor, market_keys, claims, reason):
    jwks_url, issue = market_keys
    _, client = start_vendor(launch_jwks_url=jwks_url, launch_issuer="http://market.test")
    client.activate("hallym_univ")
    page = client.session.get(client.base_url + f"/app/hallym_univ?launch_token={issue(**claims)}")
    assert page.status_code == 401
    assert reason in page.text.lower()


def test_launch_token_signed_by_another_key_is_refused(start_vendor, market_keys):
    jwks_url, _ = market_keys
    _, client = start_vendor(launch_jwks_url=jwks_url)
    client.activate("hallym_univ")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    token = jwt.encode(
        {
            "aud": "reference_tutor",
            "sub": "u",
            "tenant_id": "hallym_univ",
            "role": "r",
            "nonce": "n",
            "exp": now + 60,
        },
        stranger,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    page = client.session.get(client.base_url + f"/app/hallym_univ?launch_token={token}")
    assert page.status_code == 401


# -- the command line -----------------------------------------------------------------------


def _start_cli(tmp_path, *args: str, env: dict[str, str] | None = None) -> tuple:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vendorkit.reference_vendor",
            "--port",
            "0",
            "--db",
            str(tmp_path / "cli.sqlite3"),
            *args,
        ],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready, _, _ = select.select([process.stderr], [], [], 10)
    if not ready:
        process.kill()
        pytest.fail("the reference vendor printed nothing within 10 s of starting")
    line = process.stderr.readline()
    assert "listening on http://127.0.0.1:" in line, line
    base_url = line.split("listening on ")[1].split()[0]
    return process, base_url


def _stop_cli(process) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return stderr


def test_cli_starts_takes_keys_from_the_environment_and_stops_on_sigterm(tmp_path):
    process, base_url = _start_cli(
        tmp_path,
        env={
            "REFERENCE_VENDOR_API_KEY": "env-key",
            "REFERENCE_VENDOR_SIGNING_SECRET": "env-secret",
        },
    )
    try:
        client = SignedClient(base_url, api_key="env-key", secrets=["env-secret"])
        assert client.session.get(base_url + "/mt/health").status_code == 200
        assert client.activate("hallym_univ").status_code == 200
        assert client.status("hallym_univ", api_key="dev-reference-api-key").status_code == 401
    finally:
        stderr = _stop_cli(process)
    assert process.returncode == 0
    assert "reference vendor stopped" in stderr
    assert '"POST /mt/tenant/hallym_univ/activate" 200' in stderr
    assert (tmp_path / "cli.sqlite3").exists()


def test_cli_redacts_launch_tokens_in_its_log(tmp_path):
    process, base_url = _start_cli(tmp_path)
    try:
        requests.get(base_url + "/app/x?launch_token=secret-token-value", timeout=10)
    finally:
        stderr = _stop_cli(process)
    assert "secret-token-value" not in stderr
    assert "launch_token=[redacted]" in stderr


def test_cli_finishes_a_request_in_flight_before_exiting(tmp_path):
    process, base_url = _start_cli(tmp_path, "--delay-ms", "700", "--quiet")
    try:
        result: dict = {}
        worker = threading.Thread(
            target=lambda: result.update(response=requests.get(base_url + "/mt/health", timeout=10))
        )
        worker.start()
        for _ in range(200):  # bounded wait until the vendor holds the request
            if requests.get(base_url + "/_stats", timeout=10).json()["in_flight"] == 1:
                break
            time.sleep(0.01)
        else:
            pytest.fail("the request never reached the vendor")
    finally:
        stderr = _stop_cli(process)
    worker.join(timeout=10)
    assert result["response"].status_code == 200
    assert process.returncode == 0
    assert "reference vendor stopped" in stderr


def test_cli_help_lists_every_option():
    output = subprocess.run(
        [sys.executable, "-m", "vendorkit.reference_vendor", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    for option in (
        "--port",
        "--host",
        "--api-key",
        "--signing-secret",
        "--db",
        "--delay-ms",
        "--async",
        "--retention-days",
        "--access-url-template",
    ):
        assert option in output


def test_a_stopped_vendor_closes_kept_alive_connections(start_vendor):
    server, client = start_vendor()
    host, port = _host_port(client.base_url)
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", "/mt/health")
        connection.getresponse().read()
        server.stop()
        server.stop()  # a second stop is harmless
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            connection.request("GET", "/mt/health")
            connection.getresponse().read()
    finally:
        connection.close()
