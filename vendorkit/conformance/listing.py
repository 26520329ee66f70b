"""The list of checks, from the catalogue: as text, JSON, or the Markdown of
``docs/standard/conformance.md`` (``python -m vendorkit.conformance --list-checks --format
markdown``). The documentation's list is generated, never written by hand; a test fails when it
is stale, and ``--write docs/standard/conformance.md`` brings it up to date."""

from __future__ import annotations

import json
from pathlib import Path

from vendorkit.conformance.catalogue import (
    CATALOGUE,
    FOUNDING,
    SIGNING,
    STANDARD,
    CheckSpec,
    Source,
)
from vendorkit.conformance.report import EXIT_CODES

BEGIN_MARK = "<!-- BEGIN GENERATED CHECKS: python -m vendorkit.conformance --list-checks --format markdown -->"
END_MARK = "<!-- END GENERATED CHECKS -->"

# The standard's README section anchors, as GitHub renders "## 3.5 Usage: `GET ...`".
_STANDARD_ANCHORS = {
    "1": "1-conventions",
    "2": "2-every-request-from-the-market",
    "3.3": "33-deactivate-post-mttenanttenant_iddeactivate",
    "3.4": "34-status-get-mttenanttenant_idstatus",
    "3.5": "35-usage-get-mttenanttenant_idusageperiodmonthlymonth2026-01",
    "3.6": "36-update-post-mttenanttenant_idupdate",
    "3.7": "37-delete-purge-post-mttenanttenant_iddelete",
    "4": "4-errors",
    "5": "5-idempotency-x-market-request-id",
}


_SIGNING_ANCHORS = {"Verifying": "verifying-what-a-vendor-must-do"}


def _source_markdown(source: Source) -> str:
    if source.document == STANDARD:
        number = source.section.split(" ", 1)[0]
        anchor = _STANDARD_ANCHORS.get(number)
        text = f"standard §{source.section}"
        return f"[{text}](README.md#{anchor})" if anchor else text
    if source.document == SIGNING:
        anchor = _SIGNING_ANCHORS.get(source.section)
        target = f"signing.md#{anchor}" if anchor else "signing.md"
        return f"[signing: {source.section}]({target})"
    if source.document == FOUNDING:
        return f"founding document §{source.section}"
    return str(source)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def checks_markdown() -> str:
    """The generated block: a count, then one table per group, every check with level and source."""
    required = sum(1 for spec in CATALOGUE if spec.required)
    lines = [
        BEGIN_MARK,
        "",
        f"{len(CATALOGUE)} checks: {required} required, {len(CATALOGUE) - required} recommended.",
    ]
    groups: dict[str, list[CheckSpec]] = {}
    for spec in CATALOGUE:
        groups.setdefault(spec.group, []).append(spec)
    for group, specs in groups.items():
        lines += [
            "",
            f"### {group}",
            "",
            "| id | level | what it checks | source |",
            "|---|---|---|---|",
        ]
        for spec in specs:
            level = "**required**" if spec.required else "recommended"
            sources = "; ".join(_source_markdown(source) for source in spec.sources)
            lines.append(
                f"| `{spec.id}` | {level} | {_cell(spec.doc or spec.title)} | {_cell(sources)} |"
            )
    lines += ["", "Exit status:", "", "| code | meaning |", "|---|---|"]
    lines += [f"| `{code}` | {meaning} |" for code, meaning in EXIT_CODES.items()]
    lines += ["", END_MARK]
    return "\n".join(lines) + "\n"


def checks_text() -> str:
    return "\n".join(
        f"{spec.id:<34} {spec.level:<12} {spec.title}  [{spec.source}]" for spec in CATALOGUE
    )


def checks_json() -> str:
    return json.dumps(
        [
            {
                "id": spec.id,
                "title": spec.title,
                "level": spec.level,
                "source": spec.source,
                "group": spec.group,
            }
            for spec in CATALOGUE
        ],
        indent=2,
        ensure_ascii=False,
    )


def generated_block(text: str) -> str | None:
    """The generated block in a document's text (marks included), or None."""
    start = text.find(BEGIN_MARK)
    end = text.find(END_MARK)
    if start < 0 or end < start:
        return None
    return text[start : end + len(END_MARK)] + "\n"


def write_into(path: str | Path) -> bool:
    """Replace the generated block in ``path``; True when the file changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    current = generated_block(text)
    if current is None:
        raise ValueError(f"{path} has no '{BEGIN_MARK}' ... '{END_MARK}' block to replace")
    fresh = checks_markdown()
    if current == fresh:
        return False
    path.write_text(text.replace(current, fresh), encoding="utf-8")
    return True
