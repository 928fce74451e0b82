"""What the HTTP benchmarks share: a throwaway PostgreSQL database, gunicorn on a free port (sync workers, as the
README deploys them; ``BENCH_WORKER_CLASS=gthread`` to try another), clients on their own connections,
and the figures printed alike: p50/p95/p99, requests per second, the server's CPU per request (the gunicorn
processes' CPU time over the run / requests answered) and PostgreSQL's beside it (its processes' CPU time over the
run / requests: work moved into SQL shows there), the ratio to the bare-SQL floor, and the load average.

CPU per request is the figure that holds on a noisy machine: latency on a shared 2-core machine is mostly
queueing behind other work, CPU time is what this code costs. The floor is the same statements as bare
prepared SQL, no HTTP, no Django: what any implementation keeping the same guarantees cannot go below.

    with pg_bench("scan") as bench:          createdb, env for Django, _common imported; dropped at the end
        seed(...)                            (through the services)
        bench.serve(workers, "/api/v1/")     gunicorn on a free port, ready
        result = bench.measure(label, request, clients=4, seconds=10, expect=200, headers=...)
        report(result, floor=floor_seconds, goals="...")

Imported by bench/scan.py, beamline.py, ingest.py, catalogue.py (run as scripts, so this folder is on sys.path).
Only 127.0.0.1 is ever contacted.
"""

import http.client
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
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
        # gunicorn as the README deploys it behind the proxy: sync workers, one request per connection, each
        # taken by a free worker. (gthread with one thread lets one worker take several keep-alive connections
        # and serve them in turn while others idle: two clients ran at one worker's pace.)
        "--worker-class",
        os.environ.get("BENCH_WORKER_CLASS", "sync"),
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


# --- the server's CPU ---------------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and every process under it (gunicorn's master and its workers)."""
    tree, todo, total = _children(), [pid], 0.0
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
        todo.extend(tree.get(current, []))
    return total


def postgres_cpu_seconds() -> float:
    """User + system CPU time of this machine's PostgreSQL processes (the server's backends: the benches' workers
    keep their connections for the run, so the difference over a run is what their statements cost it)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() != "postgres":
                    continue
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def statement_sql(sql: str) -> str:
    """The SQL a captured statement runs: a compiled statement's EXECUTE read back as its SQL (``lims.compiled``);
    on an older checkout (a before/after table), which prepares nothing, the statement as it is."""
    try:
        from lims.compiled import source_of
    except ImportError:
        return sql
    return source_of(sql)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# --- clients and figures ------------------------------------------------------------------------------------


class Client(threading.Thread):
    """One client process: its own connection (kept while the server keeps it), the next request as soon as answered
    (or paced)."""

    def __init__(self, port, number, request, expect, headers, clock, warmup, interval=0.0, keep=""):
        super().__init__(daemon=True)
        self.keep = keep  # "all" answers, the "last" one, or none: half a megabyte each is not kept by default
        self.port, self.number, self.request, self.expect, self.headers = port, number, request, expect, headers
        self.clock, self.warmup, self.interval = clock, warmup, interval
        self.warm = threading.Event()  # its warm-up requests are answered
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.answers: list[bytes] = []
        self.sent = 0  # requests answered while the clock ran

    def connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.connect()
        # No Nagle: a small request must not wait for the server's delayed ACK (40 ms on Linux).
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def run(self):
        conn = self.connect()
        self.clock.go.wait()
        i = 0
        while not self.clock.over():
            if i == self.warmup:
                self.warm.set()
            method, path, body = self.request(self.number, i)
            counted = self.clock.running.is_set()
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=self.headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(repr(exc))
                conn.close()
                conn = self.connect()
                continue
            elapsed = time.perf_counter() - start
            if response.status != self.expect:
                self.errors.append(f"{response.status} {data[:200]!r}")
            elif counted:
                self.sent += 1
                self.latencies.append(elapsed)
                if self.keep == "all":
                    self.answers.append(data)
                elif self.keep == "last":
                    self.answers = [data]
            i += 1
            if self.interval:
                time.sleep(max(0.0, self.interval - elapsed))  # a person scans, reads, takes the next
        self.warm.set()
        conn.close()


class Clock:
    """When the clients go, when the measured part starts (every client warm) and when it ends."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.go = threading.Event()
        self.running = threading.Event()
        self.deadline = float("inf")

    def start(self) -> None:
        self.deadline = time.monotonic() + self.seconds
        self.running.set()

    def over(self) -> bool:
        return self.running.is_set() and time.monotonic() > self.deadline


@dataclass
class Result:
    label: str
    clients: int
    seconds: float
    latencies: list[float]
    errors: list[str]
    cpu: float  # the server's CPU seconds over the measured part (gunicorn's processes)
    sent: int  # requests answered in it
    answers: list[bytes] = field(default_factory=list)
    load: str = ""
    pg_cpu: float = 0.0  # PostgreSQL's CPU seconds over the measured part

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / self.sent if self.sent else float("nan")

    @property
    def pg_cpu_per_request(self) -> float:
        return self.pg_cpu / self.sent if self.sent else float("nan")


def report(result: Result, *, floor: float | None = None, goals: str = "") -> None:
    """Print a run's figures: latency percentiles, rate, the server's CPU per request, the floor ratio, load."""
    lat = sorted(result.latencies)
    print(f"{result.label}, {result.clients} client{'s' if result.clients > 1 else ''}, {result.seconds:.0f} s:")
    if lat:
        print(
            f"  p50 {percentile(lat, 0.50) * 1000:6.1f} ms   p95 {percentile(lat, 0.95) * 1000:6.1f} ms"
            f"   p99 {percentile(lat, 0.99) * 1000:6.1f} ms   max {lat[-1] * 1000:6.1f} ms"
            f"   {len(lat) / result.seconds:6.0f} req/s" + (f"   (goals: {goals})" if goals else "")
        )
        line = (
            f"  server CPU {result.cpu_per_request * 1000:6.2f} ms/request ({result.sent} requests;"
            f" PostgreSQL {result.pg_cpu_per_request * 1000:.2f} ms more)"
        )
        if floor:
            line += (
                f"   floor {floor * 1000:.2f} ms: CPU/floor {result.cpu_per_request / floor:4.1f}×,"
                f" p50/floor {percentile(lat, 0.5) / floor:4.1f}×"
            )
        print(line + f"   load average {result.load}")
    print(f"  errors {len(result.errors)}")
    for error in result.errors[:5]:
        print(f"    {error}")


def median_of(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Bench:
    """A throwaway PostgreSQL database and, once ``serve`` is called, gunicorn on it."""

    def __init__(self, db_name: str, database_url: str):
        self.db_name, self.database_url = db_name, database_url
        self.server: subprocess.Popen | None = None
        self.port = 0
        self.workers = 0

    def serve(self, workers: int, ready_path: str, ready_statuses=(200, 401)) -> None:
        from django.db import connections

        connections.close_all()
        self.port, self.workers = free_port(), workers
        self.server = start_gunicorn(self.port, workers, self.database_url)
        wait_ready(self.port, self.server, ready_path, ready_statuses)

    def measure(
        self,
        label: str,
        request: Callable[[int, int], tuple[str, str, bytes | str | None]],
        *,
        clients: int,
        seconds: float,
        expect: int = 200,
        headers: dict | None = None,
        warmup: int = 5,
        interval: float = 0.0,
        keep_answers: bool | str = False,
    ) -> Result:
        """``clients`` clients calling ``request(client_number, i)`` -> (method, path, body); once every client's
        ``warmup`` requests are answered (every worker has loaded its code), ``seconds`` are measured: the
        latencies, and the server's CPU time read before and after. ``keep_answers``: True keeps every answer,
        "last" each client's last one (a long list's: memory the clients would otherwise fill)."""
        keep = "all" if keep_answers is True else (keep_answers or "")
        clock = Clock(seconds)
        threads = [
            Client(self.port, n, request, expect, headers or {}, clock, warmup, interval, keep) for n in range(clients)
        ]
        for t in threads:
            t.start()
        clock.go.set()
        for t in threads:
            t.warm.wait(timeout=120)
        cpu_before, pg_before = tree_cpu_seconds(self.server.pid), postgres_cpu_seconds()
        clock.start()
        began = time.monotonic()
        for t in threads:
            t.join(timeout=seconds + 120)
        wall = time.monotonic() - began
        cpu, pg_cpu = tree_cpu_seconds(self.server.pid) - cpu_before, postgres_cpu_seconds() - pg_before
        return Result(
            label=label,
            clients=clients,
            seconds=wall,
            latencies=[x for t in threads for x in t.latencies],
            errors=[e for t in threads for e in t.errors],
            cpu=cpu,
            pg_cpu=pg_cpu,
            sent=sum(t.sent for t in threads),
            answers=[a for t in threads for a in t.answers],
            load=load_average(),
        )


@contextmanager
def pg_bench(name: str, *, keep: bool = False, reuse: str | None = None):
    """A throwaway PostgreSQL database named after the bench (or ``reuse``'s, kept), Django set up on it
    (``_common``), and at the end gunicorn stopped and the database dropped. Yields a ``Bench``, or None when no
    PostgreSQL server can be reached (the bench then says it skipped)."""
    db_name = reuse or f"lims_bench_{name}_{os.getpid()}"
    if not reuse and pg("createdb", db_name).returncode != 0:
        print(f"Skipped: cannot create a PostgreSQL database at {PGURL} (set PGURL).")
        yield None
        return
    database_url = f"{PGURL}/{db_name}"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DB_CONN_MAX_AGE"] = "0"
    # Seeding receives dewars: their emails go to memory, not over the bench's output.
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    bench = Bench(db_name, database_url)
    try:
        sys.path.insert(0, str(ROOT / "bench"))
        import _common  # noqa: F401  (Django set up on the throwaway database)
        from django.conf import settings

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        logging.getLogger("celery").setLevel(logging.WARNING)  # the seed's dewar notifications, run eagerly
        print(f"{name}: {os.cpu_count()} CPUs; load average at the start {load_average()}")
        yield bench
        print(f"{name}: load average at the end {load_average()}")
    finally:
        finish(bench.server, db_name, keep=keep or bool(reuse))


def bare_sql_floor(database_url: str, prepare: list[str], step: Callable, repeat: int, warmup: int = 20) -> list[float]:
    """The floor of a request: ``step(cursor, i)`` running its statements (PREPAREd once from ``prepare``) and
    committing, timed over ``repeat`` runs after ``warmup``, on psycopg2: no HTTP, no Django. Sorted seconds."""
    import psycopg2

    conn = psycopg2.connect(database_url)
    cur = conn.cursor()
    for statement in prepare:
        cur.execute(statement)
    conn.commit()
    timings = []
    for i in range(repeat + warmup):
        start = time.perf_counter()
        step(cur, i)
        conn.commit()
        if i >= warmup:
            timings.append(time.perf_counter() - start)
    conn.close()
    return sorted(timings)
