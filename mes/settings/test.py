"""Test run: same database engine as the environment says (CI: Postgres), fast hashing."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")

from .base import *  # noqa: E402, F403
from .base import DATABASE_IS_SQLITE, DATABASES, VAR_DIR, env  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASE_IS_SQLITE:
    # A file, not memory, so a real worker in a subprocess sees what a test committed.
    # One file per test run, so parallel runs on one machine do not share a database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
# Tests do not collect static files; WhiteNoise would warn on every request about it.
STATIC_ROOT = None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Unit tests run tasks inline when on_commit callbacks fire. The broker tests switch
# this off for themselves, and start their real worker with MES_CELERY_EAGER=0.
CELERY_TASK_ALWAYS_EAGER = env.bool("MES_CELERY_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
AXES_FAILURE_LIMIT = 3

# Tests change roles between requests and expect the effect at once.
API_PERMISSION_CACHE_SECONDS = 0
# Tests edit rules between events and expect the effect at once.
RULES_CACHE_SECONDS = 0
# Tests schedule when they mean to (settings fixture turns it on), in a second at most.
SCHEDULE_AUTOMATICALLY = env.bool("SCHEDULE_AUTOMATICALLY", default=False)
SCHEDULE_TIME_LIMIT_SECONDS = 2.0
SCHEDULE_DEBOUNCE_SECONDS = 0
# Tests count the board's queries on every request.
MUSTSHIP_CONSTRAINED_CACHE_SECONDS = 0
