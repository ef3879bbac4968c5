"""`make run`: prepare the database, then run the web server, a Celery worker and beat.

Run with the project's virtualenv Python. It migrates, collects static files, seeds the
demo plant (idempotent), starts the three processes, each in its own process group with
its log under var/log/, prints the address and the demo logins, and on Ctrl-C (or
SIGTERM, or when any of the three stops) stops all of them.

Environment: DATABASE_URL / REDIS_URL as everywhere (unset: SQLite and the filesystem
broker under var/); SECRET_KEY (unset: one generated once into var/secret_key); DEBUG
(off unless set); MES_HOST / MES_PORT (127.0.0.1 / 8000).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STOP_GRACE_SECONDS = 15
READY_TIMEOUT_SECONDS = 60


def say(message: str = "") -> None:
    print(message, flush=True)


def fail(message: str, code: int = 1) -> None:
    print(f"make run: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def var_dir() -> Path:
    folder = Path(os.environ.get("MES_VAR_DIR") or ROOT / "var")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def secret_key(folder: Path) -> str:
    """The key from the environment, else one generated once and kept in var/ (git-ignored)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = folder / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(64))
    return path.read_text().strip()


def environment() -> dict[str, str]:
    env = dict(os.environ)
    folder = var_dir()
    env.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings.local")
    env["SECRET_KEY"] = secret_key(folder)
    env["MES_VAR_DIR"] = str(folder)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    """Run one manage.py command in the foreground; stop everything if it fails."""
    say(f"-> manage.py {' '.join(args)}")
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE if capture else None,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        if capture and result.stdout:
            say(result.stdout.rstrip())
        fail(f"`manage.py {' '.join(args)}` failed (exit {result.returncode})", result.returncode)
    return result.stdout or ""


class Supervisor:
    """Starts each process in its own process group; stops every group on the way out."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, cmd: list[str]) -> None:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
            out.flush()
            self.procs[name] = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def exited(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def stop_all(self) -> None:
        """SIGTERM to each leader (gunicorn and the worker stop their children gracefully),
        then SIGKILL to whatever is left in their process groups."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        if not self._wait_until_gone(STOP_GRACE_SECONDS):
            for proc in self.procs.values():
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self._wait_until_gone(5)

    def _wait_until_gone(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            alive = [proc for proc in self.procs.values() if self._group_alive(proc)]
            if not alive or time.monotonic() > deadline:
                return not alive
            time.sleep(0.2)

    @staticmethod
    def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
        proc.poll()  # reap the leader, so a finished group reads as gone
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def tail(self, name: str, lines: int = 25) -> str:
        text = (self.log_dir / f"{name}.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def wait_until_serving(supervisor: Supervisor, url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if supervisor.exited():
            return
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    supervisor.stop_all()
    fail(
        f"the web server did not answer {url} within {READY_TIMEOUT_SECONDS} s; see var/log/web.log"
    )


def main() -> None:
    env = environment()
    folder = Path(env["MES_VAR_DIR"])
    log_dir = folder / "log"
    log_dir.mkdir(exist_ok=True)
    host = env.get("MES_HOST", "127.0.0.1")
    port = env.get("MES_PORT", "8000")
    debug = env.get("DEBUG", "").lower() in {"1", "true", "yes", "on"}

    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    logins = manage(env, "seed_demo", capture=True)

    supervisor = Supervisor(env, log_dir)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    try:
        web = [PYTHON, "-m", "gunicorn", "mes.wsgi:application", "--bind", f"{host}:{port}"]
        web += ["--workers", "2", "--threads", "4", "--timeout", "60", "--access-logfile", "-"]
        if debug:
            web.append("--reload")
        supervisor.start("web", web)
        celery = [PYTHON, "-m", "celery", "-A", "mes"]
        supervisor.start(
            "worker",
            [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"]
            + ["--without-gossip", "--without-mingle"],
        )
        supervisor.start("beat", [*celery, "beat", "--loglevel", "INFO"])

        base_url = f"http://{host}:{port}"
        wait_until_serving(supervisor, f"{base_url}/healthz")
        database = f"SQLite {folder / 'mes.sqlite3'}"
        if env.get("DATABASE_URL"):
            database = "PostgreSQL (DATABASE_URL)"
        broker = f"filesystem queue {env.get('MES_BROKER_DIR') or folder / 'broker'}"
        if env.get("REDIS_URL"):
            broker = "Redis (REDIS_URL)"
        if not supervisor.exited():
            say()
            say(f"MES is running at {base_url}/")
            say(f"  admin {base_url}/admin/  -  API docs {base_url}/api/docs/")
            say(f"  database: {database}; broker: {broker}; DEBUG {'on' if debug else 'off'}")
            say(f"  web server, worker and beat log to {log_dir}/")
            if logins.strip():
                say()
                say(logins.rstrip())
            say()
            say("Press Ctrl-C to stop the web server, the worker and beat.")

        while not (gone := supervisor.exited()):
            time.sleep(0.5)
        name = gone[0]
        code = supervisor.procs[name].returncode
        say(f"\n{name} stopped (exit {code}); its log ends with:\n{supervisor.tail(name)}")
        say("Stopping the others.")
        supervisor.stop_all()
        sys.exit(1)
    except KeyboardInterrupt:
        say("\nStopping the web server, the worker and beat...")
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        supervisor.stop_all()
        say("Stopped.")


if __name__ == "__main__":
    os.chdir(ROOT)
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C while preparing: nothing was started yet
        fail("interrupted", 130)
