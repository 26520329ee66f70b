"""The founding document's step 5: an existing service (examples/keli_tutor) wrapped with
vendorkit.adapter passes the conformance kit's required checks, under Flask, Django
(gunicorn, WSGI) and Starlette (uvicorn, ASGI), each in its own process on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path

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
from tests.vendorkit.adapter_support import activate_body, market_headers

MANIFEST = EXAMPLES / "keli_tutor" / "manifest.yaml"
BIN = Path(sys.executable).parent


def commands(framework: str, port: int) -> tuple[list[str], Path]:
    if framework == "flask":
        command = [sys.executable, "-m", "flask", "--app", "tutor", "run", "--port", str(port)]
        return command, EXAMPLES / "keli_tutor"
    if framework == "django":
        command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--threads", "4"]
        return [*command, "django_site:application"], EXAMPLES / "frameworks"
    command = [sys.executable, "-m", "uvicorn", "--port", str(port), "--no-access-log"]
    return [*command, "starlette_app:app"], EXAMPLES / "frameworks"


@pytest.mark.parametrize("framework", ["flask", "django", "starlette"])
def test_wrapped_keli_tutor_passes_the_required_checks(framework, tmp_path):
    port = free_port()
    database = tmp_path / "keli.sqlite3"
    env = example_env(
        KELI_DB=str(database),
        KELI_BASE_URL=f"http://127.0.0.1:{port}",
        EXAMPLE_LOG=str(tmp_path / "server.log"),
    )
    command, cwd = commands(framework, port)
    with running(command, cwd=cwd, env=env, port=port) as base_url:
        exit_code, report = run_kit(base_url, MANIFEST)
        twins = identical_activations_at_once(base_url)
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert not failures(report), "\n\n".join(failures(report)) + "\n--- server log ---\n" + log
    assert exit_code == 0 and report["conformant"], report["summary"]
    assert "Traceback" not in log
    # The kit really went through the tutor's own tables, and its answers are kept by id.
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT COUNT(*) FROM vendorkit_idempotency").fetchone()[0] > 0
        assert db.execute("SELECT COUNT(*) FROM market WHERE purged = 1").fetchone()[0] >= 1
        schools = db.execute("SELECT COUNT(*) FROM schools WHERE slug = 'school/9'").fetchone()[0]
    # Two deliveries of one activation at the same moment, RFC 9421-signed over the raw path
    # /mt/tenant/school%2F9/activate: the same answer twice, one school, one admin.
    assert [status for status, _ in twins] == [200, 200], twins
    assert twins[0][1] == twins[1][1] and schools == 1


def identical_activations_at_once(base_url: str) -> list[tuple[int, bytes]]:
    url = f"{base_url}/mt/tenant/school%2F9/activate"
    payload = json.dumps(activate_body("school/9")).encode()
    headers = market_headers(
        "POST", url, payload, secrets=[SIGNING_SECRET], api_key=API_KEY,
        request_id=str(uuid.uuid4()), legacy=False,
    )  # fmt: skip
    barrier = threading.Barrier(2)
    answers: list[tuple[int, bytes]] = [(0, b""), (0, b"")]

    def send(index: int) -> None:
        request = urllib.request.Request(url, data=payload, headers=headers, method="POST")
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                answers[index] = (answer.status, answer.read())
        except urllib.error.HTTPError as refused:
            answers[index] = (refused.code, refused.read())

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers
