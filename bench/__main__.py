"""``python -m bench``: benchmarks of the Service Market (see ``--help``).

    python -m bench sweep --endpoints 10000 --delay-ms 50
    python -m bench sweep --endpoints 10000 --delay-ms 50 --hang-percent 1 --no-db

Without a command it runs ``sweep`` with its defaults. Nothing here runs in the test suite;
the numbers are for people, the tests never assert on time.
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    sweep = commands.add_parser(
        "sweep", help="the health sweep against N loopback stub vendors (wall, CPU, probes/s)"
    )
    sweep.add_argument("--endpoints", type=int, default=10_000, help="stub vendors (10000)")
    sweep.add_argument("--delay-ms", type=float, default=50, help="answer delay of each (50)")
    sweep.add_argument("--ports", type=int, default=8, help="loopback ports they share (8)")
    sweep.add_argument(
        "--hang-percent", type=float, default=0, help="share that never answers, e.g. 1 (0)"
    )
    sweep.add_argument("--chunk-size", type=int, default=500, help="services per chunk (500)")
    sweep.add_argument(
        "--workers",
        type=int,
        default=1,
        help="chunks probed at the same time (1: back to back, the capacity of one probe "
        "worker; production spreads chunks over 40 s, so with --hang-percent use 3-4)",
    )
    sweep.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="probe_all concurrency per chunk (default: settings.PROBE_CONCURRENCY)",
    )
    sweep.add_argument(
        "--total-timeout", type=float, default=5.0, help="per-probe deadline in seconds (5)"
    )
    sweep.add_argument(
        "--no-db", action="store_true", help="measure probe_all only, skip the database run"
    )
    sweep.add_argument(
        "--database-url",
        default="",
        help="database for the full run (default: a fresh SQLite file under var/bench/)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0].startswith("-") and arguments[0] not in ("-h", "--help"):
        arguments = ["sweep", *arguments]
    args = parser.parse_args(arguments)
    for name in ("endpoints", "ports", "chunk_size", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    from bench.sweep import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
