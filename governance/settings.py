"""Settings for the service: every value comes from the environment.

With nothing set the service runs on the embedded default: SQLite under var/
and jobs run in-process. DATABASE_URL and CELERY_BROKER_URL switch it to
PostgreSQL, Redis and Celery workers. .env.example lists every variable.
"""

import secrets
from datetime import timedelta
from pathlib import Path

import csp.constants as csp
import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from core.api_tasks import OPENAPI_TAGS
from governance.env import env_bool, env_bytes, env_choice, env_float, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCT_NAME = "Verity"

VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var", base=BASE_DIR)
DATABASE_URL = env_str("DATABASE_URL")
# The embedded default is a development set-up; a real database means a deployment.
DEBUG = env_bool("DEBUG", DATABASE_URL is None)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("Setting SECRET_KEY: required when DEBUG is off")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()


def _networks(cidrs: list[str]) -> list[str]:
    from core.outbound import networks

    try:
        return [str(network) for network in networks(cidrs)]
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"Setting OUTBOUND_ALLOWED_NETWORKS: expected CIDRs such as 10.1.0.0/16, {exc}"
        ) from exc


def _fernet_key(key: str) -> str:
    from core.secret_box import secret_box

    try:
        secret_box(key, "") if key else None
    except ValueError as exc:
        raise ImproperlyConfigured(
            "Setting FIELD_ENCRYPTION_KEY: expected a Fernet key (32 bytes, url-safe base64)"
        ) from exc
    return key


ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Bottom layer first; CONTRIBUTING.md says which layer may import which.
    "core",
    "audits",
    "accounts",
    "registry",
    "evidence",
    "monitoring",
    "reports",
    "approvals",
    "mlflow_api",
    # The project package: kept as an app for its migrations (roles, and the service-account tables'
    # history) and its health check.
    "governance",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    # Before anything reads the body: refuses NUL in the path or query, and bodies past the view's limits.
    "core.input_guard.InputGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _database() -> dict:
    if DATABASE_URL is None:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        # IMMEDIATE: a transaction takes the write lock when it begins, so appends to the
        # audit chain are serialised (PostgreSQL uses an advisory lock instead).
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "governance.sqlite3"),
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    try:
        config = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
    except ValueError as exc:
        raise ImproperlyConfigured(f"Setting DATABASE_URL: {exc}") from exc
    if config["ENGINE"] not in {"django.db.backends.postgresql", "django.db.backends.sqlite3"}:
        raise ImproperlyConfigured("Setting DATABASE_URL: expected a postgres:// or sqlite:// URL")
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "static", base=BASE_DIR)
# Without collected files (development) WhiteNoise serves from the apps' own static folders.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGE_ROOT = env_path("STORAGE_ROOT", VAR_DIR / "storage", base=BASE_DIR)
ARTIFACT_ROOT = STORAGE_ROOT / "artifacts"
REPORT_ROOT = STORAGE_ROOT / "reports"
DATASET_ROOT = STORAGE_ROOT / "datasets"
EVIDENCE_ROOT = STORAGE_ROOT / "evidence"
# Evidence jobs: groups smaller than this are "insufficient data"; resamples for confidence intervals;
# rows explained by SHAP and LIME; rows per progress step; the drift alert and minimum sample.
BIAS_MIN_GROUP_SIZE = env_int("BIAS_MIN_GROUP_SIZE", 30, minimum=1)
BIAS_BOOTSTRAP_RESAMPLES = env_int("BIAS_BOOTSTRAP_RESAMPLES", 1000, minimum=0)
EXPLAIN_MAX_ROWS = env_int("EXPLAIN_MAX_ROWS", 10000, minimum=1)
EXPLAIN_LIME_ROWS = env_int("EXPLAIN_LIME_ROWS", 20, minimum=0)
EXPLAIN_CHUNK_ROWS = env_int("EXPLAIN_CHUNK_ROWS", 2000, minimum=1)
DRIFT_PSI_ALERT = env_float("DRIFT_PSI_ALERT", 0.15)
DRIFT_MIN_ROWS = env_int("DRIFT_MIN_ROWS", 1000, minimum=1)
# Loading a pickle runs code: refused unless a deployment opts in, knowing the risk.
ALLOW_PICKLE_ARTIFACTS = env_bool("ALLOW_PICKLE_ARTIFACTS", False)
# The load-and-predict probe of an uploaded artifact runs in a child process with these limits.
ARTIFACT_PROBE_TIMEOUT = env_int("ARTIFACT_PROBE_TIMEOUT", 60, minimum=1)
ARTIFACT_PROBE_MEMORY_MB = env_int("ARTIFACT_PROBE_MEMORY_MB", 2048, minimum=128)
ARTIFACT_PROBE_SAMPLE_ROWS = env_int("ARTIFACT_PROBE_SAMPLE_ROWS", 200, minimum=1)
# Confined children (the probe and every evaluation) are forked from a warm fork server per worker process,
# which imports the model stack once (mlio.forkserver); false spawns a fresh interpreter for each.
EVALUATION_FORK_SERVER = env_bool("EVALUATION_FORK_SERVER", True)
# Webhook deliveries: per-attempt timeout, attempts before giving up, first retry delay (doubling).
WEBHOOK_TIMEOUT = env_int("WEBHOOK_TIMEOUT", 5, minimum=1)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6, minimum=1)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30, minimum=0)
# Networks (CIDRs) that outbound requests (webhooks, MLflow tracking servers) may reach although they are
# loopback, private, link-local or otherwise not public; empty: only public addresses (docs/security.md).
OUTBOUND_ALLOWED_NETWORKS = _networks(env_list("OUTBOUND_ALLOWED_NETWORKS", []))
# The Fernet key that encrypts stored secrets (a webhook's secret header); empty: derived from SECRET_KEY.
FIELD_ENCRYPTION_KEY = _fernet_key(env_str("FIELD_ENCRYPTION_KEY", ""))
# Tracking URIs that MLflow imports may read from; empty disables imports. Opening a tracking URI reads files
# or calls servers, so callers may only name the stores listed here, compared as scheme, host, port and a path
# prefix ending on a "/"; a local store's folder also holds the artifacts its runs may be read from.
MLFLOW_ALLOWED_TRACKING_URIS = env_list("MLFLOW_ALLOWED_TRACKING_URIS", [])
# MLflow's HTTP calls during an import: seconds per connect/read, retries and their backoff factor, so an
# unreachable server answers 504 within seconds rather than holding a web worker.
MLFLOW_HTTP_TIMEOUT = env_int("MLFLOW_HTTP_TIMEOUT", 5, minimum=1)
MLFLOW_HTTP_MAX_RETRIES = env_int("MLFLOW_HTTP_MAX_RETRIES", 1, minimum=0)
MLFLOW_HTTP_BACKOFF_FACTOR = env_float("MLFLOW_HTTP_BACKOFF_FACTOR", 0.5)
# When set, promoting an MLflow-imported version to production sets this alias (and a tag) back in MLflow.
MLFLOW_PRODUCTION_ALIAS = env_str("MLFLOW_PRODUCTION_ALIAS", "")
# The MLflow-compatible registry API (/api/2.0/mlflow/): the tracking server its runs:/ and models:/ sources
# are pulled from (one of MLFLOW_ALLOWED_TRACKING_URIS; empty refuses such versions), and the risk tier of a
# model created through it without a `risk_tier` tag (the strictest by default: nothing is approved lightly).
MLFLOW_API_TRACKING_URI = env_str("MLFLOW_API_TRACKING_URI", "")
MLFLOW_API_DEFAULT_RISK_TIER = env_choice("MLFLOW_API_DEFAULT_RISK_TIER", "high", ("low", "medium", "high"))
MAX_ARTIFACT_BYTES = env_bytes("MAX_ARTIFACT_BYTES", 500 * 2**20)
MAX_DATASET_BYTES = env_bytes("MAX_DATASET_BYTES", 1024 * 2**20)
# A zip artifact (skops, an MLflow model) may unpack to at most this many times MAX_ARTIFACT_BYTES.
ARTIFACT_UNPACKED_RATIO = env_int("ARTIFACT_UNPACKED_RATIO", 8, minimum=1)
# Uploads above this size stream to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = env_bytes("FILE_UPLOAD_MAX_MEMORY_SIZE", 10 * 2**20)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_bytes("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 2**20)
# The first handler stops a file part past its operation's limit as it arrives (core.input_guard).
FILE_UPLOAD_HANDLERS = [
    "core.input_guard.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# The deepest nesting a JSON document in a request may have (a body, or JSON text in a form field).
JSON_MAX_DEPTH = env_int("JSON_MAX_DEPTH", 32, minimum=2)

# The longest a person's personal API token may live; each token names its own expiry, up to this.
PERSONAL_TOKEN_MAX_DAYS = env_int("PERSONAL_TOKEN_MAX_DAYS", 90, minimum=1)

SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None

# --- Operations: database outages, login lockout, deployment checks, Content-Security-Policy ------------------
# docs/security.md#operations-health-lockout-deployment-checks-csp explains each of these.
# A database that refuses or drops connections answers 503 with this Retry-After (seconds), never a 500; a
# PostgreSQL connection attempt gives up after DB_CONNECT_TIMEOUT seconds instead of the system's minutes.
DATABASE_UNAVAILABLE_RETRY_AFTER = env_int("DATABASE_UNAVAILABLE_RETRY_AFTER", 30, minimum=1)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5, minimum=1)
    )
MIDDLEWARE += ["governance.middleware.DatabaseUnavailableMiddleware"]
# Failed sign-ins (the admin's form) and failed bearer tokens are counted per client address by django-axes;
# at LOGIN_FAILURE_LIMIT within the cool-off the address is refused (429, Retry-After) until it has passed.
# Behind proxies the client's address is read from X-Forwarded-For, TRUSTED_PROXY_COUNT hops from the right.
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as django-axes asks
AUTHENTICATION_BACKENDS = ["accounts.backends.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_LOCKOUT_CALLABLE = "governance.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if SECURE_PROXY_SSL_HEADER else 0, minimum=0)
AXES_VERBOSE = False  # its start-up banner on every command; lockouts are still logged
# HTTPS, for `manage.py check --deploy`: with DEBUG off, plain HTTP is redirected to HTTPS (behind a TLS proxy,
# BEHIND_TLS_PROXY tells Django which requests came in over HTTPS) except the health probes, which orchestrators
# call over plain HTTP inside their network; browsers are told to use HTTPS only (HSTS, sent over HTTPS only).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# Content-Security-Policy on every answer (django-csp): only this origin's scripts, styles, images and fonts;
# an inline <script> or <style> runs only with the request's nonce (`nonce="{{ request.csp_nonce }}"`);
# no plugins, no framing, no <base> elsewhere. Images may be data: URIs (Swagger UI's icons).
INSTALLED_APPS += ["csp"]
MIDDLEWARE.insert(MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "csp.middleware.CSPMiddleware")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF, csp.NONCE],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    }
}
# --- end of Operations ------------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bounded JSON (depth, size, characters a database keeps) and form fields with the same character rules.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser", "core.parsers.FormParser", "core.parsers.MultiPartParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": f"{PRODUCT_NAME} API",
    "DESCRIPTION": "Model registry, approval workflow, evidence and the verifiable audit trail.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "TAGS": OPENAPI_TAGS,  # the documentation's groups, by task (core.api_tasks)
    "ENUM_NAME_OVERRIDES": {
        "RiskTierEnum": "registry.models.RiskTier",
        "UnexplainableEnum": "registry.models.UNEXPLAINABLE",
        "RollbackMetricEnum": "registry.serializers.ROLLBACK_METRICS",
        "ReportStatusEnum": "reports.models.Report.Status",
        "ReportScopeEnum": "reports.models.Report.Scope",
    },
}

# Celery: unset broker means jobs run in-process, eagerly, with errors propagated.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "governance")
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 1800, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1860, minimum=1)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("Setting CELERY_TASK_TIME_LIMIT: must exceed CELERY_TASK_SOFT_TIME_LIMIT")
# Row-backed jobs (core/rowjobs.py): a running job's worker refreshes its row's heartbeat every
# JOB_HEARTBEAT_SECONDS; the sweep, every JOB_SWEEP_SECONDS, requeues a job silent for JOB_STALE_SECONDS.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 10, minimum=1)
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 90, minimum=2)
JOB_SWEEP_SECONDS = env_int("JOB_SWEEP_SECONDS", 30, minimum=1)
if JOB_STALE_SECONDS < 2 * JOB_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("Setting JOB_STALE_SECONDS: must be at least twice JOB_HEARTBEAT_SECONDS")
# The Ed25519 key that signs audit-trail checkpoints; generated here for the embedded default only.
AUDIT_SIGNING_KEY_FILE = env_path("AUDIT_SIGNING_KEY_FILE", VAR_DIR / "audit_signing_key.pem", base=BASE_DIR)
# Public keys (PEM files) of signing keys retired by a rotation: the checkpoints they signed still verify.
AUDIT_RETIRED_PUBLIC_KEY_FILES = env_list("AUDIT_RETIRED_PUBLIC_KEY_FILES", [])
AUDIT_CHECKPOINT_INTERVAL = env_int("AUDIT_CHECKPOINT_INTERVAL", 3600, minimum=10)
# The largest size and head the service has signed, outside the database: it never signs a shorter or other history.
AUDIT_HIGH_WATER_FILE = env_path(
    "AUDIT_HIGH_WATER_FILE", AUDIT_SIGNING_KEY_FILE.parent / "audit_high_water.json", base=BASE_DIR
)
HEALTH_CHECK_TIMEOUT = env_int("HEALTH_CHECK_TIMEOUT", 2, minimum=1)
# Without a broker, the serving process runs the periodic schedule itself (governance/embedded_beat.py).
EMBEDDED_BEAT = env_bool("EMBEDDED_BEAT", CELERY_TASK_ALWAYS_EAGER)
if EMBEDDED_BEAT and not CELERY_TASK_ALWAYS_EAGER:
    raise ImproperlyConfigured("Setting EMBEDDED_BEAT: only without CELERY_BROKER_URL; with a broker run celery beat")
# Every periodic job, in one place (run by `celery beat`). The gate checks expiry dates itself;
# approvals-expire only records the expiry in the trail.
CELERY_BEAT_SCHEDULE = {
    "audit-checkpoint": {"task": "audits.checkpoint_create", "schedule": AUDIT_CHECKPOINT_INTERVAL},
    "evidence-sweep": {"task": "audits.evidence_sweep", "schedule": JOB_SWEEP_SECONDS},
    "report-sweep": {"task": "reports.report_sweep", "schedule": JOB_SWEEP_SECONDS},
    "approvals-expire": {"task": "registry.approvals_expire", "schedule": 300},
    "webhooks-dispatch-due": {"task": "registry.webhooks_dispatch_due", "schedule": 60},
    # Production windows the broker missed or whose worker died, and the scheduled retraining requests.
    "monitoring-sweep": {"task": "monitoring.sweep", "schedule": JOB_SWEEP_SECONDS},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))},
    "loggers": {
        # WeasyPrint logs each layout step of every PDF at INFO: a page of lines per model card.
        "weasyprint.progress": {"level": "WARNING"},
        # Without a broker (jobs in-process) kombu still warns that no broker host was given.
        **({"kombu.connection": {"level": "ERROR"}} if CELERY_TASK_ALWAYS_EAGER else {}),
    },
}
