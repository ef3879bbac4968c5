"""Settings shared by every environment, read once from the environment (12-factor).

With nothing set, the project runs on the embedded default: SQLite in WAL mode and
Celery on kombu's filesystem transport, so a worker and beat run with no server.
DATABASE_URL (Postgres) and REDIS_URL switch to the production topology.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("MES_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set the SECRET_KEY environment "
            "variable (or DEBUG=1 for local development)."
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
    "axes",
    "mes.core",
    "inventory",
    "orders",
    "planning",
    "shipping",
    "kpis",
    "exceptions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mes.urls"
WSGI_APPLICATION = "mes.wsgi.application"

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
                "mes.core.context_processors.navigation",
                "exceptions.context_processors.open_exceptions",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "mes.sqlite3"
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}"),
}
DATABASE_IS_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if DATABASE_IS_SQLITE:
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server, the worker and beat read while one of them writes.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    # Keep connections open between requests: opening one per request costs most of
    # the throughput of a small machine.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ------------------------------------------------------------------------
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

# Lock an account out after repeated failed logins; admins see attempts in admin.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# --- Internationalisation and the plant's clock -------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
# One deployment serves one plant; shift calendars and "today" are in its local time.
PLANT_TIME_ZONE = env.str("PLANT_TIME_ZONE", default="Europe/Berlin")
TIME_ZONE = PLANT_TIME_ZONE
PLANT_NAME = env.str("PLANT_NAME", default="Demo Plant")
KPI_START_ADHERENCE_GRACE_MINUTES = env.int("KPI_START_ADHERENCE_GRACE_MINUTES", default=15)
# Ship-from on packing slips, bills of lading and labels: lines separated by "\n".
PLANT_ADDRESS = env.str(
    "PLANT_ADDRESS", default="Industriestrasse 12\n86150 Augsburg\nGermany", multiline=True
)

# --- Static files ----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- REST API --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["mes.core.api.authentication.ApiClientAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["mes.core.api.permissions.HasScope"],
    "DEFAULT_PAGINATION_CLASS": "mes.core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mes.core.api.problems.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MES API",
    "DESCRIPTION": (
        "REST API for ERP integration. Authenticate with `Authorization: Bearer <key>`; "
        "POST accepts an `Idempotency-Key` header; updates accept `If-Match` with the "
        "record's ETag; errors are `application/problem+json` (RFC 9457)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_AUTHENTICATION": [
        "rest_framework.authentication.SessionAuthentication",
        "mes.core.api.authentication.ApiClientAuthentication",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    "SECURITY": [{"bearerAuth": []}],
    # Both order and change-request models have a `state`: name their enums apart.
    "ENUM_NAME_OVERRIDES": {
        "OrderStateEnum": "orders.models.OrderState",
        "ChangeRequestStateEnum": "orders.models.ChangeRequest.State",
    },
}
# Active decision rules and webhook subscriptions are cached this long per worker process.
RULES_CACHE_SECONDS = env.int("RULES_CACHE_SECONDS", default=5)
# Integration users' permissions are cached this long per process (0: read every request).
API_PERMISSION_CACHE_SECONDS = env.int("API_PERMISSION_CACHE_SECONDS", default=30)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)

# --- Celery ----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# The filesystem broker's folder: every process of one installation must share it.
CELERY_BROKER_DIR = Path(env.str("MES_BROKER_DIR", default=str(VAR_DIR / "broker")))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "visibility_timeout": 3600,
    }
else:
    CELERY_BROKER_URL = "filesystem://localhost/"
    for sub in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Producers and consumers read and write one folder: that is the queue.
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
        # Exchange bindings; kombu's default is a folder relative to the working directory.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        # The worker lists the folder this often when it is idle or waiting for acks; at
        # kombu's default of one second it takes about two messages a second.
        "polling_interval": 0.1,
    }
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Short tasks: let each worker process hold a few messages so it never waits for the
# broker between them (redelivery after a crash is safe: processing is idempotent).
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=4)
# No task has a rate limit: skip the token-bucket bookkeeping on every message.
CELERY_WORKER_DISABLE_RATE_LIMITS = True
# Celery's Django fixup closes every database connection around every task unless this
# is set: a new Postgres connection (a backend forked, authenticated) for each event. Set,
# it force-closes only once per this many tasks; mes.core.tasks closes a connection after
# a task the way Django does after a request (on errors, or past CONN_MAX_AGE).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = PLANT_TIME_ZONE
# Publishing must not hang a request when the broker is down: the outbox re-drives.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Events still unprocessed this long after they occurred are re-driven by beat.
OUTBOX_REDRIVE_AFTER_SECONDS = env.int("OUTBOX_REDRIVE_AFTER_SECONDS", default=30)
OUTBOX_REDRIVE_INTERVAL_SECONDS = env.int("OUTBOX_REDRIVE_INTERVAL_SECONDS", default=15)
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=30)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=20)
# Beat looks for expected receipts past their date this often (each is reported once a day).
DELAYED_RECEIPTS_INTERVAL_SECONDS = env.int("DELAYED_RECEIPTS_INTERVAL_SECONDS", default=3600)
# The schedule: how far ahead, how long CP-SAT may search, and whether events re-run it.
SCHEDULE_HORIZON_DAYS = env.int("SCHEDULE_HORIZON_DAYS", default=14)
SCHEDULE_TIME_LIMIT_SECONDS = env.float("SCHEDULE_TIME_LIMIT_SECONDS", default=10.0)
SCHEDULE_AUTOMATICALLY = env.bool("SCHEDULE_AUTOMATICALLY", default=True)
SCHEDULE_DEBOUNCE_SECONDS = env.int("SCHEDULE_DEBOUNCE_SECONDS", default=3)
# The must-ship board's constrained work centers are recomputed at most this often.
MUSTSHIP_CONSTRAINED_CACHE_SECONDS = env.int("MUSTSHIP_CONSTRAINED_CACHE_SECONDS", default=5)
# A shared shop tablet locks (back to the badge prompt) after this many idle minutes.
TABLET_IDLE_LOCK_MINUTES = env.int("TABLET_IDLE_LOCK_MINUTES", default=5)
# Open downtimes are re-announced with their duration this often (rules on "down > N min").
DOWNTIME_ANNOUNCE_INTERVAL_SECONDS = env.int("DOWNTIME_ANNOUNCE_INTERVAL_SECONDS", default=300)

# --- Logging ---------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes.apps": {"level": "WARNING"},  # not a line at every start of every process
    },
}

# --- Security --------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Lockout is per account on purpose: shop tablets share one address behind the plant's
# NAT, and an address lockout would lock out a whole shift for one person's typos.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# --- E-mail (escalation notices) ---------------------------------------------------------
# EMAIL_URL (e.g. smtp+tls://user:password@mail.example.org:587) sends real mail; without
# it notices go to the console, as in the demo.
globals().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="mes@localhost")
