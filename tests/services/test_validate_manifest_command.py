"""`manage.py validate_manifest`: exit 0 with `valid`, 1 with one line per error, 2 when unreadable."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, ManagementUtility, call_command

from tests.services.test_manifest_validation import SEED_MANIFEST_EN, SEED_MANIFEST_KO

REPO_ROOT = Path(__file__).resolve().parents[2]

INVALID_MANIFEST = SEED_MANIFEST_EN.replace('  name: "KELI TUTOR"\n', "").replace(
    '  type: "api_key"', '  type: "apikey"'
)


@pytest.fixture
def seed_file(tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_text(SEED_MANIFEST_KO, encoding="utf-8")
    return path


@pytest.fixture
def invalid_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(INVALID_MANIFEST, encoding="utf-8")
    return path


def run(*args) -> tuple[int, str]:
    """Call the command in-process; return (exit code, stdout)."""
    out = io.StringIO()
    try:
        call_command("validate_manifest", *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    except CommandError as error:
        return error.returncode, str(error)
    return 0, out.getvalue()


def test_valid_manifest_prints_exactly_valid(seed_file):
    assert run(str(seed_file)) == (0, "valid\n")


def test_invalid_manifest_prints_one_line_per_error_and_exits_1(invalid_file):
    code, output = run(str(invalid_file))

    assert code == 1
    assert output.splitlines() == [
        "/service/name: `/service/name` is missing: add the service's display name, "
        'e.g. name: "KELI TUTOR" (line 2)',
        '/auth/type: `/auth/type` must be one of api_key, oauth2, jwt; found "apikey": '
        "did you mean api_key? (line 19)",
    ]


def test_korean_messages_with_lang_ko(invalid_file):
    code, output = run(str(invalid_file), "--lang", "ko")

    lines = output.splitlines()
    assert code == 1
    assert len(lines) == 2
    assert lines[0].startswith("/service/name: `/service/name` 항목이 없습니다.")
    assert lines[0].endswith("(line 2)")


def test_json_output_lists_errors(invalid_file):
    code, output = run(str(invalid_file), "--json")

    errors = json.loads(output)
    assert code == 1
    assert [error["pointer"] for error in errors] == ["/service/name", "/auth/type"]
    assert set(errors[0]) == {"pointer", "message", "message_ko", "line"}
    assert errors[1]["line"] == 19


def test_json_output_for_a_valid_manifest_is_an_empty_list(seed_file):
    assert run(str(seed_file), "--json") == (0, "[]\n")


def test_unreadable_file_exits_2_with_one_line(tmp_path):
    missing = tmp_path / "missing.yaml"

    code, message = run(str(missing))

    assert code == 2
    assert message == f"cannot read {missing}: No such file or directory"


def test_directory_is_unreadable(tmp_path):
    code, message = run(str(tmp_path))

    assert code == 2
    assert message.startswith(f"cannot read {tmp_path}:")


def test_dash_reads_standard_input(monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(SEED_MANIFEST_KO.encode("utf-8")), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)

    assert run("-") == (0, "valid\n")


def test_non_utf8_file_is_a_validation_error_not_a_read_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(SEED_MANIFEST_EN.replace("KELI TUTOR", "KELI TUTÉUR").encode("latin-1"))

    code, output = run(str(path))

    assert code == 1
    assert "not UTF-8" in output


def run_argv(*args, capsys) -> tuple[int, str, str]:
    """Run as `manage.py validate_manifest ...` does (argv parsing, exit codes), in-process."""
    utility = ManagementUtility(["manage.py", "validate_manifest", *args])
    try:
        utility.execute()
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_command_line_exit_codes_and_streams(seed_file, invalid_file, tmp_path, capsys):
    valid = run_argv(str(seed_file), capsys=capsys)
    invalid = run_argv(str(invalid_file), capsys=capsys)
    unreadable = run_argv(str(tmp_path / "missing.yaml"), capsys=capsys)

    assert valid == (0, "valid\n", "")
    assert invalid[0] == 1
    assert len(invalid[1].splitlines()) == 2
    assert invalid[2] == ""
    assert unreadable[0] == 2
    assert unreadable[1] == ""
    assert unreadable[2].strip().splitlines() == [
        f"CommandError: cannot read {tmp_path / 'missing.yaml'}: No such file or directory"
    ]


def test_manage_py_runs_the_command(invalid_file):
    result = subprocess.run(
        [sys.executable, "manage.py", "validate_manifest", str(invalid_file), "--lang", "ko"],
        cwd=REPO_ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "market.settings"},
        capture_output=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert result.stdout.decode("utf-8").splitlines()[0].startswith("/service/name: ")
    assert "항목이 없습니다" in result.stdout.decode("utf-8")
