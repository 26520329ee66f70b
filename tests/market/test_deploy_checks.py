"""`manage.py check --deploy` is clean under production settings, and refuses dev allowlists."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]


def production_env(**overrides):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "MARKET_JWT_PRIVATE_KEY": pem,
        "ALLOWED_HOSTS": "market.example",
        "VENDOR_ALLOWED_PRIVATE_HOSTS": "",
        "VENDOR_HTTP_ALLOWED_HOSTS": "",
    }
    env.update(overrides)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests for their own process
    return env


def check_deploy(env):
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_check_deploy_reports_no_issues_under_production_settings():
    result = check_deploy(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_when_the_private_address_allowlist_is_set():
    result = check_deploy(production_env(VENDOR_ALLOWED_PRIVATE_HOSTS="127.0.0.1:9001"))
    assert result.returncode != 0
    assert "VENDOR_ALLOWED_PRIVATE_HOSTS" in result.stdout + result.stderr
