"""Human sentences (English and Korean) for everything that can be wrong in a manifest.

jsonschema's own texts ("'name' is a required property") are never shown to vendors; every
schema error is rewritten here into "<where>: <what is wrong>: <what to write instead>".
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from jsonschema import ValidationError

from services.standard.manifest_fields import field_key, field_text, known_fields
from services.standard.yaml_loader import escape_pointer_token

Path = tuple[str | int, ...]

MAX_REPORTED_ERRORS = 100


@dataclass(frozen=True)
class Problem:
    """One error before a line number is attached."""

    path: Path
    message: str
    message_ko: str

    @property
    def pointer(self) -> str:
        return pointer_of(self.path)


def pointer_of(path: Path) -> str:
    return "".join(f"/{escape_pointer_token(part)}" for part in path)


def shown(value, limit: int = 60) -> str:
    """A value as the vendor would recognise it, shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def closest(value, choices) -> str | None:
    """The choice the vendor most likely meant, if any is close."""
    if not isinstance(value, str):
        return None
    names = [str(choice) for choice in choices]
    matches = difflib.get_close_matches(value, names, n=1, cutoff=0.6)
    matches = matches or [name for name in names if name.lower() == value.lower()]
    return matches[0] if matches else None


def _has_final_consonant(word: str) -> bool | None:
    """Whether the last Hangul syllable of `word` ends in a consonant; None if not Hangul."""
    last = word.rstrip()[-1:] if word.strip() else ""
    if not last or not "가" <= last <= "힣":
        return None
    return (ord(last) - ord("가")) % 28 != 0


def ko_particle(word: str, with_final: str, without_final: str) -> str:
    """`word` with the right Korean particle (을/를, 은/는, 이/가), or both when unknown."""
    final = _has_final_consonant(word)
    if final is None:
        return f"{word}{with_final}({without_final})"
    return word + (with_final if final else without_final)


_TYPE_EN = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping of `key: value` lines",
    "null": "empty",
}
_TYPE_KO = {
    "string": "문자열",
    "integer": "정수",
    "number": "숫자",
    "boolean": "true 또는 false",
    "array": "목록",
    "object": "`키: 값` 형태의 매핑",
    "null": "빈 값",
}


def _kind(value) -> tuple[str, str]:
    if value is None:
        return "an empty value", "빈 값"
    if isinstance(value, bool):
        return f"the true/false value {shown(value)}", f"참/거짓 값 {shown(value)}"
    if isinstance(value, int | float):
        return f"the number {shown(value)}", f"숫자 {shown(value)}"
    if isinstance(value, str):
        return f"the text {shown(value)}", f"문자열 {shown(value)}"
    if isinstance(value, list):
        return "a list", "목록"
    return "a mapping", "매핑"


def _example_line(path: Path) -> str:
    """The field's example as a YAML line, e.g. `name: "KELI TUTOR"`."""
    example = field_text(path).example
    if not example or not path or isinstance(path[-1], int):
        return example
    name = str(path[-1])
    if example.startswith(f"{name}:"):
        return example
    return f"{name}: {example}"


# -- schema errors -----------------------------------------------------------------------------


def problems_from_schema_error(error: ValidationError) -> list[Problem]:
    """Rewrite one jsonschema error as one or more Problems (one per missing or unknown key)."""
    path: Path = tuple(error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:
        return [_bad_key(path, error.instance)]
    handler = _HANDLERS.get(error.validator, _fallback)
    return handler(error, path)


def _required(error: ValidationError, path: Path) -> list[Problem]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    problems = []
    for name in error.validator_value:
        if name in instance:
            continue
        child = (*path, name)
        text = field_text(child)
        ptr = pointer_of(child)
        problems.append(
            Problem(
                child,
                f"`{ptr}` is missing: add {text.what}, e.g. {_example_line(child)}",
                f"`{ptr}` 항목이 없습니다. {ko_particle(text.what_ko, '을', '를')} 추가하세요. "
                f"예: {_example_line(child)}",
            )
        )
    return problems


def _additional_properties(error: ValidationError, path: Path) -> list[Problem]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    declared = set(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    instance = error.instance if isinstance(error.instance, dict) else {}
    where_en = "the manifest" if not path else f"`{pointer_of(path)}`"
    where_ko = "매니페스트" if not path else f"`{pointer_of(path)}`"
    problems = []
    unknown = [
        key
        for key in instance
        if key not in declared and not any(re.search(pattern, key) for pattern in patterns)
    ]
    # Document order; past the cap the vendor sees a count instead (and we skip difflib's cost).
    for key in unknown[:MAX_REPORTED_ERRORS]:
        child = (*path, key)
        ptr = pointer_of(child)
        choices = sorted(declared) or known_fields(path)
        meant = closest(key, choices)
        rename_en = f"rename it to `{meant}`, or " if meant else ""
        rename_ko = f"`{meant}`(으)로 고치거나, " if meant else ""
        problems.append(
            Problem(
                child,
                f"`{ptr}` is not a field of {where_en}: {rename_en}remove it, or name it "
                f"`x-{key}` if it is your own extension (keys starting with x- are ignored)",
                f"`{ptr}`은(는) {where_ko}에 정의된 항목이 아닙니다. {rename_ko}지우거나, 직접 정의한 "
                f"확장 항목이면 `x-{key}`로 이름을 바꾸세요(x-로 시작하는 키는 무시됩니다).",
            )
        )
    return problems


def _type(error: ValidationError, path: Path) -> list[Problem]:
    expected = error.validator_value
    expected = expected[0] if isinstance(expected, list) else expected
    value = error.instance
    ptr = pointer_of(path)
    found_en, found_ko = _kind(value)
    if field_key(path) == "version":
        return [
            Problem(
                path,
                f'`{ptr}` must be text in quotes: write version: "1.0" (without quotes YAML reads '
                f"{shown(value)} as {found_en})",
                f'`{ptr}` 값은 따옴표로 감싼 문자열이어야 합니다. version: "1.0"처럼 쓰세요.',
            )
        ]
    text = field_text(path)
    hint_en = hint_ko = ""
    if expected == "string" and isinstance(value, bool | int | float):
        hint_en = (
            ": put the value in quotes (without quotes YAML reads numbers and yes/no/on/off/"
            "true/false as something other than text)"
        )
        hint_ko = " 값을 따옴표로 감싸세요(따옴표가 없으면 YAML은 숫자와 yes/no/true/false를 문자열로 읽지 않습니다)."
    elif value is None:
        hint_en = ": write the value after the colon, or remove the key"
        hint_ko = " 콜론 뒤에 값을 쓰거나 키를 지우세요."
    elif expected in ("integer", "number") and isinstance(value, str):
        hint_en = ": write the number without quotes"
        hint_ko = " 숫자는 따옴표 없이 쓰세요."
    example = f", e.g. {_example_line(path)}" if text.example else ""
    return [
        Problem(
            path,
            f"`{ptr}` must be {_TYPE_EN.get(expected, expected)}{example}; found {found_en}{hint_en}",
            f"`{ptr}` 값은 {_TYPE_KO.get(expected, expected)}이어야 합니다(현재: {found_ko}).{hint_ko}"
            + (f" 예: {_example_line(path)}" if text.example else ""),
        )
    ]


def _enum(error: ValidationError, path: Path) -> list[Problem]:
    choices = list(error.validator_value)
    ptr = pointer_of(path)
    listed = ", ".join(str(choice) for choice in choices)
    if field_key(path) == "version":
        # A non-text version already has a type error that says to quote it.
        return (
            [unsupported_version(error.instance, choices)]
            if isinstance(error.instance, str)
            else []
        )
    meant = closest(error.instance, choices)
    return [
        Problem(
            path,
            f"`{ptr}` must be one of {listed}; found {shown(error.instance)}"
            + (f": did you mean {meant}?" if meant else ""),
            f"`{ptr}` 값은 {listed} 중 하나여야 합니다(현재: {shown(error.instance)})."
            + (f" {meant}을(를) 의도하셨나요?" if meant else ""),
        )
    ]


def _pattern(error: ValidationError, path: Path) -> list[Problem]:
    key = field_key(path)
    value = error.instance
    ptr = pointer_of(path)
    if key.startswith("endpoints.") and key != "endpoints.base_url":
        reason_en, reason_ko = path_problem(value, needs_tenant=key != "endpoints.health")
        example = field_text(path).example
        return [
            Problem(
                path,
                f"`{ptr}` {reason_en}, e.g. {example}",
                f"`{ptr}` {reason_ko} 예: {example}",
            )
        ]
    if key == "endpoints.base_url":
        reason_en, reason_ko = base_url_problem(value)
        return [
            Problem(
                path,
                f'`{ptr}` {reason_en}, e.g. "https://keli.k-university.ai"',
                f'`{ptr}` {reason_ko} 예: "https://keli.k-university.ai"',
            )
        ]
    text = field_text(path)
    suggestion = ""
    if key in ("service.id", "plans.*.allowed_changes.[]"):
        slug = slugify(value)
        if slug:
            suggestion = f" `{slug}`"
    return [
        Problem(
            path,
            f"`{ptr}` is not in the expected form (found {shown(value)}): write {text.what}, "
            f"e.g.{suggestion or ' ' + text.example}",
            f"`{ptr}` 값의 형식이 올바르지 않습니다(현재: {shown(value)}). "
            f"{ko_particle(text.what_ko, '을', '를')} 쓰세요. 예:{suggestion or ' ' + text.example}",
        )
    ]


def _bad_key(path: Path, key) -> Problem:
    """A plan code, metric or custom parameter name (a key the vendor chooses) has the wrong form."""
    child = (*path, str(key))
    ptr = pointer_of(child)
    slug = slugify(str(key))
    if field_key(path) == "plans.*.unit_prices":
        what = "a metric name: lowercase letters, digits and _, starting with a letter"
        what_ko = "지표 이름(영문 소문자·숫자·_, 영문 소문자로 시작)"
        example = slug.replace("-", "_") if slug else "ai_tokens"
    elif field_key(path) == "lti.custom":
        what = "a custom parameter name: lowercase letters, digits and _, starting with a letter"
        what_ko = "사용자 지정 매개변수 이름(영문 소문자·숫자·_, 영문 소문자로 시작)"
        example = slug.replace("-", "_") if slug else "course_mode"
    else:
        what = (
            "a plan code: lowercase letters, digits, _ or -, starting with a letter, "
            "2 to 64 characters"
        )
        what_ko = "요금제 코드(영문 소문자·숫자·_·-, 영문 소문자로 시작, 2~64자)"
        example = slug or "basic"
    return Problem(
        child,
        f"`{ptr}`: the key {shown(key)} is not {what}; write e.g. `{example}`",
        f"`{ptr}`: 키 {shown(key)}은(는) 올바른 {what_ko}이(가) 아닙니다. 예: `{example}`",
    )


def _length(error: ValidationError, path: Path) -> list[Problem]:
    ptr = pointer_of(path)
    text = field_text(path)
    value = error.instance
    if error.validator == "minLength":
        example = f", e.g. {text.example}" if text.example else ""
        return [
            Problem(
                path,
                f"`{ptr}` is empty: write {text.what}{example}",
                f"`{ptr}` 값이 비어 있습니다. {ko_particle(text.what_ko, '을', '를')} 쓰세요."
                + (f" 예: {text.example}" if text.example else ""),
            )
        ]
    limit = error.validator_value
    return [
        Problem(
            path,
            f"`{ptr}` is too long ({len(value)} characters): shorten it to at most {limit}",
            f"`{ptr}` 값이 너무 깁니다({len(value)}자). {limit}자 이하로 줄이세요.",
        )
    ]


def _bounds(error: ValidationError, path: Path) -> list[Problem]:
    ptr = pointer_of(path)
    text = field_text(path)
    limit = error.validator_value
    value = shown(error.instance)
    if error.validator in ("minimum", "exclusiveMinimum"):
        relation_en, relation_ko = "at least", "이상이어야"
    else:
        relation_en, relation_ko = "at most", "이하여야"
    return [
        Problem(
            path,
            f"`{ptr}` must be {relation_en} {limit} (found {value}): write {text.what}",
            f"`{ptr}` 값은 {limit} {relation_ko} 합니다(현재: {value}). "
            f"{ko_particle(text.what_ko, '을', '를')} 쓰세요.",
        )
    ]


def _items_count(error: ValidationError, path: Path) -> list[Problem]:
    ptr = pointer_of(path)
    text = field_text(path)
    limit = error.validator_value
    count = len(error.instance)
    if error.validator in ("minItems", "minProperties"):
        return [
            Problem(
                path,
                f"`{ptr}` is empty: add at least {limit}, e.g. {_example_line(path)}",
                f"`{ptr}` 값이 비어 있습니다. 최소 {limit}개를 추가하세요. 예: {_example_line(path)}",
            )
        ]
    noun = "entries" if error.validator == "maxProperties" else "values"
    return [
        Problem(
            path,
            f"`{ptr}` has {count} {noun}: keep at most {limit} ({text.what})",
            f"`{ptr}` 항목이 {count}개입니다. {limit}개 이하로 줄이세요.",
        )
    ]


def _unique(error: ValidationError, path: Path) -> list[Problem]:
    ptr = pointer_of(path)
    seen: list = []
    repeated = None
    for item in error.instance:
        if item in seen:
            repeated = item
            break
        seen.append(item)
    return [
        Problem(
            path,
            f"`{ptr}` lists {shown(repeated)} more than once: write each value once",
            f"`{ptr}`에 {shown(repeated)}이(가) 두 번 이상 있습니다. 각 값은 한 번만 쓰세요.",
        )
    ]


def _any_of(error: ValidationError, path: Path) -> list[Problem]:
    if path == ():
        child = ("features",)
        return [
            Problem(
                child,
                "`/features` is missing: add the features per plan (plan code: list of features, "
                'e.g. features: {basic: ["ai_chat"]}) or `plans` (plans with prices); the manifest '
                "declares no plans",
                "`/features` 항목이 없습니다. 요금제별 기능(요금제 코드: 기능 목록, 예: features: "
                '{basic: ["ai_chat"]}) 또는 `plans`(가격이 있는 요금제)를 추가하세요. 지금은 '
                "매니페스트에 요금제가 하나도 없습니다.",
            )
        ]
    return _fallback(error, path)


def _fallback(error: ValidationError, path: Path) -> list[Problem]:
    ptr = pointer_of(path) or "/"
    text = field_text(path)
    example = f", e.g. {text.example}" if text.example else ""
    return [
        Problem(
            path,
            f"`{ptr}` has a value the standard does not allow: write {text.what}{example}",
            f"`{ptr}` 값은 표준에서 허용되지 않습니다. {ko_particle(text.what_ko, '을', '를')} 쓰세요.",
        )
    ]


_HANDLERS = {
    "required": _required,
    "additionalProperties": _additional_properties,
    "type": _type,
    "enum": _enum,
    "pattern": _pattern,
    "minLength": _length,
    "maxLength": _length,
    "minimum": _bounds,
    "maximum": _bounds,
    "exclusiveMinimum": _bounds,
    "exclusiveMaximum": _bounds,
    "minItems": _items_count,
    "maxItems": _items_count,
    "minProperties": _items_count,
    "maxProperties": _items_count,
    "uniqueItems": _unique,
    "anyOf": _any_of,
}


# -- field-specific diagnoses ------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def path_problem(value: str, *, needs_tenant: bool) -> tuple[str, str]:
    """Why an endpoint path is not acceptable, in English and Korean."""
    if value.startswith(("http://", "https://")):
        return (
            'must be only the path starting with "/" (the scheme and host belong in '
            "endpoints.base_url)",
            '값은 "/"로 시작하는 경로만 써야 합니다(스킴과 호스트는 endpoints.base_url에 씁니다).',
        )
    if not value.startswith("/"):
        return ('must start with "/"', '값은 "/"로 시작해야 합니다.')
    if re.search(r"\s", value):
        return ("must not contain spaces", "값에 공백이 있으면 안 됩니다.")
    if "?" in value or "#" in value:
        return (
            "must not contain a query (?) or fragment (#): the market adds query parameters itself",
            "값에 쿼리(?)나 프래그먼트(#)가 있으면 안 됩니다. 쿼리 매개변수는 마켓이 붙입니다.",
        )
    others = [p for p in _PLACEHOLDER.findall(value) if p != "{tenant_id}"]
    if others:
        return (
            f"may only contain the placeholder {{tenant_id}}; found {others[0]}",
            f"값에는 {{tenant_id}} 자리표시자만 쓸 수 있습니다(현재: {others[0]}).",
        )
    if "{" in value.replace("{tenant_id}", "") or "}" in value.replace("{tenant_id}", ""):
        return (
            "has an unmatched brace: write the placeholder exactly as {tenant_id}",
            "값에 짝이 맞지 않는 중괄호가 있습니다. 자리표시자는 정확히 {tenant_id}로 쓰세요.",
        )
    if needs_tenant and "{tenant_id}" not in value:
        return (
            "must contain {tenant_id} where the market puts the tenant id",
            "값에는 마켓이 테넌트 ID를 넣을 {tenant_id}가 있어야 합니다.",
        )
    if not needs_tenant and "{tenant_id}" in value:
        return (
            "is called without a tenant: remove {tenant_id}",
            "경로는 테넌트 없이 호출됩니다. {tenant_id}를 지우세요.",
        )
    return ("is not a valid path", "값은 올바른 경로가 아닙니다.")


def base_url_problem(value: str) -> tuple[str, str]:
    """Why a base_url does not have the form of an absolute http(s) URL."""
    if not value.startswith(("https://", "http://")):
        return ("must start with https://", "값은 https://로 시작해야 합니다.")
    if re.search(r"\s", value):
        return ("must not contain spaces", "값에 공백이 있으면 안 됩니다.")
    try:
        parts = urlsplit(value)
    except ValueError:
        return ("is not a valid URL", "값이 올바른 URL이 아닙니다.")
    if "@" in parts.netloc:
        return (
            "must not contain user info (user:password@): the market authenticates as `auth` says",
            "값에 사용자 정보(user:password@)가 있으면 안 됩니다. 인증은 `auth`에 따라 합니다.",
        )
    if "?" in value:
        return ("must not have a query (?...)", "값에 쿼리(?...)가 있으면 안 됩니다.")
    if "#" in value:
        return ("must not have a fragment (#...)", "값에 프래그먼트(#...)가 있으면 안 됩니다.")
    return ("must name a host", "값에 호스트가 있어야 합니다.")


def unsupported_version(value, supported) -> Problem:
    accepted = ", ".join(f'"{version}"' for version in supported)
    return Problem(
        ("version",),
        f"`/version` {shown(value)} is not a supported manifest version: write one of {accepted}",
        f"`/version` {shown(value)}은(는) 지원하지 않는 매니페스트 버전입니다. 다음 중 하나를 쓰세요: "
        f"{accepted}",
    )


def slugify(value) -> str:
    """A slug close to what the vendor wrote, for "e.g." suggestions ("" if none)."""
    if not isinstance(value, str):
        return ""
    slug = re.sub(r"[^a-z0-9_-]+", "_", value.strip().lower()).strip("_-")
    slug = re.sub(r"^[^a-z]+", "", slug)[:64]
    return slug if len(slug) >= 2 else ""
