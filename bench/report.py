"""Figures, targets and the report: the table on stdout, JSON, and docs/performance.md.

A ``Figure`` is one measured number (or a check) with an optional ``Target``; its verdict is
PASS or FAIL against the target, or ``info`` without one. A benchmark's ``Result`` holds its
figures, the raw numbers behind them, notes, and - when it could not run - only the reason:
no figure is ever made up for a benchmark that did not measure it.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import analysis

OPERATORS = {
    "<=": lambda value, limit: value <= limit,
    ">=": lambda value, limit: value >= limit,
    "==": lambda value, limit: value == limit,
}


@dataclass(frozen=True)
class Target:
    op: str  # "<=", ">=", "=="
    limit: float | int | str
    text: str = ""  # how the target reads in the table, when not just "op limit"

    def met_by(self, value) -> bool:
        return OPERATORS[self.op](value, self.limit)

    def describe(self) -> str:
        if self.text:
            return self.text
        symbol = {"<=": "≤", ">=": "≥", "==": "="}[self.op]
        return f"{symbol} {_number(self.limit)}"


@dataclass
class Figure:
    name: str
    value: float | int | str
    unit: str = ""
    target: Target | None = None
    passed: bool | None = None  # None: computed from target (or info when there is none)
    detail: str = ""

    def verdict(self) -> str:
        passed = self.passed
        if passed is None and self.target is not None:
            passed = self.target.met_by(self.value)
        if passed is None:
            return "info"
        return "PASS" if passed else "FAIL"

    def shown_value(self) -> str:
        text = self.value if isinstance(self.value, str) else _number(self.value)
        return f"{text} {self.unit}".strip()

    def as_dict(self) -> dict:
        data = asdict(self)
        data["target"] = self.target.describe() if self.target else None
        data["verdict"] = self.verdict()
        return data


@dataclass
class Result:
    benchmark: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    raw: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str = ""  # set when the benchmark could not run: then there are no figures

    def add(self, *args, **kwargs) -> Figure:
        figure = Figure(*args, **kwargs)
        self.figures.append(figure)
        return figure

    @property
    def ran(self) -> bool:
        return not self.error

    def failures(self) -> list[Figure]:
        return [f for f in self.figures if f.verdict() == "FAIL"]

    def as_dict(self) -> dict:
        return {
            "benchmark": self.benchmark,
            "title": self.title,
            "error": self.error,
            "notes": self.notes,
            "figures": [figure.as_dict() for figure in self.figures],
            "raw": self.raw,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Result:
        figures = []
        for item in data.get("figures", []):
            target = None
            if item.get("target"):
                # A stored target keeps its verdict; only its text is needed to show it again.
                target = Target("==", 0, text=item["target"])
            figures.append(
                Figure(
                    name=item["name"],
                    value=item["value"],
                    unit=item.get("unit", ""),
                    target=target,
                    passed={"PASS": True, "FAIL": False}.get(item.get("verdict")),
                    detail=item.get("detail", ""),
                )
            )
        return cls(
            benchmark=data["benchmark"],
            title=data.get("title", data["benchmark"]),
            figures=figures,
            raw=data.get("raw", {}),
            notes=data.get("notes", []),
            error=data.get("error", ""),
        )


def _number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1000:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2f}".rstrip("0").rstrip(".")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]


# --- the machine ----------------------------------------------------------------------------


def machine() -> dict:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "cpu_model": cpu_model or platform.processor() or "unknown",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machine_line(info: dict) -> str:
    load = ", ".join(f"{value:.2f}" for value in info["load_average"])
    if info.get("load_average_at_start"):
        start = ", ".join(f"{value:.2f}" for value in info["load_average_at_start"])
        load = f"{start} at the start, {load} at the end"
    return (
        f"{info['cores']} cores, {info['memory_gib']} GiB, {info['cpu_model']}, "
        f"Python {info['python']}, load average (1, 5, 15 min) {load}, {info['date']}"
    )


# --- rendering ------------------------------------------------------------------------------


def _rows(result: Result) -> list[tuple[str, str, str, str]]:
    return [
        (figure.name, figure.shown_value(), figure.target.describe() if figure.target else "",
         figure.verdict())
        for figure in result.figures
    ]  # fmt: skip


def render_text(results: list[Result]) -> str:
    """The table printed on stdout: every figure beside its target and verdict."""
    lines = []
    width = max([len(f.name) for r in results for f in r.figures] + [40])
    for result in results:
        lines.append(f"\n== {result.title}")
        if not result.ran:
            lines.append(f"   COULD NOT RUN: {result.error}")
            continue
        lines.append(f"   {'figure':{width}}  {'value':>16}  {'target':>16}  verdict")
        for name, value, target, verdict in _rows(result):
            lines.append(f"   {name:{width}}  {value:>16}  {target:>16}  {verdict}")
        for note in result.notes:
            lines.append(f"   note: {note}")
    return "\n".join(lines) + "\n"


def render_markdown(results: list[Result], *, info: dict, command: str, seconds: float) -> str:
    failed = sum(len(r.failures()) for r in results)
    broken = [r for r in results if not r.ran]
    passed = sum(1 for r in results for f in r.figures if f.verdict() == "PASS")
    out = [
        "# Performance",
        "",
        f"Generated by `{command}` (`python -m bench`) in one run of {int(seconds)} s; do not edit "
        "by hand. Raw numbers: `var/bench/results.json`. How each figure is measured: "
        "`bench/` (module docstrings) and the notes under each table.",
        "",
        f"**Machine:** {machine_line(info)}.",
        "",
        f"**Summary:** {passed} PASS, {failed} FAIL"
        + (f", {len(broken)} benchmark(s) could not run" if broken else "")
        + ". Failures are shown as failures.",
        "",
    ]
    for result in results:
        out.append(f"## {result.title}")
        out.append("")
        if not result.ran:
            out.append(f"**Could not run:** {result.error}")
            out.append("")
            continue
        out.append("| figure | value | target | verdict |")
        out.append("|---|---:|---:|---|")
        for name, value, target, verdict in _rows(result):
            shown = f"**{verdict}**" if verdict == "FAIL" else verdict
            out.append(f"| {name} | {value} | {target or '—'} | {shown} |")
        out.append("")
        for note in result.notes:
            out.append(f"- {note}")
        if result.notes:
            out.append("")
    out.extend([analysis.METHOD, analysis.FINDINGS])
    return "\n".join(out)


def write_json(path: Path, results: list[Result], *, info: dict, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "machine": info,
        "seconds": round(seconds, 3),
        "benchmarks": [result.as_dict() for result in results],
    }
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def exit_code(results: list[Result]) -> int:
    """2 when a benchmark could not run, 1 when a figure missed its target, else 0."""
    if any(not r.ran for r in results):
        return 2
    if any(r.failures() for r in results):
        return 1
    return 0


def write_out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
