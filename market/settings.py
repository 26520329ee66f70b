"""Settings for the Service Market, read from the environment with laptop-safe defaults.

Every variable is listed in README.md under "Configuration".
"""

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from market.lib.env import (
    EnvError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_url,
)
from market.schedule import task_routes

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MARKET_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", True)
if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-secret-key-change-me-0123456789abcdef")
else:
    SECRET_KEY = env_str("SECRET_KEY", required=True)
    if len(SECRET_KEY) < 50:
        raise EnvError("SECRET_KEY is too short: use at least 50 random characters.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
MARKET_BASE_URL = env_url("MARKET_BASE_URL", "http://127.0.0.1:8000", schemes=("http", "https"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "market",
    "mailer",
    "events",
    "services",
    "tenants",
    "monitoring",
    "webhooks",
    "portal",
    "lti",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "market.middleware.KoreanByDefaultMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "market.middleware.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
]

if DEBUG:
    # runserver serves static files itself in development; whitenoise serves them in production.
    MIDDLEWARE.remove("whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "market.urls"
WSGI_APPLICATION = "market.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "market.context_processors.portal",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{VAR_DIR / 'market.sqlite3'}",
    schemes=("sqlite", "postgres", "postgresql"),
)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process and the worker write at once; IMMEDIATE avoids
    # "database is locked" on read-then-write transactions.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not memory, so a real worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-market.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts -----------------------------------------------------------------
AUTH_USER_MODEL = "market.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# --- Internationalisation -----------------------------------------------------
LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", _("Korean")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- E-mail -------------------------------------------------------------------
EMAIL_BACKEND = env_choice(
    "EMAIL_BACKEND",
    "console",
    {
        "console": "django.core.mail.backends.console.EmailBackend",
        "file": "django.core.mail.backends.filebased.EmailBackend",
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
    },
)
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# A mail server that accepts the connection and then hangs must not hold a worker forever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_SECONDS", 10, minimum=1)
# The first retry of an unsent message; each next one waits twice as long (at most an hour).
MAIL_RETRY_BASE_SECONDS = env_int("MAIL_RETRY_BASE_SECONDS", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Service Market <noreply@market.local>")
MARKET_STAFF_ALERT_EMAILS = env_list("MARKET_STAFF_ALERT_EMAILS", ["ops@market.local"])

# --- Celery -------------------------------------------------------------------
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL", "filesystem://", schemes=("filesystem", "redis", "rediss", "memory")
)
if CELERY_BROKER_URL.startswith("filesystem"):
    # kombu's filesystem transport, waking at once when a worker is asked to stop.
    CELERY_BROKER_TRANSPORT = "market.lib.broker:Transport"
    _broker_dir = Path(env_str("MARKET_BROKER_DIR", str(VAR_DIR / "broker")))
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", f"file://{VAR_DIR / 'celery-results'}")
if CELERY_RESULT_BACKEND.startswith("file://"):
    Path(CELERY_RESULT_BACKEND.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Lanes: the health sweep (planning and probes), the reconciler and the calendar run on
# `probes`, which lifecycle work never fills (market/schedule.py).
CELERY_TASK_ROUTES = task_routes()

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "market.api.schema.MarketAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "market.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["market.api.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "market.api.problems.problem_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "market.api.pagination.MarketPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["market.api.throttling.ApiTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": "600/minute"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Service Market API",
    "DESCRIPTION": "The integrator API of the Service Market.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "deepLinking": True},
    "ENUM_NAME_OVERRIDES": {
        "TenantStateEnum": "tenants.models.Tenant.State",
        "OperationStateEnum": "tenants.models.Operation.State",
        "OperationKindEnum": "tenants.models.Operation.Kind",
        "SubscriptionStatusEnum": "tenants.models.Subscription.Status",
        "ServiceStatusEnum": "services.models.Service.Status",
        "ServiceHealthEnum": "services.models.Service.Health",
        "UsageReportStateEnum": "monitoring.models.UsageReport.State",
    },
    # Spectral's spectral:oas ruleset wants servers, a contact and described tags.
    "SERVERS": [{"url": MARKET_BASE_URL.rstrip("/"), "description": "This market."}],
    "CONTACT": {"name": "Service Market staff", "url": MARKET_BASE_URL.rstrip("/") + "/"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "market.api.schema.declare_tags",
    ],
}

# --- Secrets at rest ----------------------------------------------------------
# Comma-separated Fernet keys, newest first. In development one is derived from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", [])
if not FIELD_ENCRYPTION_KEYS and not DEBUG:
    raise EnvError(
        "FIELD_ENCRYPTION_KEYS is required when DEBUG is off: give one or more Fernet keys."
    )

# --- Talking to vendors -------------------------------------------------------
# host:port pairs that may be called although they are local/private (development only).
VENDOR_ALLOWED_PRIVATE_HOSTS = env_list("VENDOR_ALLOWED_PRIVATE_HOSTS", [])
# Hosts that may be registered with plain http (development only).
VENDOR_HTTP_ALLOWED_HOSTS = env_list("VENDOR_HTTP_ALLOWED_HOSTS", [])
VENDOR_CONNECT_TIMEOUT = float(env_int("VENDOR_CONNECT_TIMEOUT_MS", 3000, minimum=1)) / 1000
VENDOR_TOTAL_TIMEOUT = float(env_int("VENDOR_TOTAL_TIMEOUT_MS", 10000, minimum=1)) / 1000
VENDOR_MAX_RESPONSE_BYTES = env_int("VENDOR_MAX_RESPONSE_BYTES", 256 * 1024, minimum=1024)
# The health sweep's probes: tighter bounds than lifecycle calls, many at once.
PROBE_CONNECT_TIMEOUT = float(env_int("PROBE_CONNECT_TIMEOUT_MS", 3000, minimum=1)) / 1000
PROBE_TOTAL_TIMEOUT = float(env_int("PROBE_TOTAL_TIMEOUT_MS", 5000, minimum=1)) / 1000
# A healthy answer slower than this (but within PROBE_TOTAL_TIMEOUT) counts as degraded.
PROBE_DEGRADED_AFTER_MS = env_int("PROBE_DEGRADED_AFTER_MS", 2000, minimum=1)
if PROBE_DEGRADED_AFTER_MS >= PROBE_TOTAL_TIMEOUT * 1000:
    raise EnvError(
        f"PROBE_DEGRADED_AFTER_MS={PROBE_DEGRADED_AFTER_MS} is not below PROBE_TOTAL_TIMEOUT_MS="
        f"{PROBE_TOTAL_TIMEOUT * 1000:.0f}: a slow answer would never be degraded; lower it."
    )
PROBE_MAX_RESPONSE_BYTES = env_int("PROBE_MAX_RESPONSE_BYTES", 16384, minimum=256)
PROBE_CONCURRENCY = env_int("PROBE_CONCURRENCY", 1000, minimum=1)
PROBE_PER_HOST_CONCURRENCY = env_int("PROBE_PER_HOST_CONCURRENCY", 0, minimum=0)  # 0: no cap
# Lifecycle calls in flight at once to one service, and when an in-flight call counts as stuck.
VENDOR_MAX_CONCURRENT_CALLS = env_int("VENDOR_MAX_CONCURRENT_CALLS", 20, minimum=1)
# The bulkhead: lifecycle calls in flight at once to all the services of one vendor; 0: half
# the worker's slots less one (market/lib/bulkhead.py). A worker whose slots are fewer than
# 2 x (this + 1) refuses to start, so one vendor never holds more than half of a worker.
VENDOR_MAX_CALLS_PER_VENDOR = env_int("VENDOR_MAX_CALLS_PER_VENDOR", 0, minimum=0)
OPERATION_STUCK_AFTER_SECONDS = env_int("OPERATION_STUCK_AFTER_SECONDS", 120, minimum=5)
# --- Health sweep and usage collection ------------------------------------------
# Services probed per chunk task, and over how many seconds of the minute the chunks start.
MONITORING_PROBE_CHUNK_SIZE = env_int("MONITORING_PROBE_CHUNK_SIZE", 500, minimum=1)
MONITORING_SWEEP_SPREAD_SECONDS = env_int("MONITORING_SWEEP_SPREAD_SECONDS", 40, minimum=0)
# A service probed less than this long ago is not probed again by a late or repeated sweep.
MONITORING_MIN_PROBE_GAP_SECONDS = env_int("MONITORING_MIN_PROBE_GAP_SECONDS", 30, minimum=0)
MONITORING_ROLLUP_RETENTION_DAYS = env_int("MONITORING_ROLLUP_RETENTION_DAYS", 90, minimum=1)
# Usage reports: attempts before a report fails, calls at once, reports per chunk task.
USAGE_MAX_ATTEMPTS = env_int("USAGE_MAX_ATTEMPTS", 8, minimum=1)
USAGE_COLLECTION_THREADS = env_int("USAGE_COLLECTION_THREADS", 32, minimum=1)
USAGE_CHUNK_SIZE = env_int("USAGE_CHUNK_SIZE", 200, minimum=1)

# --- Webhooks (webhooks/conf.py documents each) --------------------------------
_webhook_schedule = env_list(
    "WEBHOOK_RETRY_SCHEDULE_SECONDS",
    ["5", "300", "1800", "7200", "18000", "36000", "50400", "72000", "72000"],
)
if not all(value.isdigit() for value in _webhook_schedule):
    raise EnvError(
        "WEBHOOK_RETRY_SCHEDULE_SECONDS must be whole seconds separated by commas, e.g. 5,300,1800."
    )
WEBHOOK_RETRY_SCHEDULE_SECONDS = [int(value) for value in _webhook_schedule]
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 30, minimum=1)
WEBHOOK_TOTAL_TIMEOUT = float(env_int("WEBHOOK_TOTAL_TIMEOUT_MS", 10000, minimum=1)) / 1000
WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = env_int("WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT", 2, minimum=1)
# Bearer token for Prometheus scraping /monitoring/metrics (staff sessions work too); empty: off.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# --- Security -----------------------------------------------------------------
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = 0 if DEBUG else 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
