"""Only the vendor-client package may talk to the network: no other market module imports an
HTTP client or opens sockets, so every vendor call passes the guard, the bounds and signing."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKET_PACKAGES = ("market", "services", "tenants", "monitoring")
NETWORK_MODULES = {
    "requests",
    "aiohttp",
    "httptools",
    "httpx",
    "urllib3",
    "http.client",
    "urllib.request",
    "socket",
}
ALLOWED = {ROOT / "services" / "vendor_client"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offends(module: str) -> bool:
    return any(module == bad or module.startswith(bad + ".") for bad in NETWORK_MODULES)


def test_no_market_module_outside_the_vendor_client_imports_a_network_library():
    offenders = []
    for package in MARKET_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if any(allowed in path.parents for allowed in ALLOWED) or "migrations" in path.parts:
                continue
            bad = sorted(m for m in imported_modules(path) if offends(m))
            if bad:
                offenders.append(f"{path.relative_to(ROOT)}: {', '.join(bad)}")
    assert offenders == []


def test_the_check_would_catch_an_offender(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import requests\nfrom urllib.request import urlopen\n")
    assert {m for m in imported_modules(sample) if offends(m)} == {"requests", "urllib.request"}
