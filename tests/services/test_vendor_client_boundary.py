"""Only the outbound packages may talk to the network: no other market module imports an HTTP
client or opens sockets, so every outbound call passes the guard, the bounds and signing.

``market/lib/outbound`` is the guarded foundation (guard, transport, the generic ``request``);
``services/vendor_client`` is the vendor client and the prober built on it. Every other app of
the market (a new one included: every top-level package but the kit, the benchmarks and the
tests) must call out through them."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_MARKET = {"vendorkit", "bench", "tests"}
MARKET_PACKAGES = sorted(
    path.parent.name
    for path in ROOT.glob("*/__init__.py")
    if path.parent.name not in NOT_MARKET and not path.parent.name.startswith(".")
)
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
ALLOWED = {ROOT / "market" / "lib" / "outbound", ROOT / "services" / "vendor_client"}


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


def test_the_check_covers_every_app_of_the_market():
    assert {"market", "services", "tenants", "monitoring"} <= set(MARKET_PACKAGES)


def test_the_check_would_catch_an_offender(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import requests\nfrom urllib.request import urlopen\n")
    assert {m for m in imported_modules(sample) if offends(m)} == {"requests", "urllib.request"}
