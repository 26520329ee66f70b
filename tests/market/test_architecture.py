"""The layers are a contract (import-linter, run by `make lint`), and docs/architecture.md is true.

The doc names, per capability, the one module where it lives; every such name must import.
"""

import importlib
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "importlinter"
]
PACKAGES = tuple(CONTRACT["root_packages"])

# A dotted name in backticks whose first part is one of the market's packages.
MODULE_NAME = re.compile(r"`((?:" + "|".join(PACKAGES) + r")(?:\.[a-z_][a-z0-9_]*)*)`")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    # import-linter is a dev dependency (make test installs it): missing, the proof fails.
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: pip install -e '.[dev]'"
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "pyproject.toml"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path):
    """A copy of the market's packages and its contract, to break without touching the checkout."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contract_holds_and_an_added_upward_import_breaks_it(tree):
    kept = lint_imports(tree)
    assert kept.returncode == 0, kept.stdout + kept.stderr

    (tree / "services" / "upward.py").write_text("import monitoring.models  # noqa\n")
    broken = lint_imports(tree)
    assert broken.returncode == 1
    assert "services is not allowed to import monitoring" in broken.stdout
    assert "services.upward -> monitoring.models" in broken.stdout


def test_vendorkit_importing_the_market_breaks_the_contract(tree):
    (tree / "vendorkit" / "leak.py").write_text("from market.lib import env  # noqa\n")
    broken = lint_imports(tree)
    assert broken.returncode == 1
    assert "vendorkit.leak -> market.lib" in broken.stdout


def test_a_cycle_inside_an_app_breaks_the_contract(tree):
    (tree / "monitoring" / "models.py").write_text(
        (tree / "monitoring" / "models.py").read_text() + "\nimport monitoring.views  # noqa\n"
    )
    broken = lint_imports(tree)
    assert broken.returncode == 1
    assert "No cycles are allowed in monitoring" in broken.stdout


def named_modules() -> list[str]:
    return sorted(set(MODULE_NAME.findall(DOC.read_text(encoding="utf-8"))))


def test_the_architecture_doc_names_modules():
    assert len(named_modules()) >= 20, "docs/architecture.md lost its per-capability modules"


@pytest.mark.parametrize("name", named_modules())
def test_every_module_the_architecture_doc_names_exists(name):
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        # `package.module.attribute`: the module must exist and hold the attribute.
        module_name, _, attribute = name.rpartition(".")
        module = importlib.import_module(module_name)
        assert hasattr(module, attribute), f"{module_name} has no {attribute}"
