"""``python -m bench``: the Service Market's benchmarks, each figure beside its target.

    python -m bench                          every benchmark (``make bench``): table, JSON,
                                             docs/performance.md; under 20 minutes
    python -m bench sweep --size 10000       ours vs. the blackbox exporter at one size
    python -m bench exporter --size 10000    the exporter alone
    python -m bench activation --size 1000   bulk activation against a 200 ms vendor, cap 20
    python -m bench usage --size 10000       the month's usage collection and the billing run
    python -m bench pages --size 2000        pages and API lists at N and 10 x N tenants
    python -m bench webhooks                 10,000 events to 100 endpoints answering in 50 ms
    python -m bench bulkhead                 a neighbour's activation p50/p95 while another
                                             vendor hangs, beside its unloaded baseline
    python -m bench engine --endpoints 10000 the sweep engine alone, in-process (no worker)
    python -m bench report                   docs/performance.md again from the last run's
                                             var/bench/results.json (measures nothing)

Exit status: 0 when every figure met its target, 1 when one missed it, 2 when a benchmark could
not run (its peer, stubs, worker or database did not start; it then prints why and no figure).
Nothing here runs in the test suite; the tests (tests/bench/) check the plumbing, never time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from bench import report
from bench.procs import Children, PeerError, terminate_as_exception

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BUDGET_SECONDS = 1200
# What ``make bench`` runs, in order, with a time cap each (the whole run stays under 20 min).
# A run took 450-500 s on the 2-core machine before the webhook fan-out (about 120-330 s,
# depending on the machine's load) and the bulkhead scenario (about 90 s) joined; the caps
# leave room for a slower one.
# The production configuration by default: PostgreSQL, the README's worker layout, the
# exporter's 200 probes in flight; then the beat's own arguments, and one SQLite row, labelled.
PLAN = [
    ("sweep", ["--size", "1000", "--rounds", "3"], 100),
    ("sweep", ["--size", "10000", "--rounds", "2"], 170),
    ("sweep", ["--size", "10000", "--rounds", "1", "--beat-args", "--no-exporter"], 120),
    ("sweep", ["--size", "10000", "--rounds", "1", "--database", "sqlite"], 120),
    ("activation", ["--size", "1000"], 200),
    ("usage", ["--size", "10000"], 170),
    ("pages", ["--size", "2000"], 180),
    ("webhooks", ["--events", "10000", "--endpoints", "100"], 340),
    ("bulkhead", [], 150),
]
ENGINE_FLAGS = ("--endpoints", "--no-db", "--workers", "--database-url", "--total-timeout",
                "--concurrency")  # fmt: skip


def _modules() -> dict:
    from bench import activation, bulkhead, pages, sweep, usage, webhooks

    return {"sweep": sweep, "exporter": sweep, "activation": activation, "usage": usage,
            "pages": pages, "webhooks": webhooks, "bulkhead": bulkhead}  # fmt: skip


def _add_engine_arguments(parser: argparse.ArgumentParser, *, legacy: bool) -> None:
    """The in-process engine's options (``engine``; on ``sweep`` they select the engine)."""
    hidden = argparse.SUPPRESS if legacy else None

    def add(*names, **kwargs):
        if legacy:
            kwargs["help"] = hidden
        parser.add_argument(*names, **kwargs)

    add("--endpoints", type=int, default=None, help="stub vendors (10000)")
    add("--workers", type=int, default=1, help="chunks probed at the same time (1)")
    add("--concurrency", type=int, default=None, help="probe_all concurrency per chunk")
    add("--total-timeout", type=float, default=5.0, help="per-probe deadline in seconds (5)")
    add("--no-db", action="store_true", help="measure probe_all only, skip the database run")
    add("--database-url", default="", help="database (default: SQLite under var/bench/)")
    if not legacy:
        add("--delay-ms", type=float, default=50, help="answer delay of each (50)")
        add("--ports", type=int, default=8, help="loopback ports they share (8)")
        add("--hang-percent", type=float, default=0, help="share that never answers (0)")
        add("--chunk-size", type=int, default=500, help="services per chunk (500)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    commands = parser.add_subparsers(dest="command")
    modules = _modules()
    for name in ("sweep", "exporter", "activation", "usage", "pages", "webhooks", "bulkhead"):
        module = modules[name]
        sub = commands.add_parser(name, help=module.TITLE)
        module.add_arguments(sub)
        sub.add_argument("--json", type=Path, default=None, help="write the result here")
        if name == "sweep":
            _add_engine_arguments(sub, legacy=True)
    commands.add_parser("report", help="docs/performance.md again from var/bench/results.json")
    engine = commands.add_parser("engine", help="the sweep engine alone, in-process")
    _add_engine_arguments(engine, legacy=False)
    return parser


def _run_engine(args, arguments: list[str]) -> int:
    """The monitoring helper's original in-process measurement (``bench.engine``)."""
    from bench import engine

    args.endpoints = args.endpoints or getattr(args, "size", None) or 10_000
    if not any(a.startswith("--hang-percent") for a in arguments):
        args.hang_percent = 0  # the engine's default; the sweep benchmark's is 1
    args.chunk_size = args.chunk_size or 500
    for name in ("endpoints", "ports", "chunk_size", "workers"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1")
    return engine.run(args)


def run_benchmark(name: str, args, *, on_measured=None) -> report.Result:
    """Run one benchmark in this process; never raises, a failure is the result's error.

    ``on_measured(result)`` runs as soon as the figures are in, before the children are
    stopped, so a slow teardown cannot lose them.
    """
    module = _modules()[name]
    result = report.Result(benchmark=name, title=module.TITLE)
    if name == "exporter":
        args.exporter_only = True
    out = sys.stdout
    with terminate_as_exception():
        try:
            with Children() as children:
                module.measure(args, result, children, out)
                if on_measured is not None:
                    on_measured(result)
        except PeerError as error:
            result.error = str(error)
        except KeyboardInterrupt as error:
            result.error = f"interrupted ({error or 'Ctrl-C'})"
        except Exception as error:  # a bug: say so plainly, with the traceback on stderr
            traceback.print_exc()
            result.error = f"{type(error).__name__}: {error}"
    if result.error:
        result.figures.clear()  # never show a figure of a benchmark that did not finish
    return result


def main_one(name: str, args) -> int:
    path = args.json or report_dir() / f"{name}.json"

    def save(result: report.Result) -> None:
        report.write_json(path, [result], info=report.machine(), seconds=0)

    result = run_benchmark(name, args, on_measured=save)
    report.write_out(report.render_text([result]))
    if result.error:
        sys.stderr.write(f"{name}: could not run: {result.error}\n")
    save(result)
    return report.exit_code([result])


def report_dir() -> Path:
    return Path(os.environ.get("MARKET_VAR_DIR", ROOT / "var" / "bench"))


# --- everything: make bench ------------------------------------------------------------------


def _run_part(name: str, argv: list[str], *, cap: float, json_path: Path) -> report.Result:
    """One benchmark in a process group of its own, killed whole when it ends or overruns."""
    json_path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench", name, *argv, "--json", str(json_path)]
    sys.stdout.write(f"\n### python -m bench {name} {' '.join(argv)}  (at most {cap:.0f} s)\n")
    sys.stdout.flush()
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True)  # noqa: S603
    error = ""
    try:
        process.wait(timeout=cap)
    except subprocess.TimeoutExpired:
        error = f"did not finish within its {cap:.0f} s share of the budget"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    finally:
        # Whatever the benchmark left in its group (workers, stubs, the exporter) ends here.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if json_path.exists():
        # Written as soon as the figures were in: a teardown that overran loses nothing.
        result = report.Result.from_dict(json.loads(json_path.read_text())["benchmarks"][0])
        if error and result.ran:
            result.notes.append(f"stopping its processes overran: {error}")
        elif error:
            result.error = error
        return result
    module = _modules()[name]
    return report.Result(
        benchmark=name,
        title=module.TITLE,
        error=error or f"exited with status {process.returncode} without a result",
    )


def main_all(*, plan=None, doc: Path = DOC, budget: float = BUDGET_SECONDS) -> int:
    """Run ``plan`` (default ``PLAN``), print the table, write the JSON and ``doc``."""
    plan = PLAN if plan is None else plan
    started = time.monotonic()
    info_before = report.machine()
    parts_dir = report_dir() / "parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    results: list[report.Result] = []
    try:
        for index, (name, argv, cap) in enumerate(plan):
            left = budget - (time.monotonic() - started) - 10
            if left < 30:
                results.append(
                    report.Result(
                        benchmark=name,
                        title=_modules()[name].TITLE,
                        error="no time left in the budget",
                    )  # fmt: skip
                )
                continue
            json_path = parts_dir / f"{index}-{name}.json"
            results.append(_run_part(name, argv, cap=min(cap, left), json_path=json_path))
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: the running benchmark's processes were stopped\n")
        return 2
    seconds = time.monotonic() - started
    info = report.machine()
    info["load_average_at_start"] = info_before["load_average"]
    report.write_out("\n# Results\n" + report.render_text(results))
    report.write_json(report_dir() / "results.json", results, info=info, seconds=seconds)
    doc.write_text(
        report.render_markdown(results, info=info, command="make bench", seconds=seconds) + "\n"
    )
    report.write_out(
        f"\n{report.machine_line(info)}\nfinished in {int(seconds)} s; wrote "
        f"{report_dir() / 'results.json'} and {doc}\n"
    )
    return report.exit_code(results)


def main_report(*, doc: Path = DOC) -> int:
    """Render ``doc`` again from the last full run's JSON: the same figures, today's text."""
    path = report_dir() / "results.json"
    if not path.exists():
        sys.stderr.write(f"{path} does not exist: run `make bench` first\n")
        return 2
    data = json.loads(path.read_text())
    results = [report.Result.from_dict(item) for item in data["benchmarks"]]
    doc.write_text(
        report.render_markdown(
            results, info=data["machine"], command="make bench", seconds=data["seconds"]
        )
        + "\n"
    )
    report.write_out(f"wrote {doc} from {path}\n")
    return report.exit_code(results)


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments:
        return main_all()
    args = build_parser().parse_args(arguments)
    if args.command is None:
        return main_all()
    if args.command == "report":
        return main_report()
    if args.command == "engine" or (
        args.command == "sweep" and any(a.split("=")[0] in ENGINE_FLAGS for a in arguments)
    ):
        return _run_engine(args, arguments)
    return main_one(args.command, args)


if __name__ == "__main__":
    sys.exit(main())
