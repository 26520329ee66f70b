"""What each manifest field holds, in words a vendor can act on (English and Korean).

Error messages say what to write instead, so they need, per field, a description of what
belongs there and an example. Fields are keyed by their *shape* path: plan codes and metric
names become `*`, list positions become `[]` (see `field_key`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldText:
    what: str
    """English noun phrase: what belongs in the field."""
    what_ko: str
    example: str
    """An example as the vendor would write it in YAML."""


_TENANT_PATH_KO = "경로({tenant_id} 포함)"

FIELD_TEXTS: dict[str, FieldText] = {
    "": FieldText(
        'a YAML mapping starting with `version: "1.0"`',
        '`version: "1.0"`으로 시작하는 YAML 매핑',
        'version: "1.0"',
    ),
    "version": FieldText(
        "the manifest standard version as text in quotes",
        "따옴표로 감싼 매니페스트 표준 버전",
        '"1.0"',
    ),
    "service": FieldText(
        "the service section with id, name, version and vendor",
        "id, name, version, vendor를 담은 service 섹션",
        'service: {id: "keli_tutor", name: "KELI TUTOR", version: "1.0.0", vendor: "K-University AI Lab"}',
    ),
    "service.id": FieldText(
        "the service id (lowercase letters, digits, _ or -, starting with a letter, 2 to 64 "
        "characters)",
        "서비스 ID(영문 소문자·숫자·_·-, 영문 소문자로 시작, 2~64자)",
        '"keli_tutor"',
    ),
    "service.name": FieldText("the service's display name", "서비스 표시 이름", '"KELI TUTOR"'),
    "service.description": FieldText(
        "a short description of the service", "서비스에 대한 짧은 설명", '"AI-based learning tutor"'
    ),
    "service.version": FieldText("the service's own version", "서비스 자체의 버전", '"1.0.0"'),
    "service.vendor": FieldText("the vendor's name", "공급사 이름", '"K-University AI Lab"'),
    "service.contact": FieldText(
        "a support contact (e-mail address or URL)",
        "지원 연락처(이메일 주소 또는 URL)",
        '"support@k-university.ai"',
    ),
    "service.homepage": FieldText(
        "the service's web page as an absolute http(s) URL",
        "서비스 웹 페이지의 절대 http(s) URL",
        '"https://keli.k-university.ai/about"',
    ),
    "service.logo_url": FieldText(
        "the logo image as an absolute https URL",
        "로고 이미지의 절대 https URL",
        '"https://keli.k-university.ai/logo.png"',
    ),
    "service.privacy_url": FieldText(
        "the privacy policy page as an absolute http(s) URL",
        "개인정보 처리방침 페이지의 절대 http(s) URL",
        '"https://keli.k-university.ai/privacy"',
    ),
    "service.terms_url": FieldText(
        "the terms of service page as an absolute http(s) URL",
        "이용약관 페이지의 절대 http(s) URL",
        '"https://keli.k-university.ai/terms"',
    ),
    "service.categories": FieldText(
        "a list of catalogue categories", "카탈로그 분류 목록", '["tutoring", "ai"]'
    ),
    "service.categories.[]": FieldText(
        "a category name (1 to 50 characters)", "분류 이름(1~50자)", '"tutoring"'
    ),
    "endpoints": FieldText(
        "the endpoints section with base_url and the standard paths",
        "base_url과 표준 경로를 담은 endpoints 섹션",
        'endpoints: {base_url: "https://keli.k-university.ai", health: "/mt/health", ...}',
    ),
    "endpoints.base_url": FieldText(
        "the absolute https URL of your service, without user info, query or fragment",
        "서비스의 절대 https URL(사용자 정보·쿼리·프래그먼트 없이)",
        '"https://keli.k-university.ai"',
    ),
    "endpoints.health": FieldText(
        "the health check path (no {tenant_id})", "상태 확인 경로({tenant_id} 없이)", '"/mt/health"'
    ),
    "endpoints.tenant_activate": FieldText(
        "the tenant activation path",
        "테넌트 활성화 " + _TENANT_PATH_KO,
        '"/mt/tenant/{tenant_id}/activate"',
    ),
    "endpoints.tenant_deactivate": FieldText(
        "the tenant deactivation path",
        "테넌트 비활성화 " + _TENANT_PATH_KO,
        '"/mt/tenant/{tenant_id}/deactivate"',
    ),
    "endpoints.tenant_status": FieldText(
        "the tenant status path",
        "테넌트 상태 조회 " + _TENANT_PATH_KO,
        '"/mt/tenant/{tenant_id}/status"',
    ),
    "endpoints.usage_report": FieldText(
        "the usage report path (required because usage_report.supported is true)",
        "사용량 보고 " + _TENANT_PATH_KO + " (usage_report.supported가 true이면 필수)",
        '"/mt/tenant/{tenant_id}/usage"',
    ),
    "endpoints.user_access": FieldText(
        "the path where a tenant's users open the service (required because launch.supported "
        "is true)",
        "테넌트 사용자가 서비스를 여는 " + _TENANT_PATH_KO + " (launch.supported가 true이면 필수)",
        '"/app/{tenant_id}"',
    ),
    "endpoints.tenant_update": FieldText(
        "the tenant update path",
        "테넌트 변경 " + _TENANT_PATH_KO,
        '"/mt/tenant/{tenant_id}/update"',
    ),
    "endpoints.tenant_delete": FieldText(
        "the tenant deletion path",
        "테넌트 삭제 " + _TENANT_PATH_KO,
        '"/mt/tenant/{tenant_id}/delete"',
    ),
    "auth": FieldText(
        "the auth section with the authentication type",
        "인증 방식(type)을 담은 auth 섹션",
        'auth: {type: "api_key", header: "X-Market-API-Key"}',
    ),
    "auth.type": FieldText(
        "the authentication type (api_key, oauth2 or jwt)",
        "인증 방식(api_key, oauth2, jwt 중 하나)",
        '"api_key"',
    ),
    "auth.header": FieldText(
        "the HTTP header name that carries the API key (letters, digits and -)",
        "API 키를 담는 HTTP 헤더 이름(영문·숫자·-)",
        '"X-Market-API-Key"',
    ),
    "auth.token_url": FieldText(
        "the https URL of your OAuth2 token endpoint (required for oauth2)",
        "OAuth2 토큰 엔드포인트의 https URL(oauth2이면 필수)",
        '"https://auth.k-university.ai/oauth/token"',
    ),
    "auth.scope": FieldText(
        "the OAuth2 scope the market requests", "마켓이 요청할 OAuth2 scope", '"market"'
    ),
    "isolation": FieldText(
        "the isolation section with supported and default",
        "supported와 default를 담은 isolation 섹션",
        'isolation: {supported: ["DATABASE_PER_TENANT"], default: "DATABASE_PER_TENANT"}',
    ),
    "isolation.supported": FieldText(
        "the list of isolation levels you support",
        "지원하는 격리 수준 목록",
        '["DATABASE_PER_TENANT", "DOCKER_PER_TENANT"]',
    ),
    "isolation.supported.[]": FieldText("an isolation level", "격리 수준", '"DATABASE_PER_TENANT"'),
    "isolation.default": FieldText(
        "the isolation level used by default (one of isolation.supported)",
        "기본 격리 수준(isolation.supported 중 하나)",
        '"DATABASE_PER_TENANT"',
    ),
    "features": FieldText(
        "the features per plan (plan code: list of features)",
        "요금제별 기능(요금제 코드: 기능 목록)",
        'features: {basic: ["ai_chat", "file_upload"]}',
    ),
    "features.*": FieldText(
        "the list of this plan's features", "이 요금제의 기능 목록", '["ai_chat", "file_upload"]'
    ),
    "features.*.[]": FieldText(
        "a feature name (lowercase letters, digits, _, . or -, starting with a letter)",
        "기능 이름(영문 소문자·숫자·_·.·-, 영문 소문자로 시작)",
        '"ai_chat"',
    ),
    "plans": FieldText(
        "the plans (plan code: name, price, features, limits)",
        "요금제(요금제 코드: 이름, 가격, 기능, 한도)",
        'plans: {basic: {name: "Basic", price: 100000}}',
    ),
    "plans.*": FieldText(
        "the plan's details with at least a price",
        "가격을 포함한 요금제 상세",
        '{name: "Basic", price: 100000, currency: "KRW"}',
    ),
    "plans.*.name": FieldText("the plan's display name", "요금제 표시 이름", '"Basic"'),
    "plans.*.price": FieldText(
        "the price per billing period (a number, 0 or more)",
        "청구 주기당 가격(0 이상의 숫자)",
        "100000",
    ),
    "plans.*.currency": FieldText(
        "a three-letter ISO 4217 currency code in capitals",
        "대문자 세 글자 ISO 4217 통화 코드",
        '"KRW"',
    ),
    "plans.*.billing_period": FieldText(
        "the billing period (monthly or yearly)", "청구 주기(monthly 또는 yearly)", '"monthly"'
    ),
    "plans.*.features": FieldText(
        "the list of this plan's features", "이 요금제의 기능 목록", '["ai_chat", "rag"]'
    ),
    "plans.*.features.[]": FieldText(
        "a feature name (lowercase letters, digits, _, . or -, starting with a letter)",
        "기능 이름(영문 소문자·숫자·_·.·-, 영문 소문자로 시작)",
        '"ai_chat"',
    ),
    "plans.*.limits": FieldText(
        "the plan's limits", "요금제 한도", "{max_users: 500, storage_limit_gb: 100}"
    ),
    "plans.*.limits.max_users": FieldText(
        "the maximum number of users (a whole number, 1 or more)",
        "최대 사용자 수(1 이상의 정수)",
        "500",
    ),
    "plans.*.limits.storage_limit_gb": FieldText(
        "the storage limit in GB (a whole number, 0 or more)",
        "저장 용량 한도 GB(0 이상의 정수)",
        "100",
    ),
    "plans.*.allowed_changes": FieldText(
        "the plan codes a subscriber may switch to",
        "구독자가 바꿀 수 있는 요금제 코드 목록",
        '["standard", "premium"]',
    ),
    "plans.*.allowed_changes.[]": FieldText(
        "a plan code of this manifest", "이 매니페스트의 요금제 코드", '"premium"'
    ),
    "plans.*.unit_prices": FieldText(
        "the price per unit of usage metrics (metric: price)",
        "사용량 지표 단위당 가격(지표: 가격)",
        "{ai_tokens: 0.01}",
    ),
    "plans.*.unit_prices.*": FieldText(
        "the price of one unit (a number, 0 or more)", "단위당 가격(0 이상의 숫자)", "0.01"
    ),
    "plans.*.overage_prices": FieldText(
        "the price per unit over the plan's limits (active_users, storage_gb)",
        "요금제 한도를 넘은 사용량의 단위당 가격(active_users, storage_gb)",
        "{active_users: 1000, storage_gb: 500}",
    ),
    "plans.*.overage_prices.active_users": FieldText(
        "the price of one active user over max_users (a number, 0 or more)",
        "max_users를 넘은 활성 사용자 1명당 가격(0 이상의 숫자)",
        "1000",
    ),
    "plans.*.overage_prices.storage_gb": FieldText(
        "the price of one GB over storage_limit_gb (a number, 0 or more)",
        "storage_limit_gb를 넘은 1GB당 가격(0 이상의 숫자)",
        "500",
    ),
    "usage_report": FieldText(
        "the usage_report section", "usage_report 섹션", "usage_report: {supported: true}"
    ),
    "usage_report.supported": FieldText(
        "true if you answer usage requests, false otherwise",
        "사용량 요청에 응답하면 true, 아니면 false",
        "true",
    ),
    "usage_report.metrics": FieldText(
        "the list of usage metrics you report",
        "보고하는 사용량 지표 목록",
        '["api_calls", "ai_tokens", "storage_gb", "active_users"]',
    ),
    "usage_report.metrics.[]": FieldText(
        "a metric name (lowercase letters, digits and _, starting with a letter)",
        "지표 이름(영문 소문자·숫자·_, 영문 소문자로 시작)",
        '"api_calls"',
    ),
    "operations": FieldText(
        "the operations section", "operations 섹션", "operations: {async: false}"
    ),
    "operations.async": FieldText(
        "true if activation may answer 202 and finish later, false otherwise",
        "활성화가 202로 응답하고 나중에 끝날 수 있으면 true, 아니면 false",
        "false",
    ),
    "operations.poll_interval_seconds": FieldText(
        "the seconds between status polls (1 to 3600)", "상태 조회 간격 초(1~3600)", "10"
    ),
    "operations.timeout_seconds": FieldText(
        "the seconds before an asynchronous activation fails (1 to 86400)",
        "비동기 활성화 제한 시간 초(1~86400)",
        "600",
    ),
    "launch": FieldText("the launch section", "launch 섹션", "launch: {supported: true}"),
    "launch.supported": FieldText(
        "true if user_access accepts a form POST of launch_token, false otherwise",
        "user_access가 launch_token 폼 POST를 받으면 true, 아니면 false",
        "true",
    ),
    "lti": FieldText(
        "the LTI 1.3 tool section with login_initiation_url and target_link_uri",
        "login_initiation_url과 target_link_uri를 담은 LTI 1.3 도구 섹션",
        'lti: {login_initiation_url: "https://keli.k-university.ai/lti/login", '
        'target_link_uri: "https://keli.k-university.ai/lti/launch"}',
    ),
    "lti.login_initiation_url": FieldText(
        "the tool's OIDC login initiation URL (absolute https URL)",
        "도구의 OIDC 로그인 시작 URL(절대 https URL)",
        '"https://keli.k-university.ai/lti/login"',
    ),
    "lti.target_link_uri": FieldText(
        "the URL where the launch ends (absolute https URL)",
        "실행이 도착할 URL(절대 https URL)",
        '"https://keli.k-university.ai/lti/launch"',
    ),
    "lti.redirect_uris": FieldText(
        "the list of redirect URIs the tool sends to the market (1 to 10 absolute https URLs)",
        "도구가 마켓에 보내는 리디렉션 URI 목록(절대 https URL 1~10개)",
        '["https://keli.k-university.ai/lti/launch"]',
    ),
    "lti.redirect_uris.[]": FieldText(
        "a redirect URI (absolute https URL)",
        "리디렉션 URI(절대 https URL)",
        '"https://keli.k-university.ai/lti/launch"',
    ),
    "lti.jwks_url": FieldText(
        "the URL of the tool's public keys (JWKS, absolute https URL)",
        "도구 공개 키(JWKS)의 URL(절대 https URL)",
        '"https://keli.k-university.ai/lti/jwks"',
    ),
    "lti.custom": FieldText(
        "custom launch parameters: names of lowercase letters, digits and _, text values "
        "(at most 30)",
        "사용자 지정 실행 매개변수: 이름은 영문 소문자·숫자·_, 값은 텍스트(최대 30개)",
        '{course_mode: "school"}',
    ),
    "lti.custom.*": FieldText(
        "a custom parameter value as text (at most 500 characters)",
        "사용자 지정 매개변수 값(텍스트, 최대 500자)",
        '"school"',
    ),
    "resources": FieldText(
        "the resources section (free text, reference only)",
        "resources 섹션(참고용 자유 텍스트)",
        'resources: {min_memory: "2GB"}',
    ),
    "resources.min_memory": FieldText("the minimum memory", "최소 메모리", '"2GB"'),
    "resources.min_cpu": FieldText("the minimum CPU", "최소 CPU", '"1 core"'),
    "resources.storage": FieldText("the storage needed", "필요한 저장 공간", '"10GB per tenant"'),
    "labels": FieldText(
        "the labels section (features and categories, each code: {ko, en})",
        "labels 섹션(features와 categories, 각 코드: {ko, en})",
        'labels: {features: {ai_chat: {ko: "AI 채팅", en: "AI chat"}}}',
    ),
    "labels.features": FieldText(
        "a mapping of feature name to its label",
        "기능 이름과 표시 이름의 매핑",
        '{ai_chat: {ko: "AI 채팅", en: "AI chat"}}',
    ),
    "labels.categories": FieldText(
        "a mapping of category name to its label",
        "분류 이름과 표시 이름의 매핑",
        '{tutoring: {ko: "튜터링", en: "Tutoring"}}',
    ),
    "labels.features.*": FieldText(
        "a label in Korean and English", "한국어와 영어 표시 이름", '{ko: "AI 채팅", en: "AI chat"}'
    ),
    "labels.categories.*": FieldText(
        "a label in Korean and English", "한국어와 영어 표시 이름", '{ko: "튜터링", en: "Tutoring"}'
    ),
    "labels.features.*.ko": FieldText(
        "the Korean label (1-100 characters)", "한국어 표시 이름(1~100자)", '"AI 채팅"'
    ),
    "labels.features.*.en": FieldText(
        "the English label (1-100 characters)", "영어 표시 이름(1~100자)", '"AI chat"'
    ),
    "labels.categories.*.ko": FieldText(
        "the Korean label (1-100 characters)", "한국어 표시 이름(1~100자)", '"튜터링"'
    ),
    "labels.categories.*.en": FieldText(
        "the English label (1-100 characters)", "영어 표시 이름(1~100자)", '"Tutoring"'
    ),
}

_UNKNOWN_FIELD = FieldText("a valid value", "올바른 값", "")

# Objects whose keys are names the vendor chooses (plan codes, metric names, labelled codes).
_FREE_KEYED = {
    ("features",),
    ("plans",),
    ("plans", "*", "unit_prices"),
    ("lti", "custom"),
    ("labels", "features"),
    ("labels", "categories"),
}


def field_key(path: tuple[str | int, ...]) -> str:
    """The shape path of an instance path: ("plans", "pro", "limits") -> "plans.*.limits"."""
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            parts.append("[]")
        elif tuple(parts) in _FREE_KEYED:
            parts.append("*")
        elif not parts and part.startswith("x-"):
            return "x-"
        else:
            parts.append(part)
    return ".".join(parts)


def field_text(path: tuple[str | int, ...]) -> FieldText:
    return FIELD_TEXTS.get(field_key(path), _UNKNOWN_FIELD)


def known_fields(path: tuple[str | int, ...]) -> list[str]:
    """Names of the fixed fields of the object at `path` (for "did you mean" suggestions)."""
    prefix = field_key(path)
    names = []
    for key in FIELD_TEXTS:
        if not key:
            continue
        head, _, name = key.rpartition(".")
        if head == prefix and name not in ("*", "[]"):
            names.append(name)
    return names
