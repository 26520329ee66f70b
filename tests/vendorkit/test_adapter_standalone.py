"""vendorkit.adapter stands on its own: copied out of this repository it imports and answers
with only the standard library and http-message-signatures, and loads nothing of the market."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

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
