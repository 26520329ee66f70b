"""One settings surface: every variable the market reads goes through market/lib/env.py and is
listed in the README's Configuration table, and the table lists nothing the market ignores."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("market", "services", "tenants", "monitoring", "portal")
ENV_READERS = {"env_str", "env_bool", "env_int", "env_list", "env_url", "env_choice"}


def _python_files():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _variables_read(path: Path) -> set[str]:
    """Names passed to an env_* reader in this file: a string literal, or a module constant."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    names = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if called not in ENV_READERS:
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
        elif isinstance(first, ast.Name) and first.id in constants:
            names.add(constants[first.id])
        else:
            raise AssertionError(f"{path.relative_to(ROOT)}:{node.lineno}: name the variable")
    return names


def _read_by_the_market() -> set[str]:
    names = set()
    for path in _python_files():
        names |= _variables_read(path)
    return names


def _readme_table() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def test_the_settings_module_reads_its_variables_through_env_helpers():
    settings_reads = _variables_read(ROOT / "market" / "settings.py")
    # A sample that must be there, so a parser that finds nothing cannot pass.
    assert {"DATABASE_URL", "VENDOR_MAX_CONCURRENT_CALLS", "USAGE_CHUNK_SIZE"} <= settings_reads


def test_every_variable_read_is_in_the_readme_configuration_table():
    missing = _read_by_the_market() - _readme_table()
    assert not missing, f"add to README.md, Configuration: {sorted(missing)}"


def test_every_variable_in_the_readme_configuration_table_is_read():
    unread = _readme_table() - _read_by_the_market()
    assert not unread, f"README.md lists variables nothing reads: {sorted(unread)}"


def test_nothing_reads_the_environment_around_market_lib_env():
    allowed = {
        # Which settings module to load is not a setting.
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE"',
        'os.environ.get("DJANGO_SETTINGS_MODULE")',
    }
    pattern = re.compile(
        r"os\.environ(?:\.get|\.setdefault)?\(\"?[A-Z_]*\"?\)?|os\.getenv\(|os\.environ\["
    )
    offenders = []
    for path in _python_files():
        if path == ROOT / "market" / "lib" / "env.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in pattern.finditer(line):
                if not any(line[match.start() :].startswith(ok) for ok in allowed):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "read it through market/lib/env.py:\n" + "\n".join(offenders)


def test_no_setting_is_read_with_a_second_default():
    """getattr(settings, NAME, default) writes a default again; settings.py holds the one."""
    pattern = re.compile(r"getattr\(\s*settings\s*,\s*\"([A-Z_]+)\"\s*,\s*(\(\)|[^)]+)\)")
    defined = set(
        re.findall(r"^([A-Z][A-Z0-9_]*)\s*=", (ROOT / "market" / "settings.py").read_text(), re.M)
    )
    doubled = []
    for path in _python_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for name, default in pattern.findall(line):
                if name in defined and default.strip() not in {"None", '""', "()", "[]"}:
                    doubled.append(f"{path.relative_to(ROOT)}:{number}: {name} = {default}")
    assert not doubled, "read settings.NAME instead:\n" + "\n".join(doubled)
