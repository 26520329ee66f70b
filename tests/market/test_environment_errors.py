"""A malformed environment fails at start with one clear line, not a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, **env_overrides):
    env = {**os.environ, **env_overrides}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL='mysql://x' is not a supported URL"),
        ("CELERY_BROKER_URL", "amqp://x", "CELERY_BROKER_URL='amqp://x' is not a supported URL"),
        ("EMAIL_BACKEND", "pigeon", "EMAIL_BACKEND='pigeon' is not one of"),
        ("EMAIL_PORT", "twenty-five", "EMAIL_PORT='twenty-five' is not a whole number"),
    ],
)
def test_bad_variable_fails_with_one_line_naming_it(variable, value, expected):
    result = run_manage("check", **{variable: value})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Configuration error: {result.stderr.split(': ', 1)[1].strip()}"
    ]
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_key_is_required_when_debug_is_off():
    result = run_manage("check", DEBUG="false", SECRET_KEY="")
    assert result.returncode == 2
    assert "SECRET_KEY is required" in result.stderr
    assert "Traceback" not in result.stderr


def test_defaults_need_nothing_installed():
    result = run_manage("check")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
