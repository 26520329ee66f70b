"""Small verdict helpers shared by the check modules: what an answer must look like."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from vendorkit.conformance.session import NOT_JSON, Exchange
from vendorkit.conformance.shapes import problems_error_body

CLOCK_TOLERANCE_SECONDS = 300
# Far enough past the 300 s tolerance that a vendor clock off by a minute or so still counts.
STALE_OFFSET_SECONDS = 400
NOT_IMPLEMENTED = frozenset({404, 405, 501})
INVALID_MONTH = "2026-13"


def rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def previous_month(moment: float) -> str:
    first_of_month = datetime.fromtimestamp(moment, UTC).replace(day=1)
    return (first_of_month - timedelta(days=1)).strftime("%Y-%m")


def expect_status(exchange: Exchange, allowed: Iterable[int]) -> list[str]:
    allowed = sorted(set(allowed))
    if exchange.reply is None:
        return [f"no answer: {exchange.error}"]
    if exchange.status not in allowed:
        wanted = " or ".join(str(code) for code in allowed)
        return [f"expected HTTP {wanted}, got {exchange.status}"]
    return []


def error_body_problems(exchange: Exchange) -> list[str]:
    if exchange.json is NOT_JSON:
        return ["the body is not JSON"]
    return problems_error_body(exchange.json)


def expect_error(exchange: Exchange, allowed: Iterable[int], *codes: str) -> list[str]:
    """The status is one of ``allowed`` and the body is the standard error with one of ``codes``."""
    problems = expect_status(exchange, allowed) or error_body_problems(exchange)
    code = exchange.obj.get("error") if exchange.obj else None
    if not problems and codes and code not in codes:
        problems.append(f"'error' must be {' or '.join(repr(c) for c in codes)}, got {code!r}")
    return problems
