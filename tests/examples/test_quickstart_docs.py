"""docs/standard/quickstart.md stays true: the code it shows is the example's code, the diff it
shows is the wrap commit's, and the standard's README links it."""

from __future__ import annotations

import re

from tests.examples.servers import EXAMPLES, REPO_ROOT

QUICKSTART = REPO_ROOT / "docs" / "standard" / "quickstart.md"


def blocks(language: str) -> list[str]:
    text = QUICKSTART.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_the_quickstart_shows_the_examples_market_functions_verbatim():
    market_api = (EXAMPLES / "keli_tutor" / "market_api.py").read_text(encoding="utf-8")
    assert market_api in blocks("python")


def test_the_quickstart_diff_is_what_tutor_py_gained():
    (diff,) = blocks("diff")
    added = [line[1:] for line in diff.splitlines() if line.startswith("+")]
    tutor = (EXAMPLES / "keli_tutor" / "tutor.py").read_text(encoding="utf-8")
    assert len(added) == 7 and "\n".join(added) in tutor


def test_the_quickstart_has_its_measured_times_and_is_linked():
    text = QUICKSTART.read_text(encoding="utf-8")
    rows = re.findall(r"^\| [1-7] \|.*\| (\d+ s)", text, flags=re.MULTILINE)
    assert len(rows) == 7, "one measured time per step"
    readme = (REPO_ROOT / "docs" / "standard" / "README.md").read_text(encoding="utf-8")
    assert "(quickstart.md)" in readme
