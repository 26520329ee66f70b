"""Start an example vendor as its own process on 127.0.0.1 and run the conformance kit at it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"
API_KEY = "example-api-key"
SIGNING_SECRET = "whsec_" + "ZXhhbXBsZS1zaWduaW5nLXNlY3JldC0zMi1ieXRlcyE="


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def example_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(EXAMPLES / "keli_tutor"), str(REPO_ROOT), env.get("PYTHONPATH", "")]
    )
    env.update({"MARKET_API_KEY": API_KEY, "MARKET_SIGNING_SECRET": SIGNING_SECRET, **extra})
    return env


@contextmanager
def running(command: list[str], *, cwd: Path, env: dict[str, str], port: int) -> Iterator[str]:
    """Run ``command`` until /mt/health answers; yield the base URL; stop it afterwards."""
    base_url = f"http://127.0.0.1:{port}"
    log = open(Path(env.get("EXAMPLE_LOG", os.devnull)), "wb")  # noqa: SIM115
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"{command[0]} exited with {process.returncode}; see {log.name}"
                )
            try:
                with urllib.request.urlopen(base_url + "/mt/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{command} did not answer /mt/health in 30 s") from None
                time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def run_kit(base_url: str, manifest: Path) -> tuple[int, dict]:
    """``python -m vendorkit.conformance`` exactly as a vendor runs it; (exit code, report)."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "vendorkit.conformance",
            "--base-url",
            base_url,
            "--manifest",
            str(manifest),
            "--json",
        ],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "CONFORMANCE_API_KEY": API_KEY,
            "CONFORMANCE_SIGNING_SECRET": SIGNING_SECRET,
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    try:
        report = json.loads(completed.stdout)
    except ValueError:
        raise AssertionError(
            f"the kit printed no JSON report (exit {completed.returncode}): {completed.stderr}"
        ) from None
    return completed.returncode, report


def failures(report: dict) -> list[str]:
    """Required checks that did not pass, with the kit's reason."""
    return [
        f"{result['id']}: {result['detail']}\n{result['request']}\n{result['response']}"
        for result in report["results"]
        if result["required"] and result["outcome"] == "FAIL"
    ]
