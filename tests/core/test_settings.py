"""Settings come from the environment: each case starts Django in a fresh process."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]

# What a process reports about the settings it started with (last line of its output).
# What a process reports about the settings it started with (the last line it prints);
# with the argument `db` it also asks SQLite for its journal mode.
REPORT = """
import json, sys, django
django.setup()
from django.conf import settings
from django.db import connection
from mes.celery import app
journal_mode = None
if sys.argv[1:] == ["db"]:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
db = settings.DATABASES["default"]
print(json.dumps({
    "debug": settings.DEBUG,
    "engine": db["ENGINE"],
    "name": str(db["NAME"]),
    "conn_max_age": db["CONN_MAX_AGE"],
    "journal_mode": journal_mode,
    "broker_url": app.conf.broker_url,
    "broker_options": app.conf.broker_transport_options,
    "use_tz": settings.USE_TZ,
    "time_zone": settings.TIME_ZONE,
    "celery_timezone": app.conf.timezone,
}))
"""


def _run(args: list[str], *, var_dir: Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    """Run Python in a clean environment: nothing set but what the case sets."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "MES_", "CELERY_"))
        and key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "DEBUG",
            "ALLOWED_HOSTS",
            "PLANT_TIME_ZONE",
        }
    }
    env.update(MES_VAR_DIR=str(var_dir), **env_vars)
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _report(*args: str, var_dir: Path, **env_vars: str) -> dict[str, object]:
    env_vars.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings.local")  # as manage.py
    result = _run(["-c", REPORT, *args], var_dir=var_dir, **env_vars)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_secret_key_and_debug_off_start_up_fails_naming_secret_key(tmp_path):
    for module in ("mes.settings.local", "mes.settings.production"):
        # when
        result = _run(["manage.py", "check"], var_dir=tmp_path, DJANGO_SETTINGS_MODULE=module)
        # then
        assert result.returncode == 1, module
        assert (
            "django.core.exceptions.ImproperlyConfigured: SECRET_KEY is required when DEBUG "
            "is off: set the SECRET_KEY environment variable (or DEBUG=1 for local "
            "development)." in result.stderr
        ), module
        assert list(tmp_path.glob("*.sqlite3")) == []


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    # when
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        var_dir=tmp_path,
        DJANGO_SETTINGS_MODULE="mes.settings.production",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="example.org",
    )
    # then
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip() == "System check identified no issues (1 silenced)."


def test_debug_is_off_unless_asked(tmp_path):
    # when
    default = _report(var_dir=tmp_path, SECRET_KEY="k" * 50)
    asked = _report(var_dir=tmp_path, DEBUG="1")
    # then
    assert (default["debug"], asked["debug"]) == (False, True)


def test_embedded_default_is_sqlite_in_wal_mode_and_the_filesystem_broker(tmp_path):
    # when: nothing is set but a secret key
    report = _report("db", var_dir=tmp_path, SECRET_KEY="k" * 50)
    # then
    broker = tmp_path / "broker"
    assert report == {
        "debug": False,
        "engine": "django.db.backends.sqlite3",
        "name": str(tmp_path / "mes.sqlite3"),
        "conn_max_age": 0,
        "journal_mode": "wal",
        "broker_url": "filesystem://localhost/",
        "broker_options": {
            "data_folder_in": str(broker / "queue"),
            "data_folder_out": str(broker / "queue"),
            "processed_folder": str(broker / "processed"),
            "store_processed": False,
            "control_folder": str(broker / "control"),
            "polling_interval": 0.1,
        },
        "use_tz": True,
        "time_zone": "Europe/Berlin",
        "celery_timezone": "Europe/Berlin",
    }
    assert sorted(p.name for p in broker.iterdir()) == ["control", "processed", "queue"]


def test_database_url_and_redis_url_switch_to_postgres_and_redis(tmp_path):
    # when
    report = _report(
        var_dir=tmp_path,
        SECRET_KEY="k" * 50,
        DATABASE_URL="postgres://mes:secret@db.example:5433/plant",
        REDIS_URL="redis://cache.example:6380/2",
        PLANT_TIME_ZONE="America/Chicago",
    )
    # then
    assert report == {
        "debug": False,
        "engine": "django.db.backends.postgresql",
        "name": "plant",
        "conn_max_age": 600,
        "journal_mode": None,
        "broker_url": "redis://cache.example:6380/2",
        "broker_options": {
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
            "visibility_timeout": 3600,
        },
        "use_tz": True,
        "time_zone": "America/Chicago",
        "celery_timezone": "America/Chicago",
    }
    assert not (tmp_path / "broker").exists()
