"""Property-based tests: whatever a vendor submits, the validator answers with a ManifestResult.

The examples add up to 1,000 documents per normal run (500 mutations of the seed manifests, 500
random documents), plus 800 random or corrupted texts and byte strings.
"""

from __future__ import annotations

import copy
import json
import math
from decimal import Decimal

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.standard.manifest import (
    ManifestError,
    ManifestResult,
    PlanSpec,
    plans_from_manifest,
    validate_manifest_text,
)
from tests.services.test_manifest_validation import (
    FULL_DATA,
    RAW_JSONSCHEMA_PHRASES,
    SEED_DATA,
)

# No example database (the runs stay independent of earlier ones) and no deadline (timing is
# for benchmarks, not for tests).
FAST = {
    "database": None,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

# Values a vendor might plausibly write, so mutations often land near the rules' edges.
PLAUSIBLE_TEXT = st.sampled_from(
    [
        "",
        "1.0",
        "2.0",
        "keli_tutor",
        "KELI TUTOR",
        "/mt/health",
        "/mt/tenant/{tenant_id}/status",
        "/mt/{id}",
        "mt/tenant",
        "https://keli.k-university.ai",
        "http://127.0.0.1:8000",
        "https://u:p@host/",
        "https://[::1",
        "api_key",
        "oauth2",
        "jwt",
        "X-Market-Signature",
        "DATABASE_PER_TENANT",
        "SHARED",
        "monthly",
        "KRW",
        "basic",
        "premium",
        "ai_chat",
        "x-extra",
        "yes",
        "~",
        "<<",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**15), max_value=10**15)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | PLAUSIBLE_TEXT
)
KEYS = st.text(max_size=12) | PLAUSIBLE_TEXT
# Flat rather than recursive: hypothesis spends several milliseconds per recursive example, and
# the mutations below nest these values anywhere in the manifest anyway.
VALUES = SCALARS | st.lists(SCALARS, max_size=3) | st.dictionaries(KEYS, SCALARS, max_size=3)
MUTATIONS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000),
        st.sampled_from(["replace", "delete", "add"]),
        KEYS,
        VALUES,
    ),
    min_size=1,
    max_size=4,
)
TOP_LEVEL_KEYS = st.sampled_from(
    [
        "version",
        "service",
        "endpoints",
        "auth",
        "isolation",
        "features",
        "plans",
        "usage_report",
        "operations",
        "launch",
        "resources",
        "x-a",
    ]
) | st.text(max_size=8)


def _paths(value, path=()):
    """Every path in a document (where a value can be replaced, added or removed)."""
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*path, index))


def _at(document, path):
    for part in path:
        document = document[part]
    return document


def mutate(base: dict, mutations) -> dict:
    """Apply (where, action, key, value) mutations; `where` picks a path modulo their number."""
    document = copy.deepcopy(base)
    for where, action, key, value in mutations:
        paths = list(_paths(document))
        path = paths[where % len(paths)]
        node = _at(document, path)
        if action == "add" and isinstance(node, dict):
            node[key] = value
        elif action == "add" and isinstance(node, list):
            node.append(value)
        elif not path:
            document[key] = value
        elif action == "delete":
            del _at(document, path[:-1])[path[-1]]
        else:
            _at(document, path[:-1])[path[-1]] = value
    return document


def _render(document, style: str) -> str:
    if style == "json":
        return json.dumps(document, ensure_ascii=False)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's is seven times faster
    return yaml.dump(document, Dumper=dumper, allow_unicode=True, sort_keys=False)


def assert_well_formed(result) -> None:
    assert isinstance(result, ManifestResult)
    assert isinstance(result.errors, tuple)
    assert result.is_valid == (result.data is not None and not result.errors)
    lines = []
    for error in result.errors:
        assert isinstance(error, ManifestError)
        assert error.pointer == "" or error.pointer.startswith("/")
        assert isinstance(error.message, str) and error.message
        assert isinstance(error.message_ko, str) and error.message_ko
        assert error.line is None or (isinstance(error.line, int) and error.line >= 1)
        assert not any(phrase in error.message for phrase in RAW_JSONSCHEMA_PHRASES), error.message
        assert error.format()
        if "more errors are not shown" not in error.message:
            lines.append(error.line or 0)
    assert lines == sorted(lines)
    if result.is_valid:
        # A valid manifest is plain JSON and yields plans the market can store.
        json.dumps(result.data, allow_nan=False)
        plans = plans_from_manifest(result.data)
        assert plans
        for plan in plans:
            assert isinstance(plan, PlanSpec)
            assert isinstance(plan.price, Decimal) and plan.price.is_finite()
            assert all(isinstance(price, Decimal) for price in plan.unit_prices.values())


# JSON is YAML too; rendering as JSON most of the time keeps the run short (PyYAML's emitter is
# the slowest part of an example) while block-style YAML still gets its share.
STYLES = st.sampled_from(["json", "json", "yaml"])


@settings(max_examples=500, **FAST)
@given(base=st.sampled_from([SEED_DATA, SEED_DATA, FULL_DATA]), mutations=MUTATIONS, style=STYLES)
def test_mutated_seed_manifests_always_get_a_result(base, mutations, style):
    document = mutate(base, mutations)

    result = validate_manifest_text(_render(document, style), http_allowed_hosts=("127.0.0.1",))

    assert_well_formed(result)


@settings(max_examples=500, **FAST)
@given(document=VALUES | st.dictionaries(TOP_LEVEL_KEYS, VALUES, max_size=6), style=STYLES)
def test_random_documents_always_get_a_result(document, style):
    result = validate_manifest_text(_render(document, style), http_allowed_hosts=())

    assert_well_formed(result)
    if not isinstance(document, dict):
        assert not result.is_valid


YAML_ALPHABET = st.sampled_from(list("{}[]:-&*!|>'\"%@`#,?~<=\n\t abcx01.\\/\u00e9\ud55c\x00\x85"))


@settings(max_examples=300, **FAST)
@given(text=st.text(max_size=300) | st.text(YAML_ALPHABET, max_size=300))
def test_random_text_always_gets_a_result(text):
    assert_well_formed(validate_manifest_text(text, http_allowed_hosts=()))


@settings(max_examples=300, **FAST)
@given(raw=st.binary(max_size=300))
def test_random_bytes_always_get_a_result(raw):
    assert_well_formed(validate_manifest_text(raw, http_allowed_hosts=()))


@settings(max_examples=200, **FAST)
@given(
    prefix=st.binary(max_size=40),
    cut=st.integers(min_value=0, max_value=2000),
)
def test_truncated_or_corrupted_seed_bytes_always_get_a_result(prefix, cut):
    raw = _render(SEED_DATA, "yaml").encode("utf-8")

    assert_well_formed(validate_manifest_text(prefix + raw[:cut], http_allowed_hosts=()))


def test_float_edge_values_never_reach_valid_data():
    for value in (math.inf, -math.inf, math.nan):
        document = copy.deepcopy(FULL_DATA)
        document["plans"]["premium"]["price"] = value

        result = validate_manifest_text(_render(document, "yaml"), http_allowed_hosts=())

        assert not result.is_valid
        assert [error.pointer for error in result.errors] == ["/plans/premium/price"]
