"""What every benchmark here sets up the same way: paths, a Postgres database of its own,
a free port, `manage.py` runs and percentiles. Imported by the scripts beside it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
GUNICORN = str(VENV_BIN / "gunicorn") if (VENV_BIN / "gunicorn").exists() else "gunicorn"
RESULTS_DIR = ROOT / "bench" / "results"


def log(message: str) -> None:
    print(message, flush=True)


def database_url(default: str) -> str:
    """DATABASE_URL, or the benchmark's own database; Postgres only."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        log(f"DATABASE_URL is not set: using the dedicated database {default}")
        url = default
    if urlsplit(url).scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit(f"This benchmark runs on Postgres; DATABASE_URL is {url!r}.")
    return url


def pg_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql"))


def database_ensure(url: str) -> int:
    """Create the database when missing; return how many orders it holds."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            log(f"Creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(pg_url(url)) as conn:
        table = conn.execute("SELECT to_regclass('orders_salesorder')").fetchone()
        if table is None or table[0] is None:
            return 0
        return int(conn.execute("SELECT count(*) FROM orders_salesorder").fetchone()[0])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def django_in_process(url: str, prefix: str) -> Path:
    """Set this process up as the production settings on `url` (no broker, no schedule
    runs), migrated; for benchmarks that time reads in-process. Returns its scratch dir."""
    import os
    import secrets
    import sys
    import tempfile

    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    for key in ("DJANGO_SETTINGS_MODULE", "REDIS_URL", "DEBUG"):
        os.environ.pop(key, None)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "mes.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "testserver",
            "DATABASE_URL": url,
            "CONN_MAX_AGE": "600",
            "LOG_LEVEL": "WARNING",
            "MES_VAR_DIR": str(workdir),
            "MES_BROKER_DIR": str(workdir / "broker"),
            # Nothing a read benchmark does should queue a schedule run.
            "SCHEDULE_AUTOMATICALLY": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    import django

    django.setup()
    from django.core.management import call_command

    log("Migrating ...")
    call_command("migrate", "--noinput", verbosity=0)
    return workdir


def bench_user(username: str, role: str, last_name: str) -> Any:
    """The user a read benchmark signs in as: one role, no password (force_login)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"first_name": "Bench", "last_name": last_name}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=role))
    return user
