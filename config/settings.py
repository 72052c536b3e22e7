"""Settings for every environment, read from environment variables.

Development defaults run with nothing installed but Python: SQLite, Celery on
an embedded SQLite transport, the sandbox gateway and a captured outbox for email.
`DATABASE_URL`, `REDIS_URL` and `EMAIL_ESP` switch each piece to the real thing.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from config.env import env_bool, env_int, env_json, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite, cache and queue folders live here

# Off unless development asks for it (`make run`, `manage.py run_dev`, the test suite):
# a forgotten variable must not serve the development outbox with every sign-in link.
DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("TESTING", False)
# Without DEBUG there is no default: the web and worker processes refuse to start
# without one (core.security.require_serving_secrets); tools that only read settings
# (makemigrations, mypy) still work.
SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-secret-key-change-me" if DEBUG else "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
BASE_URL = env_str("BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Key(s) for encrypting integration and gateway credentials at rest. Comma-separated
# Fernet keys: the first encrypts, all decrypt (rotation: prepend a new key, run
# `manage.py rotate_encryption_keys`, then drop the old one).
FIELD_ENCRYPTION_KEYS = env_list(
    "FIELD_ENCRYPTION_KEYS",
    ["ZGV2LW9ubHkta2V5LW5ldmVyLXVzZS1pbi1wcm9kISE="] if DEBUG else [],
)

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
    "django_htmx",
    "anymail",
    "core.apps.AxesConfig",  # django-axes, named for support in both languages
    "core",
    "accounts",
    "subscriptions",
    "reactivation",
    "recovery",
    "notifications",
    "webhooks",
    "segmentation",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves /static/ from gunicorn (collectstatic's STATIC_ROOT; the finders under DEBUG).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.security.ContentSecurityPolicyMiddleware",
    "core.security.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    # After auth: sets request.membership and activates the creator's time zone.
    "dashboard.middleware.CreatorMiddleware",
    "notifications.middleware.ProviderLookupDeadlineMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "dashboard.context_processors.dashboard",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("pt-br", "Português (Brasil)")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "static_collected")))
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []

# --- Redis, cache and Celery -------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Embedded transport (no Redis): kombu's SQLAlchemy transport on a SQLite file of its own,
# apart from the application's database so polling never contends with its writes.
# The filesystem transport is not safe with several processes: a consumer can read a
# message file its producer has not finished writing, and the worker dies on the
# JSONDecodeError (kombu issue #1551). docs/running.md has the measurements.
EMBEDDED_BROKER_PATH = VAR_DIR / "celery-broker.sqlite3"
CELERY_BROKER_URL = env_str(
    "CELERY_BROKER_URL", REDIS_URL or f"sqla+sqlite:///{EMBEDDED_BROKER_PATH}"
)
if CELERY_BROKER_URL.startswith("sqla+"):
    # Passed to SQLAlchemy's create_engine: wait for another process's write instead of
    # failing at once with "database is locked".
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"connect_args": {"timeout": 30}}
else:
    # Longer than any task may run; no task is scheduled with an ETA (SPEC §4.5).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        # Publishing after commit must not stall a web request while the broker is
        # down: give up after one quick retry; the outbox sweeper publishes later.
        # (Workers reconnect with their own broker_connection_retry settings.)
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
        "socket_connect_timeout": 2,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_PREFETCH_MULTIPLIER", 4)
CELERY_TASK_DEFAULT_QUEUE = "events"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Seconds between runs of each periodic job (beat); `run_scheduled_jobs` runs them all once.
SCHEDULED_JOB_INTERVAL = env_int("SCHEDULED_JOB_INTERVAL", 30)
# An event not processed this many seconds after it was written is re-published.
OUTBOX_SWEEP_AFTER_SECONDS = env_int("OUTBOX_SWEEP_AFTER_SECONDS", 30)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 10)

# --- Email --------------------------------------------------------------------------
# EMAIL_ESP picks the anymail backend (e.g. "sendgrid", "postmark", "mailgun",
# "amazon_ses"); its credentials come from ANYMAIL (JSON). Unset: emails are captured
# to the development outbox (DEBUG) or the console.
EMAIL_ESP = env_str("EMAIL_ESP", "")
ANYMAIL = env_json("ANYMAIL", {})
if EMAIL_ESP:
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_ESP}.EmailBackend"
else:
    EMAIL_BACKEND = env_str("EMAIL_BACKEND", "notifications.outbox.OutboxEmailBackend")
# For EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend (e.g. a local mail catcher).
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Subscriptions <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Integrations -------------------------------------------------------------------
PROVIDER_BASE_URLS: dict[str, str] = env_json("PROVIDER_BASE_URLS", {})
PROVIDER_TIMEOUT_SECONDS = float(env_str("PROVIDER_TIMEOUT_SECONDS", "10"))  # total, per call
# Provider lookups while a page is answered (lists and tags for the rule builder): one
# deadline for all of a request's calls, and the answers cached for a while.
PROVIDER_LOOKUP_DEADLINE_SECONDS = float(env_str("PROVIDER_LOOKUP_DEADLINE_SECONDS", "8"))
PROVIDER_LOOKUP_CACHE_SECONDS = env_int("PROVIDER_LOOKUP_CACHE_SECONDS", 300)
PROVIDER_MAX_RESPONSE_BYTES = env_int("PROVIDER_MAX_RESPONSE_BYTES", 4 * 1024 * 1024)
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", False)
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "")
# Stripe recommends long timeouts; ours stays below a worker's patience, and a timed-out
# charge is repeated later with the same idempotency key.
STRIPE_TIMEOUT_SECONDS = float(env_str("STRIPE_TIMEOUT_SECONDS", "30"))

# --- REST API -----------------------------------------------------------------------
# The tenant of core.tenancy and how the API base view (core.api.base) authenticates.
TENANT_MODEL = "accounts.Creator"
API_AUTHENTICATION_CLASSES = [
    "accounts.api.auth.ApiKeyAuthentication",
    "accounts.api.auth.TenantSessionAuthentication",
]
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "EXCEPTION_HANDLER": "core.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Subscription Manager API",
    "DESCRIPTION": "REST API v1 for creators' integrations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for each choice set whose field name other components share.
    "ENUM_NAME_OVERRIDES": {"RuleMatchEnum": "segmentation.models.SegmentationRule.Match"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.strip_trailing_slashes",
    ],
}
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 600)

# --- Security -----------------------------------------------------------------------
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = 1  # hours
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The same client address as the rate limiter (RATELIMIT_PROXY_COUNT hops of
# X-Forwarded-For), and a lockout per (account, address): behind a proxy REMOTE_ADDR is
# the proxy, and one client guessing passwords must not lock everyone out.
AXES_CLIENT_IP_CALLABLE = "core.ratelimit.axes_client_ip"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"  # what our login forms post (not the model's "email")
AXES_USERNAME_CALLABLE = "core.ratelimit.axes_username"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Sent on every HTML answer by core.security (empty: its strict default, no inline code).
CONTENT_SECURITY_POLICY = env_str("CONTENT_SECURITY_POLICY", "")
# core.ratelimit: how many proxies in front of us append to X-Forwarded-For (0: none,
# use REMOTE_ADDR). Counting the wrong hop would let a client pick its own key.
RATELIMIT_PROXY_COUNT = env_int("RATELIMIT_PROXY_COUNT", 0)
# core.tenancy: an unscoped query on a tenant-owned model while serving a tenant
# raises (development, tests) or logs an error (production).
# Rate limits (core.ratelimit, counted in Redis): requests per window per client IP
# (per email for the subscriber sign-in); the (N+1)th answers 429 with Retry-After.
LOGIN_RATE_LIMIT = env_int("LOGIN_RATE_LIMIT", 20)  # dashboard login POSTs per IP
LOGIN_RATE_WINDOW_SECONDS = env_int("LOGIN_RATE_WINDOW_SECONDS", 300)
PASSWORD_RESET_RATE_LIMIT = env_int("PASSWORD_RESET_RATE_LIMIT", 5)  # "Forgot password" POSTs
PASSWORD_RESET_RATE_WINDOW_SECONDS = env_int("PASSWORD_RESET_RATE_WINDOW_SECONDS", 3600)
SUBSCRIBER_SIGN_IN_PER_IP = env_int("SUBSCRIBER_SIGN_IN_PER_IP", 20)  # per hour
SUBSCRIBER_SIGN_IN_PER_EMAIL = env_int("SUBSCRIBER_SIGN_IN_PER_EMAIL", 5)  # per hour
REACTIVATION_LINK_RATE_LIMIT = env_int("REACTIVATION_LINK_RATE_LIMIT", 60)  # GET+POST per IP
REACTIVATION_LINK_RATE_WINDOW_SECONDS = env_int("REACTIVATION_LINK_RATE_WINDOW_SECONDS", 60)
# "Send test" of a segmentation rule, per hour (segmentation.test_contacts).
SEGMENTATION_TEST_SENDS_PER_MEMBER = env_int("SEGMENTATION_TEST_SENDS_PER_MEMBER", 20)
SEGMENTATION_TEST_SENDS_PER_CREATOR = env_int("SEGMENTATION_TEST_SENDS_PER_CREATOR", 60)
PAYMENT_LINK_RATE_LIMIT = env_int("PAYMENT_LINK_RATE_LIMIT", REACTIVATION_LINK_RATE_LIMIT)
PAYMENT_LINK_RATE_WINDOW_SECONDS = env_int(
    "PAYMENT_LINK_RATE_WINDOW_SECONDS", REACTIVATION_LINK_RATE_WINDOW_SECONDS
)
TENANT_SCOPE_ENFORCE = env_bool("TENANT_SCOPE_ENFORCE", DEBUG or TESTING)
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Only a local plain-HTTP stack (docker-compose) turns these off.
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Every log line goes through config.log_masking: the secrets of emailed links
# (`<token>`, `<uidb64>` URL parameters, found from the URL resolver) never reach a log.
LOGGING_CONFIG = "config.log_masking.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_secrets": {"()": "config.log_masking.MaskSecretsFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["mask_secrets"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
    },
}

CELERY_BEAT_SCHEDULE = {
    "run-due-jobs": {
        "task": "subscriptions.tasks.run_due_jobs",
        "schedule": float(SCHEDULED_JOB_INTERVAL),
        "options": {"expires": SCHEDULED_JOB_INTERVAL},
    },
}
