"""The manifest standard v1.0: the seed validates, every rule fails with a pointer, a line and a
sentence in English and Korean that says what to write instead."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from services.standard import yaml_loader
from services.standard.manifest import (
    MAX_MANIFEST_BYTES,
    SUPPORTED_VERSIONS,
    ManifestError,
    ManifestResult,
    PlanSpec,
    plans_from_manifest,
    validate_manifest_text,
)
from services.standard.schemas import SCHEMA_DIR, load_schema

REPO_ROOT = Path(__file__).resolve().parents[2]

# Section 3.1 of the seed (/work/shared/seed/CONSULTING_REQUEST_v2.ko.md), copied unchanged,
# Korean comments and description included.
SEED_MANIFEST_KO = """\
# manifest.yaml
version: "1.0"

# 서비스 기본 정보
service:
  id: "keli_tutor"
  name: "KELI TUTOR"
  description: "AI 기반 학습 튜터"
  version: "1.0.0"
  vendor: "K-University AI Lab"

# 서비스 접근 정보
endpoints:
  base_url: "https://keli.k-university.ai"

  # 필수 API (마켓이 호출)
  health: "/mt/health"
  tenant_activate: "/mt/tenant/{tenant_id}/activate"
  tenant_deactivate: "/mt/tenant/{tenant_id}/deactivate"
  tenant_status: "/mt/tenant/{tenant_id}/status"

  # 선택 API
  usage_report: "/mt/tenant/{tenant_id}/usage"

  # 사용자 접근 URL
  user_access: "/app/{tenant_id}"

# 인증 방식
auth:
  type: "api_key"  # api_key, oauth2, jwt
  header: "X-Market-API-Key"

# 지원하는 격리 수준
isolation:
  supported:
    - "DATABASE_PER_TENANT"
    - "DOCKER_PER_TENANT"
  default: "DATABASE_PER_TENANT"

# 요금제별 기능
features:
  basic:
    - "ai_chat"
    - "file_upload"
  standard:
    - "ai_chat"
    - "file_upload"
    - "rag"
    - "discussion"
  premium:
    - "ai_chat"
    - "file_upload"
    - "rag"
    - "discussion"
    - "quiz"
    - "api_integration"

# 필요 리소스 (프로비저닝 참고용)
resources:
  min_memory: "2GB"
  min_cpu: "1 core"
  storage: "10GB per tenant"
"""

# The English rendering (/work/shared/docs/seed-en.md, section 3.1), also unchanged.
SEED_MANIFEST_EN = """\
version: "1.0"
service:
  id: "keli_tutor"
  name: "KELI TUTOR"
  description: "AI-based learning tutor"
  version: "1.0.0"
  vendor: "K-University AI Lab"
endpoints:
  base_url: "https://keli.k-university.ai"
  # required (the market calls these)
  health: "/mt/health"
  tenant_activate: "/mt/tenant/{tenant_id}/activate"
  tenant_deactivate: "/mt/tenant/{tenant_id}/deactivate"
  tenant_status: "/mt/tenant/{tenant_id}/status"
  # optional
  usage_report: "/mt/tenant/{tenant_id}/usage"
  # where users go
  user_access: "/app/{tenant_id}"
auth:
  type: "api_key"            # api_key, oauth2, jwt
  header: "X-Market-API-Key"
isolation:
  supported: ["DATABASE_PER_TENANT", "DOCKER_PER_TENANT"]
  default: "DATABASE_PER_TENANT"
features:                    # features per plan
  basic:    ["ai_chat", "file_upload"]
  standard: ["ai_chat", "file_upload", "rag", "discussion"]
  premium:  ["ai_chat", "file_upload", "rag", "discussion", "quiz", "api_integration"]
resources:                   # provisioning reference only
  min_memory: "2GB"
  min_cpu: "1 core"
  storage: "10GB per tenant"
"""

SEED_DATA = yaml.safe_load(SEED_MANIFEST_KO)

# Every field of the standard, in the richer form.
FULL_MANIFEST = """\
version: "1.0"
service:
  id: keli_tutor
  name: KELI TUTOR
  description: AI 기반 학습 튜터
  version: "1.0.0"
  vendor: K-University AI Lab
  contact: support@k-university.ai
  homepage: https://keli.k-university.ai/about
  logo_url: https://keli.k-university.ai/logo.png
  privacy_url: https://keli.k-university.ai/privacy
  terms_url: https://keli.k-university.ai/terms
  categories: [tutoring, ai]
endpoints:
  base_url: https://keli.k-university.ai
  health: /mt/health
  tenant_activate: /mt/tenant/{tenant_id}/activate
  tenant_deactivate: /mt/tenant/{tenant_id}/deactivate
  tenant_status: /mt/tenant/{tenant_id}/status
  usage_report: /mt/tenant/{tenant_id}/usage
  user_access: /app/{tenant_id}
  tenant_update: /mt/tenant/{tenant_id}/update
  tenant_delete: /mt/tenant/{tenant_id}/delete
auth:
  type: oauth2
  header: X-Market-API-Key
  token_url: https://auth.k-university.ai/oauth/token
  scope: market
isolation:
  supported: [DATABASE_PER_TENANT, DOCKER_PER_TENANT]
  default: DATABASE_PER_TENANT
features:
  basic: [ai_chat, file_upload]
  standard: [ai_chat, file_upload, rag, discussion]
  premium: [ai_chat, file_upload, rag, discussion, quiz, api_integration]
plans:
  premium:
    name: Premium
    price: 300000
    currency: KRW
    billing_period: yearly
    features: [ai_chat, file_upload, rag, discussion, quiz, api_integration]
    limits: {max_users: 500, storage_limit_gb: 100}
    allowed_changes: [standard]
    unit_prices: {ai_tokens: 0.01}
    overage_prices: {active_users: 1000, storage_gb: 500}
  standard:
    name: Standard
    price: 100000
    limits: {max_users: 200, storage_limit_gb: 50}
    allowed_changes: [basic, premium]
usage_report:
  supported: true
  metrics: [api_calls, ai_tokens, storage_gb, active_users]
operations:
  async: true
  poll_interval_seconds: 10
  timeout_seconds: 600
launch:
  supported: true
lti:
  login_initiation_url: https://keli.k-university.ai/lti/login
  target_link_uri: https://keli.k-university.ai/lti/launch
  redirect_uris: [https://keli.k-university.ai/lti/launch]
  jwks_url: https://keli.k-university.ai/lti/jwks
  custom: {course_mode: school}
resources:
  min_memory: 2GB
  min_cpu: 1 core
  storage: 10GB per tenant
labels:
  features:
    ai_chat: {ko: "AI 채팅", en: "AI chat"}
    rag: {ko: "문서 기반 답변", en: "Answers from your documents"}
  categories:
    tutoring: {ko: "튜터링", en: "Tutoring"}
x-vendor-notes: {anything: [goes, here]}
"""

FULL_DATA = yaml.safe_load(FULL_MANIFEST)

RAW_JSONSCHEMA_PHRASES = (
    "is a required property",
    "is not of type",
    "does not match",
    "was unexpected",
    "is not valid under any",
    "is not one of",
    "is too short",
    "is too long",
    "non-unique",
    "is less than",
    "is greater than",
)


@pytest.fixture(params=["libyaml", "pure-python"])
def each_yaml_parser(request, monkeypatch):
    """Run a parsing test with libyaml (used when installed) and with PyYAML's pure parser."""
    if request.param == "libyaml":
        if not yaml.__with_libyaml__:
            pytest.skip("libyaml is not installed; the pure-python parser is the only one in use")
    else:
        monkeypatch.setattr(yaml_loader, "_LOADER_CLASS", yaml_loader._PurePythonLoader)
    return request.param


def validate(data_or_text, **kwargs) -> ManifestResult:
    text = data_or_text if isinstance(data_or_text, str | bytes) else json.dumps(data_or_text)
    return validate_manifest_text(text, http_allowed_hosts=kwargs.pop("hosts", ()), **kwargs)


def pointers(result: ManifestResult) -> list[str]:
    return [error.pointer for error in result.errors]


def error_at(result: ManifestResult, pointer: str) -> ManifestError:
    matches = [error for error in result.errors if error.pointer == pointer]
    assert matches, f"no error at {pointer!r}; errors: {[e.format() for e in result.errors]}"
    return matches[0]


def with_change(base: dict, path: tuple, value=..., *, delete: bool = False) -> dict:
    data = copy.deepcopy(base)
    target = data
    for part in path[:-1]:
        target = target[part]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


def assert_human(error: ManifestError) -> None:
    for phrase in RAW_JSONSCHEMA_PHRASES:
        assert phrase not in error.message, error.message
    assert error.message.startswith(f"`{error.pointer or '/'}") or error.pointer == ""
    assert error.message_ko and error.message_ko != error.message


# -- the seed and the full form ----------------------------------------------------------------


@pytest.mark.parametrize("text", [SEED_MANIFEST_KO, SEED_MANIFEST_EN], ids=["korean", "english"])
def test_seed_manifest_is_valid_unchanged(text, each_yaml_parser):
    result = validate_manifest_text(text)

    assert result.errors == ()
    assert result.is_valid
    assert result.data["service"]["id"] == "keli_tutor"


def test_seed_manifest_as_utf8_bytes_is_valid_and_keeps_korean_text():
    result = validate(SEED_MANIFEST_KO.encode("utf-8"))

    assert result.is_valid
    assert result.data["service"]["description"] == "AI 기반 학습 튜터"


def test_bidirectional_controls_are_removed_from_the_stored_data():
    text = SEED_MANIFEST_KO.replace("AI 기반 학습 튜터", "AI \u202e기반\u2066 학습 튜터\u200f")
    result = validate(text)

    assert result.is_valid
    assert result.data["service"]["description"] == "AI 기반 학습 튜터"


def test_full_manifest_with_every_field_is_valid():
    result = validate(FULL_MANIFEST)

    assert result.errors == ()
    assert result.data == FULL_DATA


def test_full_manifest_as_json_is_valid():
    assert validate(json.dumps(FULL_DATA, ensure_ascii=False)).is_valid


def test_utf8_byte_order_mark_is_accepted():
    assert validate(b"\xef\xbb\xbf" + SEED_MANIFEST_KO.encode()).is_valid


def test_example_manifest_in_docs_is_valid():
    example = REPO_ROOT / "docs" / "standard" / "examples" / "keli_tutor.manifest.yaml"
    assert example.exists(), f"{example} is part of the published standard"

    result = validate(example.read_bytes())

    assert result.errors == ()


def test_reference_vendor_manifest_is_valid_when_its_local_host_is_allowed():
    reference = REPO_ROOT / "vendorkit" / "reference_manifest.yaml"
    assert reference.exists(), f"{reference} is the worked example vendors read"
    raw = reference.read_bytes()

    allowed = validate(raw, hosts=["127.0.0.1"])
    refused = validate(raw, hosts=[])

    assert allowed.errors == ()
    assert pointers(refused) == ["/endpoints/base_url"]


# -- required fields ---------------------------------------------------------------------------

SEED_REQUIRED = [
    ("version",),
    ("service",),
    ("service", "id"),
    ("service", "name"),
    ("service", "version"),
    ("service", "vendor"),
    ("endpoints",),
    ("endpoints", "base_url"),
    ("endpoints", "health"),
    ("endpoints", "tenant_activate"),
    ("endpoints", "tenant_deactivate"),
    ("endpoints", "tenant_status"),
    ("auth",),
    ("auth", "type"),
    ("isolation",),
    ("isolation", "supported"),
    ("isolation", "default"),
    ("features",),
]


@pytest.mark.parametrize("path", SEED_REQUIRED, ids=lambda p: "/".join(p))
def test_removing_a_required_field_names_its_pointer(path):
    result = validate(with_change(SEED_DATA, path, delete=True))
    pointer = "/" + "/".join(path)

    error = error_at(result, pointer)
    assert not result.is_valid
    assert f"`{pointer}` is missing: add" in error.message
    assert "항목이 없습니다" in error.message_ko
    assert_human(error)


CONDITIONALLY_REQUIRED = [
    # (what to remove from FULL_DATA, the pointer that must be reported)
    (("plans", "standard", "price"), "/plans/standard/price"),
    (("auth", "token_url"), "/auth/token_url"),
    (("usage_report", "supported"), "/usage_report/supported"),
    (("launch", "supported"), "/launch/supported"),
    (("endpoints", "usage_report"), "/endpoints/usage_report"),
    (("endpoints", "user_access"), "/endpoints/user_access"),
]


@pytest.mark.parametrize("path,pointer", CONDITIONALLY_REQUIRED, ids=lambda v: str(v))
def test_removing_a_field_required_by_another_names_its_pointer(path, pointer):
    result = validate(with_change(FULL_DATA, path, delete=True))

    error = error_at(result, pointer)
    assert "is missing" in error.message
    assert_human(error)


def test_missing_service_name_reads_as_a_human_sentence():
    result = validate(with_change(SEED_DATA, ("service", "name"), delete=True))

    error = error_at(result, "/service/name")
    assert error.message.startswith("`/service/name` is missing: add the service's display name")


def test_usage_endpoint_is_optional_when_usage_is_not_supported():
    data = with_change(FULL_DATA, ("endpoints", "usage_report"), delete=True)
    data["usage_report"]["supported"] = False

    assert validate(data).errors == ()


def test_user_access_is_optional_without_launch():
    data = with_change(FULL_DATA, ("endpoints", "user_access"), delete=True)
    del data["launch"]

    assert validate(data).errors == ()


def test_plans_alone_without_features_is_valid():
    data = copy.deepcopy(FULL_DATA)
    del data["features"]
    data["plans"]["standard"]["allowed_changes"] = ["premium"]

    assert validate(data).errors == ()


# -- wrong types -------------------------------------------------------------------------------


def _every_field(value, path=()):
    """Every key and list item of FULL_DATA except extension fields."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key.startswith("x-"):
                continue
            yield (*path, key)
            yield from _every_field(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*path, index)
            yield from _every_field(child, (*path, index))


def _wrong_type(value):
    if isinstance(value, bool):
        return "maybe"
    if isinstance(value, int | float):
        return "many"
    if isinstance(value, str):
        return 12345
    if isinstance(value, list):
        return "not a list"
    return ["not", "a", "mapping"]


def _get(data, path):
    for part in path:
        data = data[part]
    return data


@pytest.mark.parametrize("path", list(_every_field(FULL_DATA)), ids=lambda p: "/".join(map(str, p)))
def test_wrong_type_for_any_field_is_reported_at_that_field_only(path):
    result = validate(with_change(FULL_DATA, path, _wrong_type(_get(FULL_DATA, path))))
    pointer = "/" + "/".join(map(str, path))

    assert pointers(result) == [pointer]
    assert_human(result.errors[0])


def test_full_manifest_covers_every_property_of_the_schema():
    schema = load_schema("manifest-1.0.schema.json")
    names_in_schema = set()

    def collect(node):
        if isinstance(node, dict):
            names_in_schema.update(node.get("properties", {}))
            for child in node.values():
                collect(child)
        elif isinstance(node, list):
            for child in node:
                collect(child)

    collect(schema)
    names_in_full = {part for path in _every_field(FULL_DATA) for part in path}
    # `supported`/`type` etc. also appear inside `if` clauses; all are real fields.
    assert names_in_schema - names_in_full == set()


def test_quoted_number_hint_for_unquoted_version():
    result = validate(SEED_MANIFEST_KO.replace('version: "1.0"', "version: 1.0", 1))

    assert pointers(result) == ["/version"]
    assert 'write version: "1.0"' in result.errors[0].message


def test_unquoted_yes_for_text_field_suggests_quotes():
    result = validate(SEED_MANIFEST_KO.replace('vendor: "K-University AI Lab"', "vendor: yes"))

    error = error_at(result, "/service/vendor")
    assert "put the value in quotes" in error.message
    assert error.line == 10


# -- unknown keys and extensions ---------------------------------------------------------------


def test_unknown_top_level_key_is_rejected_with_a_suggestion():
    data = with_change(SEED_DATA, ("servce",), "x")

    error = error_at(validate(data), "/servce")
    assert "rename it to `service`" in error.message
    assert "`x-servce`" in error.message


def test_unknown_nested_key_is_rejected_with_a_suggestion():
    data = with_change(SEED_DATA, ("endpoints", "tenant_activte"), "/x/{tenant_id}")

    error = error_at(validate(data), "/endpoints/tenant_activte")
    assert "rename it to `tenant_activate`" in error.message


@pytest.mark.parametrize(
    "path", [("x-internal",), ("service", "x-team"), ("endpoints", "x-mirror")], ids=str
)
def test_extension_keys_starting_with_x_are_accepted(path):
    assert validate(with_change(SEED_DATA, path, {"any": ["value", 1]})).errors == ()


# -- semantic checks ---------------------------------------------------------------------------

TENANT_PATHS = [
    "tenant_activate",
    "tenant_deactivate",
    "tenant_status",
    "usage_report",
    "tenant_update",
    "tenant_delete",
    "user_access",
]


@pytest.mark.parametrize("name", TENANT_PATHS)
def test_tenant_path_without_tenant_id_is_rejected(name):
    result = validate(with_change(FULL_DATA, ("endpoints", name), "/mt/tenant/status"))

    error = error_at(result, f"/endpoints/{name}")
    assert "must contain {tenant_id}" in error.message
    assert "{tenant_id}" in error.message_ko


def test_health_path_must_not_need_a_tenant():
    result = validate(with_change(SEED_DATA, ("endpoints", "health"), "/mt/{tenant_id}/health"))

    assert "remove {tenant_id}" in error_at(result, "/endpoints/health").message


@pytest.mark.parametrize("name", ["health", *TENANT_PATHS])
def test_path_must_start_with_a_slash(name):
    result = validate(with_change(FULL_DATA, ("endpoints", name), "mt/tenant/{tenant_id}/x"))

    assert 'must start with "/"' in error_at(result, f"/endpoints/{name}").message


@pytest.mark.parametrize(
    "value,expected",
    [
        ("https://keli.k-university.ai/mt/{tenant_id}", "only the path"),
        ("/mt/{id}/status", "only contain the placeholder {tenant_id}; found {id}"),
        ("/mt/{tenant_id}/status?x=1", "query (?)"),
        ("/mt/{tenant_id}/sta tus", "spaces"),
        ("/mt/{tenant_id/status", "unmatched brace"),
    ],
)
def test_malformed_tenant_paths_are_explained(value, expected):
    result = validate(with_change(SEED_DATA, ("endpoints", "tenant_status"), value))

    assert expected in error_at(result, "/endpoints/tenant_status").message


@pytest.mark.parametrize(
    "base_url,expected",
    [
        ("keli.k-university.ai", "must start with https://"),
        ("ftp://keli.k-university.ai", "must start with https://"),
        ("https://keli.k-university.ai/?x=1", "query"),
        ("https://keli.k-university.ai/#top", "fragment"),
        ("https://user:pw@keli.k-university.ai", "user info"),
        ("https://keli.k-university.ai:99999", "invalid host or port"),
        ("https://[::1", "invalid host or port"),
        ("http://keli.k-university.ai", "must use https"),
    ],
)
def test_base_url_must_be_an_absolute_https_url(base_url, expected):
    result = validate(with_change(SEED_DATA, ("endpoints", "base_url"), base_url))

    error = error_at(result, "/endpoints/base_url")
    assert expected in error.message
    assert_human(error)


def test_base_url_with_path_prefix_is_valid():
    data = with_change(SEED_DATA, ("endpoints", "base_url"), "https://api.k-university.ai/keli")

    assert validate(data).errors == ()


@pytest.mark.parametrize(
    "base_url,hosts,valid",
    [
        ("http://127.0.0.1:8001", ["127.0.0.1"], True),
        ("http://127.0.0.1:8001", ["127.0.0.1:8001"], True),
        ("http://127.0.0.1:8001", ["127.0.0.1:9000"], False),
        ("http://localhost", ["LOCALHOST"], True),
        ("http://localhost", ["localhost:80"], True),
        ("http://[::1]:8001", ["[::1]"], True),
        ("http://127.0.0.1:8001", [], False),
        ("http://evil.example", ["127.0.0.1"], False),
    ],
)
def test_plain_http_only_for_allowed_hosts(base_url, hosts, valid):
    data = with_change(SEED_DATA, ("endpoints", "base_url"), base_url)

    result = validate(data, hosts=hosts)

    assert result.is_valid is valid
    if not valid:
        assert pointers(result) == ["/endpoints/base_url"]


def test_http_allowed_hosts_default_to_django_setting(settings):
    data = with_change(SEED_DATA, ("endpoints", "base_url"), "http://localhost:8001")
    text = json.dumps(data)

    settings.VENDOR_HTTP_ALLOWED_HOSTS = ["localhost"]
    allowed = validate_manifest_text(text)
    settings.VENDOR_HTTP_ALLOWED_HOSTS = []
    refused = validate_manifest_text(text)

    assert allowed.is_valid
    assert pointers(refused) == ["/endpoints/base_url"]


def test_isolation_default_must_be_supported():
    data = with_change(SEED_DATA, ("isolation", "default"), "SHARED")

    error = error_at(validate(data), "/isolation/default")
    assert "write one of DATABASE_PER_TENANT, DOCKER_PER_TENANT" in error.message


def test_unknown_isolation_level_lists_the_choices():
    data = with_change(SEED_DATA, ("isolation", "supported"), ["DATABASE_PER_TENANT", "VM"])

    error = error_at(validate(data), "/isolation/supported/1")
    assert "SCHEMA_PER_TENANT" in error.message


def test_plan_features_must_be_declared_in_features():
    data = copy.deepcopy(FULL_DATA)
    data["plans"]["standard"]["features"] = ["ai_chat", "telepathy"]

    result = validate(data)

    assert pointers(result) == ["/plans/standard/features/1"]
    assert '"telepathy" is not declared in `/features`' in result.errors[0].message


def test_plan_features_are_free_when_features_is_absent():
    data = copy.deepcopy(FULL_DATA)
    del data["features"]
    data["plans"]["standard"]["allowed_changes"] = ["premium"]
    data["plans"]["standard"]["features"] = ["telepathy"]

    assert validate(data).errors == ()


def test_allowed_changes_must_name_existing_plans():
    data = copy.deepcopy(FULL_DATA)
    data["plans"]["premium"]["allowed_changes"] = ["standard", "enterprise"]

    result = validate(data)

    assert pointers(result) == ["/plans/premium/allowed_changes/1"]
    assert '"enterprise"' in result.errors[0].message
    assert "premium, standard, basic" in result.errors[0].message


def test_allowed_changes_may_name_plans_declared_only_in_features():
    data = copy.deepcopy(FULL_DATA)
    data["plans"]["standard"]["allowed_changes"] = ["basic"]

    assert validate(data).errors == ()


@pytest.mark.parametrize("service_id", ["KELI", "keli tutor", "1keli", "k", "x" * 65, "keli.tutor"])
def test_service_id_must_be_a_slug(service_id):
    data = with_change(SEED_DATA, ("service", "id"), service_id)

    error = error_at(validate(data), "/service/id")
    assert "lowercase letters" in error.message


@pytest.mark.parametrize("code", ["Basic", "free plan", "b"])
def test_plan_codes_must_be_slugs(code):
    data = copy.deepcopy(SEED_DATA)
    data["features"][code] = ["ai_chat"]

    error = error_at(validate(data), f"/features/{code}")
    assert "plan code" in error.message


def test_unknown_version_is_refused_listing_accepted_versions():
    result = validate(SEED_MANIFEST_KO.replace('version: "1.0"', 'version: "2.0"', 1))

    assert pointers(result) == ["/version"]
    assert result.errors[0].line == 2
    assert '"2.0" is not a supported manifest version' in result.errors[0].message
    for version in SUPPORTED_VERSIONS:
        assert f'"{version}"' in result.errors[0].message


def test_oauth2_needs_an_https_token_url():
    data = with_change(FULL_DATA, ("auth", "token_url"), "http://auth.k-university.ai/token")

    error = error_at(validate(data), "/auth/token_url")
    assert "https URL" in error.message


def test_usage_supported_requires_the_usage_endpoint():
    data = with_change(SEED_DATA, ("endpoints", "usage_report"), delete=True)
    data["usage_report"] = {"supported": True}

    error = error_at(validate(data), "/endpoints/usage_report")
    assert "usage_report.supported is true" in error.message


def test_launch_supported_requires_user_access():
    data = with_change(SEED_DATA, ("endpoints", "user_access"), delete=True)
    data["launch"] = {"supported": True}

    error = error_at(validate(data), "/endpoints/user_access")
    assert "launch.supported is true" in error.message


@pytest.mark.parametrize(
    "header", ["X-Market-Signature", "Signature", "signature-input", "Content-Digest"]
)
def test_api_key_header_must_not_collide_with_market_headers(header):
    data = with_change(SEED_DATA, ("auth", "header"), header)

    assert "already sends" in error_at(validate(data), "/auth/header").message


def test_non_finite_numbers_are_refused():
    text = FULL_MANIFEST.replace("unit_prices: {ai_tokens: 0.01}", "unit_prices: {ai_tokens: .nan}")

    error = error_at(validate(text), "/plans/premium/unit_prices/ai_tokens")
    assert "not a finite number" in error.message


def test_nul_character_in_text_is_refused():
    text = SEED_MANIFEST_KO.replace('"KELI TUTOR"', '"KELI\\0TUTOR"')

    assert "NUL" in error_at(validate(text), "/service/name").message


def test_dates_stay_text():
    result = validate(SEED_MANIFEST_KO.replace('version: "1.0.0"', "version: 2026-01-03"))

    assert result.is_valid
    assert result.data["service"]["version"] == "2026-01-03"


# -- parsing -----------------------------------------------------------------------------------


def test_manifest_at_the_size_limit_is_accepted(each_yaml_parser):
    padding = MAX_MANIFEST_BYTES - len(SEED_MANIFEST_EN.encode()) - 3
    text = SEED_MANIFEST_EN + "# " + "x" * padding + "\n"
    assert len(text.encode()) == MAX_MANIFEST_BYTES

    assert validate(text).is_valid


def test_manifest_over_the_size_limit_is_refused_naming_size_and_limit(each_yaml_parser):
    text = SEED_MANIFEST_EN + "# " + "x" * MAX_MANIFEST_BYTES + "\n"
    size = len(text.encode())

    result = validate(text)

    assert result.data is None
    assert pointers(result) == [""]
    assert f"{size} bytes" in result.errors[0].message
    assert "65536 bytes" in result.errors[0].message


def test_size_limit_counts_utf8_bytes_not_characters(each_yaml_parser):
    text = SEED_MANIFEST_EN + "# " + "한" * (MAX_MANIFEST_BYTES // 3) + "\n"
    assert len(text) < MAX_MANIFEST_BYTES < len(text.encode())

    assert "the limit is 65536 bytes" in validate(text).errors[0].message


def test_non_utf8_bytes_are_refused_with_the_line(each_yaml_parser):
    raw = SEED_MANIFEST_EN.replace("KELI TUTOR", "KELI TUTEUR").encode("utf-8")
    raw = raw.replace(b"TUTEUR", "TUTÉUR".encode("latin-1"))

    result = validate(raw)

    assert result.data is None
    assert "not UTF-8" in result.errors[0].message
    assert "save the file as UTF-8" in result.errors[0].message
    assert result.errors[0].line == 4


@pytest.mark.parametrize(
    "text,line",
    [
        ('version: "1.0"\nservice: [unclosed\n', 3),
        ('version: "1.0"\n  bad indent: x\n', 2),
        ("{'a': 1\n", 2),
        ('version: "1.0"\n---\nversion: "1.0"\n', 2),
    ],
)
def test_text_that_is_not_yaml_is_refused_with_a_line(text, line, each_yaml_parser):
    result = validate(text)

    assert result.data is None
    assert "not valid YAML or JSON" in result.errors[0].message
    assert result.errors[0].line == line


@pytest.mark.parametrize("text", ["", "# only a comment\n", "~"])
def test_empty_document_is_refused(text, each_yaml_parser):
    result = validate(text)

    assert not result.is_valid
    assert "empty" in result.errors[0].message or "mapping" in result.errors[0].message


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text", "42"])
def test_document_must_be_a_mapping(text, each_yaml_parser):
    result = validate(text)

    assert result.data is None
    assert pointers(result) == [""]
    assert "must be a mapping" in result.errors[0].message


def test_duplicate_keys_are_refused_naming_the_key_and_both_lines(each_yaml_parser):
    text = SEED_MANIFEST_EN.replace(
        '  vendor: "K-University AI Lab"\n',
        '  vendor: "K-University AI Lab"\n  name: "Other"\n',
    )

    result = validate(text)

    assert result.data is None
    error = error_at(result, "/service/name")
    assert "`name` appears twice (lines 4 and 8)" in error.message
    assert error.line == 8


def test_billion_laughs_alias_bomb_is_refused(each_yaml_parser):
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for index in range(1, 10):
        previous, name = chr(ord("a") + index - 1), chr(ord("a") + index)
        levels.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")

    result = validate("\n".join(levels))

    assert result.data is None
    assert pointers(result) == ["/b/0"]
    assert "YAML aliases (*name) are not allowed" in result.errors[0].message
    assert result.errors[0].line == 2


def test_alias_to_a_mapping_is_refused(each_yaml_parser):
    text = SEED_MANIFEST_EN + "x-copy: *auth\n"
    text = text.replace("auth:\n", "auth: &auth\n", 1)

    result = validate(text)

    assert result.data is None
    assert pointers(result) == ["/x-copy"]
    assert "aliases" in result.errors[0].message


def test_anchor_without_alias_is_harmless(each_yaml_parser):
    assert validate(SEED_MANIFEST_EN.replace("auth:\n", "auth: &auth\n", 1)).is_valid


def test_undefined_alias_is_a_syntax_error(each_yaml_parser):
    result = validate("version: *v\n")

    assert result.data is None
    assert "undefined alias" in result.errors[0].message


def test_python_object_tag_is_refused(each_yaml_parser):
    result = validate('version: "1.0"\nservice: !!python/object/apply:os.system ["true"]\n')

    assert result.data is None
    assert "!!python/object/apply:os.system is not allowed" in result.errors[0].message
    assert result.errors[0].line == 2


@pytest.mark.parametrize(
    "tag", ["!custom", "!!binary", "!!set", "!!omap", "!<tag:evil.example,2026:x>"]
)
def test_non_json_tags_are_refused(tag, each_yaml_parser):
    result = validate(f'version: "1.0"\nx-thing: {tag} abc\n')

    assert result.data is None
    assert "is not allowed" in result.errors[0].message


def test_plain_json_tags_are_accepted(each_yaml_parser):
    text = SEED_MANIFEST_EN.replace('version: "1.0.0"', "version: !!str 1.0.0")

    assert validate(text).is_valid


def test_merge_keys_are_refused(each_yaml_parser):
    result = validate('version: "1.0"\nservice:\n  <<: {id: keli_tutor}\n')

    assert result.data is None
    assert "merge keys" in result.errors[0].message


def test_deep_nesting_is_refused_without_crashing(each_yaml_parser):
    result = validate("x-deep: " + "[" * 5000 + "]" * 5000)

    assert result.data is None
    assert "nested more than" in result.errors[0].message


def test_huge_integer_is_refused_without_crashing(each_yaml_parser):
    result = validate("version: " + "9" * 6000)

    assert result.data is None
    assert "cannot be read as a number" in result.errors[0].message


def test_too_many_values_are_refused(each_yaml_parser):
    result = validate("x-list: [" + ",".join(["1"] * (yaml_loader.MAX_NODES + 10)) + "]")

    assert result.data is None
    assert f"more than {yaml_loader.MAX_NODES} values" in result.errors[0].message


def test_control_character_is_refused_with_its_line(each_yaml_parser):
    result = validate('version: "1.0"\nx-a: "bell\x07"\n')

    assert result.data is None
    assert "U+0007" in result.errors[0].message
    assert result.errors[0].line == 2


def test_lone_surrogate_in_text_is_refused(each_yaml_parser):
    result = validate('version: "1.0"\nx-a: "\ud800"\n')

    assert result.data is None
    assert "U+D800" in result.errors[0].message
    assert result.errors[0].line == 2


# -- error shape -------------------------------------------------------------------------------


def test_errors_carry_lines_and_are_sorted_by_line(each_yaml_parser):
    text = (
        SEED_MANIFEST_EN.replace(
            '  tenant_status: "/mt/tenant/{tenant_id}/status"', '  tenant_status: "/s"'
        )
        .replace('  default: "DATABASE_PER_TENANT"', '  default: "SHARED"')
        .replace('  name: "KELI TUTOR"\n', "")
    )

    result = validate(text)

    assert pointers(result) == ["/service/name", "/endpoints/tenant_status", "/isolation/default"]
    assert [error.line for error in result.errors] == [2, 13, 23]


def test_error_list_is_capped_with_a_count_of_the_rest():
    data = copy.deepcopy(SEED_DATA)
    data["features"] = {f"plan{index}": ["Bad Feature"] for index in range(50)}
    data["service"]["categories"] = [""] * 10
    data.update({f"unknown{index}": 1 for index in range(120)})

    result = validate(data)

    assert len(result.errors) == 101
    assert result.errors[-1].pointer == ""
    assert result.errors[-1].message.startswith("at least ")
    assert "more errors are not shown" in result.errors[-1].message


def test_error_format_and_dict():
    error = ManifestError(pointer="/auth/type", message="must be api_key", message_ko="키", line=7)
    document_error = ManifestError(pointer="", message="empty", message_ko="비어", line=None)

    assert error.format() == "/auth/type: must be api_key (line 7)"
    assert error.format(lang="ko") == "/auth/type: 키 (line 7)"
    assert document_error.format() == "/: empty"
    assert error.as_dict() == {
        "pointer": "/auth/type",
        "message": "must be api_key",
        "message_ko": "키",
        "line": 7,
    }


def test_invalid_manifest_keeps_the_parsed_data():
    result = validate(with_change(SEED_DATA, ("auth", "type"), "basic"))

    assert not result.is_valid
    assert result.data["auth"]["type"] == "basic"


def test_json_pointer_escapes_slash_and_tilde_in_keys():
    data = with_change(SEED_DATA, ("endpoints", "a/b~c"), "/x")

    assert pointers(validate(data)) == ["/endpoints/a~1b~0c"]


# -- plans -------------------------------------------------------------------------------------


def test_plans_from_seed_form_are_named_after_their_codes_and_free():
    plans = plans_from_manifest(validate(SEED_MANIFEST_KO).data)

    assert [(plan.code, plan.name, plan.price, plan.position) for plan in plans] == [
        ("basic", "Basic", Decimal(0), 0),
        ("standard", "Standard", Decimal(0), 1),
        ("premium", "Premium", Decimal(0), 2),
    ]
    assert plans[2].features == [
        "ai_chat",
        "file_upload",
        "rag",
        "discussion",
        "quiz",
        "api_integration",
    ]
    assert plans[0] == PlanSpec(
        code="basic",
        name="Basic",
        features=["ai_chat", "file_upload"],
        price=Decimal(0),
        currency="KRW",
        billing_period="monthly",
        max_users=None,
        storage_limit_gb=None,
        allowed_changes=[],
        unit_prices={},
        position=0,
    )


def test_plans_merge_plans_first_then_features_only_codes():
    plans = plans_from_manifest(FULL_DATA)
    by_code = {plan.code: plan for plan in plans}

    assert [plan.code for plan in plans] == ["premium", "standard", "basic"]
    assert by_code["premium"].price == Decimal(300000)
    assert by_code["premium"].billing_period == "yearly"
    assert by_code["premium"].unit_prices == {"ai_tokens": Decimal("0.01")}
    assert by_code["premium"].max_users == 500
    assert by_code["premium"].storage_limit_gb == 100
    assert by_code["standard"].features == ["ai_chat", "file_upload", "rag", "discussion"]
    assert by_code["standard"].allowed_changes == ["basic", "premium"]
    assert by_code["basic"].price == Decimal(0)


def test_plan_name_defaults_to_title_cased_code_with_spaces():
    data = copy.deepcopy(SEED_DATA)
    data["features"] = {"premium_plus": ["ai_chat"]}

    assert plans_from_manifest(data)[0].name == "Premium Plus"


# -- the schema file ---------------------------------------------------------------------------


def test_schema_has_its_id_and_a_description_on_every_property():
    schema = json.loads((SCHEMA_DIR / "manifest-1.0.schema.json").read_text())
    undocumented = []

    def walk(node, where):
        if isinstance(node, dict):
            for name, child in node.get("properties", {}).items():
                if "description" not in child:
                    undocumented.append(f"{where}/{name}")
            for key, child in node.items():
                walk(child, f"{where}/{key}")

    walk(schema, "")

    assert schema["$id"] == "https://market.example/standard/schemas/manifest-1.0.schema.json"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # Properties inside `if` clauses are conditions, not fields.
    assert [path for path in undocumented if "/if/" not in path] == []


# --- labels ------------------------------------------------------------------------------------


def with_labels(labels: dict) -> dict:
    data = copy.deepcopy(SEED_DATA)
    data["service"]["categories"] = ["tutoring"]
    data["labels"] = labels
    return data


def test_labels_for_used_features_and_categories_are_valid():
    result = validate(
        with_labels(
            {
                "features": {"ai_chat": {"ko": "AI 채팅", "en": "AI chat"}},
                "categories": {"tutoring": {"ko": "튜터링", "en": "Tutoring"}},
            }
        )
    )
    assert result.errors == ()
    assert result.data["labels"]["features"]["ai_chat"]["ko"] == "AI 채팅"


def test_a_label_for_a_feature_no_plan_offers_is_refused_with_the_closest_name():
    result = validate(with_labels({"features": {"ai_chta": {"ko": "AI 채팅", "en": "AI chat"}}}))
    [error] = result.errors
    assert error.pointer == "/labels/features/ai_chta"
    assert "did you mean `ai_chat`?" in error.message
    assert "혹시 `ai_chat`인가요?" in error.message_ko


def test_a_label_for_an_unknown_category_is_refused_naming_the_categories():
    result = validate(with_labels({"categories": {"math": {"ko": "수학", "en": "Math"}}}))
    [error] = result.errors
    assert error.pointer == "/labels/categories/math"
    assert "tutoring" in error.message


@pytest.mark.parametrize(
    ("label", "pointer"),
    [
        ({"ko": "AI 채팅"}, "/labels/features/ai_chat/en"),
        ({"ko": "", "en": "AI chat"}, "/labels/features/ai_chat/ko"),
        ({"ko": "AI 채팅", "en": "AI chat", "fr": "Chat IA"}, "/labels/features/ai_chat/fr"),
    ],
)
def test_a_label_needs_korean_and_english_and_nothing_else(label, pointer):
    result = validate(with_labels({"features": {"ai_chat": label}}))
    assert pointer in pointers(result)


def test_an_unknown_labels_section_is_refused():
    result = validate(with_labels({"plans": {}}))
    assert "/labels/plans" in pointers(result)
