"""What the HTTP benchmarks share: a throwaway PostgreSQL database's tools, gunicorn on a free port, percentiles.

Imported by bench/scan.py and bench/beamline.py (run as scripts, so this folder is on sys.path); it does not set
Django up. Only 127.0.0.1 is ever contacted.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
PGURL = os.environ.get("PGURL", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def pg(tool: str, *args: str) -> subprocess.CompletedProcess:
    """createdb/dropdb against PGURL's server (its host, port and user)."""
    url = urlsplit(PGURL)
    cmd = [tool, "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    env = dict(os.environ, PGPASSWORD=url.password or os.environ.get("PGPASSWORD", ""))
    return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def start_gunicorn(port: int, workers: int, database_url: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-not-for-production-0123456789",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        DB_CONN_MAX_AGE="600",  # one connection per worker, kept: as in production
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    env.pop("CELERY_BROKER_URL", None)
    cmd = [
        str(Path(sys.executable).with_name("gunicorn")),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",  # keep-alive connections, as a scan station's browser and beamline control keep them
        "--threads",
        "1",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_ready(port: int, server: subprocess.Popen, path: str, ready_statuses=(200, 401), timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {server.stderr.read()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status in ready_statuses:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 30 s")


def stop(server: subprocess.Popen | None) -> None:
    """Stop gunicorn: TERM, then KILL if it does not go within 20 s."""
    if server is not None and server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def finish(server: subprocess.Popen | None, db_name: str, *, keep: bool = False) -> None:
    """The end of a bench: gunicorn stopped, Django's connections closed, the throwaway database dropped."""
    stop(server)
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # Django may not be set up if seeding never started; the drop below is what matters
        pass
    if keep:
        print(f"Kept the database {db_name} (drop it with: dropdb --force {db_name}).")
        return
    dropped = pg("dropdb", "--if-exists", "--force", db_name)  # gunicorn workers may still hold a connection
    if dropped.returncode != 0:
        print(f"  could not drop {db_name}: {dropped.stderr.strip()}")
