"""What every benchmark needs: Django set up, a throwaway test database, figures printed alike.

Imported first by each bench/*.py (run as a script, so this folder is on sys.path). Not a benchmark
itself: `make bench` runs only the files that do not start with an underscore.

The in-process benches print each figure as the HTTP benches (_serve.py) do:

    with load_reported("labels"):                  the load average at the start and at the end
        t = Timings()
        result = t.time(lambda: work())            wall (perf_counter) and CPU (thread_time) of one run
        floor = sql_floor(captured_queries, runs)  the same statements as bare SQL, or why there is no floor
        print(f"  label {figures(t, floor)}")      median wall (min, max), median CPU, floor, CPU/floor, p50/floor

CPU is this thread's CPU time (time.thread_time: the work runs in the main thread), which the machine's other
work does not inflate; on PostgreSQL the server's CPU is not in it. The floor is wall-clock time: the path's
captured statements re-executed as raw SQL on the same connection (connection.cursor(), no ORM), rows fetched,
so on PostgreSQL it holds the server's work and the round trips.
"""

import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DB_CONN_MAX_AGE", "0")

import django  # noqa: E402

django.setup()

from _serve import load_average, statement_sql  # noqa: E402  (standard library only at import)
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def median_ms(samples: list[float]) -> str:
    """The median of timings in seconds, as milliseconds with the range beside it."""
    return f"{statistics.median(samples) * 1000:8.1f} ms (min {min(samples) * 1000:.1f}, max {max(samples) * 1000:.1f})"


@contextmanager
def throwaway_database():
    """A fresh test database (SQLite, or PostgreSQL by DATABASE_URL) for the bench, dropped afterwards."""
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield connection
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def new_member():
    """A new proposal and a user who is a member of it."""
    from tests import factories as f

    proposal = f.ProposalFactory()
    user = f.UserFactory()
    f.ProposalMemberFactory(proposal=proposal, user=user)
    return proposal, user


# --- CPU, floor and load, printed as _serve.py prints them ---------------------------------------------------


@contextmanager
def load_reported(name: str):
    """The bench's load average (1, 5, 15 min) printed at the start and at the end, worded as _serve.py's."""
    print(f"{name}: {os.cpu_count()} CPUs; load average at the start {load_average()}")
    yield
    print(f"{name}: load average at the end {load_average()}")


def timed(fn: Callable):
    """``fn()`` called once: (its result, wall-clock seconds, this thread's CPU seconds)."""
    wall, cpu = time.perf_counter(), time.thread_time()
    result = fn()
    return result, time.perf_counter() - wall, time.thread_time() - cpu


@dataclass
class Timings:
    """One figure's runs: wall-clock and CPU seconds of each."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)

    def time(self, fn: Callable):
        """``fn()`` timed (``timed``) and recorded; returns its result."""
        result, wall, cpu = timed(fn)
        self.add(wall, cpu)
        return result


WRITES = "n/a (writes)"


def sql_floor(captured_queries: list[dict], runs: int, warmup: int = 3) -> float | str:
    """The median seconds of the captured statements (``CaptureQueriesContext.captured_queries``) re-executed as
    raw SQL on the same connection, rows fetched, over ``runs`` rounds after ``warmup``; or why there is none:
    ``WRITES`` when a statement is not a SELECT, "n/a" when one fails again (SQLite's captured SQL has its
    parameters put in approximately; PostgreSQL's is exact) or nothing was captured."""
    statements = [query["sql"] for query in captured_queries]
    if not statements:
        return "n/a (no queries)"
    if any(not statement_sql(sql).strip().lower().startswith("select") for sql in statements):
        return WRITES
    rounds = []
    try:
        with connection.cursor() as cursor:
            for i in range(warmup + runs):
                start = time.perf_counter()
                for sql in statements:
                    cursor.execute(sql)
                    cursor.fetchall()
                if i >= warmup:
                    rounds.append(time.perf_counter() - start)
    except Exception:  # the floor is a figure, not a check: a statement that does not run again has none
        return "n/a"
    return statistics.median(rounds)


def figures(timings: Timings, floor: float | str | None = None) -> str:
    """A figure's line: the median wall time as ``median_ms``, the median CPU time, and with a floor (seconds)
    its ratios as _serve.report words them: "floor y ms: CPU/floor z×, p50/floor w×" ("floor n/a ..." with a
    reason instead of seconds; nothing with None)."""
    cpu = statistics.median(timings.cpu)
    text = f"{median_ms(timings.wall)}   CPU {cpu * 1000:7.2f} ms"
    if isinstance(floor, str):
        return text + f"   floor {floor}"
    if floor:
        wall = statistics.median(timings.wall)
        text += f"   floor {floor * 1000:.2f} ms: CPU/floor {cpu / floor:4.1f}×, p50/floor {wall / floor:4.1f}×"
    return text
