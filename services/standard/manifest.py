"""The manifest standard v1.0: parse a vendor's manifest.yaml, validate it, read its plans.

`validate_manifest_text` never raises for any input text or bytes: whatever a vendor submits
comes back as a `ManifestResult` whose errors each name a JSON pointer, a line, and say in
English and Korean what to write instead. The JSON Schema in
docs/standard/schemas/manifest-1.0.schema.json holds the structure; the checks that JSON Schema
cannot express live in `_semantic_problems`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator

from market.lib.text import strip_bidi_in
from services.standard.manifest_messages import (
    MAX_REPORTED_ERRORS,
    Path,
    Problem,
    closest,
    pointer_of,
    problems_from_schema_error,
    shown,
    unsupported_version,
)
from services.standard.schemas import load_schema
from services.standard.yaml_loader import YamlLoadError, load_strict_yaml

MAX_MANIFEST_BYTES = 64 * 1024
SUPPORTED_VERSIONS = ("1.0",)
MANIFEST_SCHEMA_FILE = "manifest-1.0.schema.json"

# Headers the market sets itself on every request; an API key header must not collide with them.
_RESERVED_HEADERS = frozenset(
    name.lower()
    for name in (
        "X-Market-Request-Id",
        "X-Market-Timestamp",
        "X-Market-Signature",
        "Content-Digest",
        "Signature",
        "Signature-Input",
        "Content-Type",
        "Content-Length",
        "Accept",
        "User-Agent",
        "Host",
    )
)


@dataclass(frozen=True)
class ManifestError:
    """One thing wrong with a manifest, where it is, and what to write instead."""

    pointer: str
    """JSON pointer of the field, e.g. "/endpoints/base_url" ("" for the whole document)."""
    message: str
    """English; says what to write instead."""
    message_ko: str
    line: int | None
    """1-based line in the submitted text, when known."""

    def as_dict(self) -> dict:
        return {
            "pointer": self.pointer,
            "message": self.message,
            "message_ko": self.message_ko,
            "line": self.line,
        }

    def format(self, *, lang: str = "en") -> str:
        """`<pointer>: <message> (line N)`; the document itself is shown as `/`."""
        message = self.message_ko if lang == "ko" else self.message
        where = f" (line {self.line})" if self.line is not None else ""
        return f"{self.pointer or '/'}: {message}{where}"


@dataclass(frozen=True)
class ManifestResult:
    """The outcome of validating a manifest text.

    `data` is the parsed document whenever the text parsed to a mapping, even when it has
    errors (so a form can show it back); it is None when the text could not be parsed.
    Only use `data` as a manifest when `is_valid`.
    """

    data: dict | None
    errors: tuple[ManifestError, ...] = field(default=())

    @property
    def is_valid(self) -> bool:
        return self.data is not None and not self.errors


@dataclass(frozen=True)
class PlanSpec:
    """One plan as the market stores it, merged from the manifest's `plans` and `features`."""

    code: str
    name: str
    features: list[str]
    price: Decimal
    currency: str
    billing_period: str
    max_users: int | None
    storage_limit_gb: int | None
    allowed_changes: list[str]
    unit_prices: dict[str, Decimal]
    position: int
    overage_prices: dict[str, Decimal] = field(default_factory=dict)


# -- public functions --------------------------------------------------------------------------


def validate_manifest_text(
    text: str | bytes, *, http_allowed_hosts: Collection[str] | None = None
) -> ManifestResult:
    """Parse and validate a manifest (YAML or JSON); never raises for any text or bytes.

    `http_allowed_hosts` lists hosts (`127.0.0.1`, `localhost`, or `host:port`) whose base_url
    may use plain http; by default `settings.VENDOR_HTTP_ALLOWED_HOSTS` when Django settings are
    available, otherwise none.
    """
    if http_allowed_hosts is None:
        http_allowed_hosts = _configured_http_hosts()

    raw_size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if raw_size > MAX_MANIFEST_BYTES:
        return _failed(
            "",
            None,
            f"the manifest is {raw_size} bytes; the limit is {MAX_MANIFEST_BYTES} bytes (64 KiB): "
            "shorten it (descriptions and extension fields are the usual suspects)",
            f"매니페스트 크기가 {raw_size}바이트입니다. 한도는 {MAX_MANIFEST_BYTES}바이트(64 KiB)"
            "입니다. 내용을 줄이세요.",
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            line = text.count(b"\n", 0, error.start) + 1
            byte = text[error.start]
            return _failed(
                "",
                line,
                f"the manifest is not UTF-8 text (byte 0x{byte:02x} at line {line} is not valid "
                "UTF-8): save the file as UTF-8",
                f"매니페스트가 UTF-8 텍스트가 아닙니다({line}행의 0x{byte:02x} 바이트). "
                "파일을 UTF-8로 저장하세요.",
            )
    text = text.removeprefix("\ufeff")  # a byte order mark some editors write
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate in a str from a careless caller
        line = text.count("\n", 0, error.start) + 1
        code = ord(text[error.start])
        return _failed(
            "",
            line,
            f"the manifest contains the invalid character U+{code:04X} at line {line}: save the "
            "file as UTF-8 text",
            f"매니페스트 {line}행에 잘못된 문자 U+{code:04X}가 있습니다. 파일을 UTF-8 텍스트로 "
            "저장하세요.",
        )

    try:
        document = load_strict_yaml(text)
    except YamlLoadError as error:
        return ManifestResult(
            data=None,
            errors=_sorted(
                ManifestError(p.pointer, p.message, p.message_ko, p.line) for p in error.problems
            ),
        )
    data, lines = document.data, document.lines
    if data is None:
        return _failed(
            "",
            None,
            'the manifest is empty: write a YAML mapping starting with version: "1.0"',
            '매니페스트가 비어 있습니다. version: "1.0"으로 시작하는 YAML 매핑을 쓰세요.',
        )
    if not isinstance(data, dict):
        return _failed(
            "",
            lines.get(""),
            f"the manifest must be a mapping of `key: value` lines, not {_kind_of(data)}: "
            'start with version: "1.0" and the service, endpoints and auth sections',
            '매니페스트는 `키: 값` 형태의 매핑이어야 합니다. version: "1.0"과 service, '
            "endpoints, auth 섹션으로 시작하세요.",
        )

    version = data.get("version")
    if isinstance(version, str) and version not in SUPPORTED_VERSIONS:
        # Another version has another shape: judging the rest by 1.0 would only add noise.
        problem = unsupported_version(version, SUPPORTED_VERSIONS)
        return ManifestResult(data=data, errors=(_to_error(problem, lines),))

    schema_errors = list(_manifest_validator().iter_errors(data))
    # A value of the wrong type also fails its enum/pattern/...: say only that the type is wrong.
    mistyped = {tuple(e.absolute_path) for e in schema_errors if e.validator == "type"}
    schema_problems = [
        problem
        for error in schema_errors
        if error.validator == "type" or tuple(error.absolute_path) not in mistyped
        for problem in problems_from_schema_error(error)
    ]
    flagged = {problem.pointer for problem in schema_problems}
    semantic = [
        problem
        for problem in _semantic_problems(data, http_allowed_hosts, _Flagged(flagged))
        if problem.pointer not in flagged
    ]
    unique: dict[tuple[str, str], Problem] = {}
    for problem in [*schema_problems, *semantic]:
        unique.setdefault((problem.pointer, problem.message), problem)
    errors = _sorted(_to_error(problem, lines) for problem in unique.values())
    if len(errors) > MAX_REPORTED_ERRORS:
        hidden = len(errors) - MAX_REPORTED_ERRORS
        errors = (
            *errors[:MAX_REPORTED_ERRORS],
            ManifestError(
                pointer="",
                message=f"at least {hidden} more errors are not shown: fix the errors above and "
                "validate again",
                message_ko=f"오류가 {hidden}개 이상 더 있습니다. 위의 오류를 고친 뒤 다시 검증하세요.",
                line=None,
            ),
        )
    # The data the market stores and shows carries no bidirectional controls (the raw text,
    # kept for the vendor, does): see market.lib.text.
    return ManifestResult(data=strip_bidi_in(data), errors=errors)


def plans_from_manifest(data: dict) -> list[PlanSpec]:
    """The plans of a valid manifest: `plans` entries first (in order), then `features`-only ones.

    A code in both takes everything from `plans` and its features from `plans.<code>.features`,
    falling back to `features.<code>`. A plan known only from `features` (the seed's form) is
    named after its code title-cased ("premium_plus" -> "Premium Plus"), costs 0 KRW monthly and
    has no limits.
    """
    features = data.get("features") if isinstance(data.get("features"), dict) else {}
    plans = data.get("plans") if isinstance(data.get("plans"), dict) else {}
    codes = list(plans) + [code for code in features if code not in plans]
    specs = []
    for position, code in enumerate(codes):
        plan = plans.get(code) if isinstance(plans.get(code), dict) else {}
        limits = plan.get("limits") if isinstance(plan.get("limits"), dict) else {}
        plan_features = plan.get("features", features.get(code, []))
        specs.append(
            PlanSpec(
                code=code,
                name=plan.get("name") or _title_from_code(code),
                features=list(plan_features or []),
                price=_decimal(plan.get("price", 0)),
                currency=plan.get("currency", "KRW"),
                billing_period=plan.get("billing_period", "monthly"),
                max_users=_optional_int(limits.get("max_users")),
                storage_limit_gb=_optional_int(limits.get("storage_limit_gb")),
                allowed_changes=list(plan.get("allowed_changes", [])),
                unit_prices={
                    metric: _decimal(price)
                    for metric, price in (plan.get("unit_prices") or {}).items()
                },
                position=position,
                overage_prices={
                    metric: _decimal(price)
                    for metric, price in (plan.get("overage_prices") or {}).items()
                },
            )
        )
    return specs


# -- semantic checks (what the schema cannot say) ----------------------------------------------


@dataclass(frozen=True)
class _Flagged:
    """Pointers the schema already reported; a check that reads them would only add noise."""

    pointers: set[str]

    def clean(self, prefix: str) -> bool:
        return not any(p == prefix or p.startswith(prefix + "/") for p in self.pointers)


def _semantic_problems(
    data: dict, http_allowed_hosts: Collection[str], flagged: _Flagged
) -> Iterator[Problem]:
    yield from _value_problems(data, ())
    yield from _base_url_problems(data, http_allowed_hosts)
    yield from _lti_url_problems(data, http_allowed_hosts)
    yield from _auth_header_problems(data)
    if flagged.clean("/isolation"):
        yield from _isolation_problems(data)
    if flagged.clean("/features"):
        yield from _plan_reference_problems(data)
    # Labels name codes of other sections: judged only once those sections have no error.
    if all(flagged.clean(section) for section in ("/labels", "/service", "/features", "/plans")):
        yield from _label_problems(data)


def _value_problems(value, path: Path) -> Iterator[Problem]:
    """Non-finite numbers and NUL characters: YAML allows them, JSON and PostgreSQL do not."""
    if isinstance(value, float) and not math.isfinite(value):
        ptr = pointer_of(path)
        yield Problem(
            path,
            f"`{ptr}` is {shown(value)}, which is not a finite number: write a number such as 0 or 100",
            f"`{ptr}` 값 {shown(value)}은(는) 유한한 숫자가 아닙니다. 0이나 100 같은 숫자를 쓰세요.",
        )
    elif isinstance(value, str) and "\x00" in value:
        ptr = pointer_of(path)
        yield Problem(
            path,
            f"`{ptr}` contains a NUL character (\\0): remove it",
            f"`{ptr}` 값에 NUL 문자(\\0)가 있습니다. 지우세요.",
        )
    elif isinstance(value, dict):
        for key, child in value.items():
            if "\x00" in key:
                ptr = pointer_of((*path, key))
                yield Problem(
                    (*path, key),
                    f"`{ptr}`: the key contains a NUL character (\\0): remove it",
                    f"`{ptr}`: 키에 NUL 문자(\\0)가 있습니다. 지우세요.",
                )
            yield from _value_problems(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _value_problems(child, (*path, index))


def _base_url_problems(data: dict, http_allowed_hosts: Collection[str]) -> Iterator[Problem]:
    endpoints = data.get("endpoints")
    base_url = endpoints.get("base_url") if isinstance(endpoints, dict) else None
    if not isinstance(base_url, str) or not base_url.startswith(("https://", "http://")):
        return  # missing or malformed: the schema reports it
    path = ("endpoints", "base_url")
    ptr = pointer_of(path)
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError:
        yield Problem(
            path,
            f"`{ptr}` has an invalid host or port (found {shown(base_url)}): write e.g. "
            '"https://keli.k-university.ai" or "https://keli.k-university.ai:8443"',
            f"`{ptr}` 값의 호스트나 포트가 올바르지 않습니다(현재: {shown(base_url)}). "
            '예: "https://keli.k-university.ai"',
        )
        return
    if not parts.hostname:
        yield Problem(
            path,
            f'`{ptr}` has no host: write e.g. "https://keli.k-university.ai"',
            f'`{ptr}` 값에 호스트가 없습니다. 예: "https://keli.k-university.ai"',
        )
        return
    if parts.scheme == "http" and not _http_host_allowed(
        parts.hostname, port or 80, http_allowed_hosts
    ):
        allowed = ", ".join(sorted(http_allowed_hosts))
        https_url = "https://" + base_url.removeprefix("http://")
        yield Problem(
            path,
            f"`{ptr}` must use https: plain http is accepted only for the development hosts the "
            f"market allows ({allowed or 'none'}); write {shown(https_url)}",
            f"`{ptr}` 값은 https를 써야 합니다. http는 마켓이 허용한 개발용 호스트({allowed or '없음'})에만 "
            f"쓸 수 있습니다. {shown(https_url)}처럼 쓰세요.",
        )


LTI_URL_FIELDS = ("login_initiation_url", "target_link_uri", "jwks_url")


def lti_urls(data: dict) -> list[tuple[Path, str]]:
    """Every URL of the manifest's `lti` section with its path (empty without the section)."""
    lti = data.get("lti")
    if not isinstance(lti, dict):
        return []
    urls: list[tuple[Path, str]] = [
        (("lti", name), lti[name]) for name in LTI_URL_FIELDS if isinstance(lti.get(name), str)
    ]
    redirects = lti.get("redirect_uris")
    if isinstance(redirects, list):
        urls += [
            (("lti", "redirect_uris", index), url)
            for index, url in enumerate(redirects)
            if isinstance(url, str)
        ]
    return urls


def _lti_url_problems(data: dict, http_allowed_hosts: Collection[str]) -> Iterator[Problem]:
    """LTI URLs are opened by browsers with signed tokens: https, except allowed dev hosts."""
    for path, url in lti_urls(data):
        ptr = pointer_of(path)
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            parts, port = None, None
        if parts is None or not parts.hostname or parts.username or parts.password:
            yield Problem(
                path,
                f"`{ptr}` has an invalid host, port or user info (found {shown(url)}): write e.g. "
                '"https://keli.k-university.ai/lti/launch"',
                f"`{ptr}` 값의 호스트, 포트 또는 사용자 정보가 올바르지 않습니다(현재: {shown(url)}). "
                '예: "https://keli.k-university.ai/lti/launch"',
            )
            continue
        if parts.fragment:
            yield Problem(
                path,
                f"`{ptr}` must not contain a fragment (#...) (found {shown(url)}): remove it",
                f"`{ptr}` 값에 프래그먼트(#...)를 쓸 수 없습니다(현재: {shown(url)}). 지우세요.",
            )
        if parts.scheme == "http" and not _http_host_allowed(
            parts.hostname, port or 80, http_allowed_hosts
        ):
            https_url = "https://" + url.removeprefix("http://")
            yield Problem(
                path,
                f"`{ptr}` must use https: an LTI launch carries a signed id_token, and plain http "
                f"is accepted only for the development hosts the market allows; write "
                f"{shown(https_url)}",
                f"`{ptr}` 값은 https를 써야 합니다. LTI 실행은 서명된 id_token을 전달하므로 http는 "
                f"마켓이 허용한 개발용 호스트에만 쓸 수 있습니다. {shown(https_url)}처럼 쓰세요.",
            )


def http_url_allowed(url: str, allowed: Collection[str] | None = None) -> bool:
    """Whether a plain-http URL is on one of the development hosts the market allows."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    hosts = _configured_http_hosts() if allowed is None else allowed
    return _http_host_allowed(parts.hostname, parts.port or 80, hosts)


def _http_host_allowed(hostname: str, port: int, allowed: Collection[str]) -> bool:
    for entry in allowed:
        entry = entry.strip().lower()
        if entry.startswith("["):  # "[::1]" or "[::1]:8000"
            host, _, rest = entry[1:].partition("]")
            entry_port = rest.removeprefix(":")
        elif entry.count(":") == 1:
            host, _, entry_port = entry.partition(":")
        else:
            host, entry_port = entry, ""
        if host != hostname.lower():
            continue
        if not entry_port or (entry_port.isdigit() and int(entry_port) == port):
            return True
    return False


def _auth_header_problems(data: dict) -> Iterator[Problem]:
    auth = data.get("auth")
    header = auth.get("header") if isinstance(auth, dict) else None
    if isinstance(header, str) and header.lower() in _RESERVED_HEADERS:
        path = ("auth", "header")
        ptr = pointer_of(path)
        yield Problem(
            path,
            f"`{ptr}` {shown(header)} is a header the market already sends: write another name, "
            'e.g. "X-Market-API-Key"',
            f"`{ptr}` {shown(header)}은(는) 마켓이 이미 보내는 헤더입니다. 다른 이름을 쓰세요. "
            '예: "X-Market-API-Key"',
        )


def _isolation_problems(data: dict) -> Iterator[Problem]:
    isolation = data.get("isolation")
    if not isinstance(isolation, dict):
        return
    supported = isolation.get("supported")
    default = isolation.get("default")
    if not isinstance(supported, list) or not isinstance(default, str) or default in supported:
        return
    listed = list(dict.fromkeys(level for level in supported if isinstance(level, str)))
    path = ("isolation", "default")
    choices = ", ".join(listed) or "a level listed in supported"
    yield Problem(
        path,
        f"`/isolation/default` is {shown(default)}, which `/isolation/supported` does not list: "
        f"write one of {choices}, or add {shown(default)} to supported",
        f"`/isolation/default` 값 {shown(default)}이(가) `/isolation/supported`에 없습니다. "
        f"{choices} 중 하나를 쓰거나 supported에 {shown(default)}을(를) 추가하세요.",
    )


def _plan_reference_problems(data: dict) -> Iterator[Problem]:
    features = data.get("features")
    plans = data.get("plans")
    if not isinstance(plans, dict):
        return
    declared_features: set[str] | None = None
    if isinstance(features, dict):
        declared_features = {
            name
            for names in features.values()
            if isinstance(names, list)
            for name in names
            if isinstance(name, str)
        }
    plan_codes = list(plans) + [
        code for code in (features if isinstance(features, dict) else {}) if code not in plans
    ]
    for code, plan in plans.items():
        if not isinstance(plan, dict):
            continue
        plan_features = plan.get("features")
        if declared_features is not None and isinstance(plan_features, list):
            for index, name in enumerate(plan_features):
                if isinstance(name, str) and name not in declared_features:
                    yield _undeclared_feature(
                        ("plans", code, "features", index), name, declared_features
                    )
        changes = plan.get("allowed_changes")
        if isinstance(changes, list):
            for index, target in enumerate(changes):
                if isinstance(target, str) and target not in plan_codes:
                    path = ("plans", code, "allowed_changes", index)
                    ptr = pointer_of(path)
                    listed = ", ".join(plan_codes)
                    yield Problem(
                        path,
                        f"`{ptr}` names the plan {shown(target)}, which this manifest does not "
                        f"declare: write one of {listed}",
                        f"`{ptr}`의 요금제 {shown(target)}은(는) 이 매니페스트에 없습니다. 다음 중 "
                        f"하나를 쓰세요: {listed}",
                    )


def _offered_features(data: dict) -> list[str]:
    """Every feature name of the manifest's plans, in both forms, in document order."""
    names: dict[str, None] = {}
    for section in ("features", "plans"):
        value = data.get(section)
        if not isinstance(value, dict):
            continue
        for entry in value.values():
            listed = entry.get("features") if isinstance(entry, dict) else entry
            if isinstance(listed, list):
                names.update(dict.fromkeys(n for n in listed if isinstance(n, str)))
    return list(names)


def _label_problems(data: dict) -> Iterator[Problem]:
    """A label names a code the manifest uses: a feature of a plan, a category of the service."""
    labels = data.get("labels")
    if not isinstance(labels, dict):
        return
    service = data.get("service") if isinstance(data.get("service"), dict) else {}
    categories = service.get("categories") if isinstance(service.get("categories"), list) else []
    known = {
        "features": (_offered_features(data), "a feature of a plan", "요금제의 기능"),
        "categories": (
            [c for c in categories if isinstance(c, str)],
            "a category in /service/categories",
            "/service/categories의 분류",
        ),
    }
    for section, (codes, what, what_ko) in known.items():
        entries = labels.get(section)
        if not isinstance(entries, dict):
            continue
        for code in entries:
            if code in codes:
                continue
            path = ("labels", section, code)
            ptr = pointer_of(path)
            listed = ", ".join(codes[:20]) or "(none)"
            meant = closest(code, codes)
            hint_en = f"did you mean `{meant}`? " if meant else ""
            hint_ko = f"혹시 `{meant}`인가요? " if meant else ""
            yield Problem(
                path,
                f"`{ptr}` labels {shown(code)}, which is not {what}: {hint_en}label one of "
                f"{listed}, or remove this label",
                f"`{ptr}`의 {shown(code)}은(는) {what_ko}가 아닙니다. {hint_ko}다음 중 하나에 표시 "
                f"이름을 붙이거나 이 항목을 지우세요: {listed}",
            )


def _undeclared_feature(path: Path, name: str, declared: set[str]) -> Problem:
    ptr = pointer_of(path)
    listed = ", ".join(sorted(declared)[:20]) or "(none yet)"
    return Problem(
        path,
        f"`{ptr}`: the feature {shown(name)} is not declared in `/features`: use one of "
        f"{listed}, or add it to a plan under features",
        f"`{ptr}`: 기능 {shown(name)}이(가) `/features`에 선언되어 있지 않습니다. {listed} 중 "
        "하나를 쓰거나 features의 요금제에 추가하세요.",
    )


# -- helpers -----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _manifest_validator() -> Draft202012Validator:
    schema = load_schema(MANIFEST_SCHEMA_FILE)
    Draft202012Validator.check_schema(schema)
    # The same rules with every local $ref replaced by its target: jsonschema resolves a $ref on
    # each visit, which doubled the time of a validation.
    return Draft202012Validator(_inline_local_refs(schema, schema.get("$defs", {})))


def _inline_local_refs(node, definitions: dict):
    """A copy of a (non-recursive) schema with each `{"$ref": "#/$defs/x", ...}` expanded."""
    if isinstance(node, list):
        return [_inline_local_refs(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    expanded = {
        key: _inline_local_refs(value, definitions)
        for key, value in node.items()
        if key not in ("$ref", "$defs")
    }
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        target = _inline_local_refs(definitions[reference.removeprefix("#/$defs/")], definitions)
        expanded = {**target, **expanded}
    return expanded


def _configured_http_hosts() -> tuple[str, ...]:
    """settings.VENDOR_HTTP_ALLOWED_HOSTS when Django settings exist, else no hosts."""
    import os

    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return ()
    try:
        return tuple(getattr(settings, "VENDOR_HTTP_ALLOWED_HOSTS", ()) or ())
    except ImproperlyConfigured:
        return ()


def _line_for(pointer: str, lines: dict[str, int]) -> int | None:
    """The line of the pointer, or of its nearest ancestor that exists (for missing keys)."""
    while True:
        if pointer in lines:
            return lines[pointer]
        if not pointer:
            return None
        pointer = pointer.rpartition("/")[0]


def _to_error(problem: Problem, lines: dict[str, int]) -> ManifestError:
    return ManifestError(
        pointer=problem.pointer,
        message=problem.message,
        message_ko=problem.message_ko,
        line=_line_for(problem.pointer, lines),
    )


def _sorted(errors) -> tuple[ManifestError, ...]:
    return tuple(sorted(errors, key=lambda e: (e.line or 0, e.pointer, e.message)))


def _failed(pointer: str, line: int | None, message: str, message_ko: str) -> ManifestResult:
    return ManifestResult(data=None, errors=(ManifestError(pointer, message, message_ko, line),))


def _kind_of(value) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "plain text"
    return f"the single value {shown(value)}"


def _title_from_code(code: str) -> str:
    return code.replace("_", " ").replace("-", " ").title()


def _decimal(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return Decimal(0)
    # str() first so 0.1 becomes Decimal("0.1"), not the binary float's long expansion.
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def _optional_int(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)
