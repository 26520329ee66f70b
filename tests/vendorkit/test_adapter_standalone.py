"""vendorkit.adapter stands on its own: copied out of this repository it imports and answers
with only the standard library and http-message-signatures, and loads nothing of the market."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.vendorkit.conftest import REPO_ROOT

PROBE = """
import sys
sys.path[:] = [sys.argv[1], sys.argv[2]] + [p for p in sys.path if "python3" in p and "site-packages" not in p]
from vendorkit.adapter import HttpRequest, StandardAdapter
adapter = StandardAdapter(activate=print, deactivate=print, status=lambda t: None, usage=print,
                          api_keys=["k"], signing_secrets=["s"])
answer = adapter.handle(HttpRequest(method="GET", path="/mt/health"))
assert answer.status == 200, answer
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(" ".join(loaded))
"""


def test_the_adapter_imports_nothing_from_the_market(tmp_path):
    shutil.copytree(REPO_ROOT / "vendorkit", tmp_path / "vendorkit")
    site = sysconfig.get_paths()["purelib"]
    # Only http-message-signatures and its parser from the shared site-packages, nothing else.
    deps = tmp_path / "deps"
    deps.mkdir()
    for name in ("http_message_signatures", "http_sf"):
        shutil.copytree(Path(site) / name, deps / name)
    completed = subprocess.run(
        [sys.executable, "-I", "-c", PROBE, str(tmp_path), str(deps)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    loaded = set(completed.stdout.split())
    assert "vendorkit" in loaded
    assert not loaded & {"market", "services", "tenants", "monitoring", "django", "rest_framework"}


def _package_dirs() -> set[str]:
    root = REPO_ROOT / "vendorkit"
    return {
        ".".join(("vendorkit", *path.parent.relative_to(root).parts))
        for path in root.rglob("__init__.py")
        if "__pycache__" not in path.parts
    }


def test_the_vendorkit_distribution_lists_every_package():
    import tomllib

    config = tomllib.loads((REPO_ROOT / "vendorkit" / "pyproject.toml").read_text())
    assert set(config["tool"]["setuptools"]["packages"]) == _package_dirs()
    assert config["project"]["dependencies"] == ["http-message-signatures>=3.0,<4"]


def test_vendorkit_builds_and_installs_as_its_own_wheel(tmp_path):
    """pip builds the wheel from a copy (a build writes build/ beside the sources) and the
    installed package answers a request."""
    source = tmp_path / "vendorkit"
    shutil.copytree(REPO_ROOT / "vendorkit", source, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if built.returncode != 0 and "connection" in built.stderr.lower():
        pytest.skip(f"pip could not fetch setuptools for the build: {built.stderr[-300:]}")
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("service_market_vendorkit-*.whl")
    installed = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(installed), str(wheel)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert (installed / "vendorkit" / "reference_manifest.yaml").exists()
    deps = tmp_path / "deps"
    site = sysconfig.get_paths()["purelib"]
    for name in ("http_message_signatures", "http_sf"):
        shutil.copytree(Path(site) / name, deps / name)
    completed = subprocess.run(
        [sys.executable, "-I", "-c", PROBE, str(installed), str(deps)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
