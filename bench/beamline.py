"""Beamline control on the ISPyB-compatible API behind gunicorn on PostgreSQL: the sample list of a full
ISARA changer (29 UniPucks × 16 = 464 samples) polled by 4 clients at once, then robot actions reported by
1 and by 4 clients.

Usage:  .venv/bin/python bench/beamline.py [--seconds 10] [--clients 4] [--workers N]
        PGURL=postgres://postgres@127.0.0.1:5432 .venv/bin/python bench/beamline.py

It creates a throwaway PostgreSQL database (createdb), migrates it, seeds beamline MX-3 (ISARA, 29 UniPuck
positions) with every position filled through the services (shipments registered, received, pucks assigned),
a session and an API token for MX-3, starts gunicorn on 127.0.0.1 with a free port (DEBUG=0), runs clients
with keep-alive connections for ``--seconds`` each run (warm-up excluded), prints p50, p99 and requests/s,
then stops gunicorn and drops the database. Beside the sample list: the raw SQL time of its one query
(psycopg2 on the same database, no Django) and what Django adds in-process (ORM, items, JSON).
Goals (issue 5): sample list p50 < 25 ms, p99 < 50 ms; robot action p50 < 5 ms, p99 < 15 ms.
Only 127.0.0.1 is ever contacted.
"""

import argparse
import http.client
import json
import logging
import os
import socket
import statistics
import sys
import threading
import time

from _serve import PGURL, ROOT, finish, free_port, percentile, pg, start_gunicorn, wait_ready

DB_NAME = f"lims_bench_beamline_{os.getpid()}"
BASE = "/ispyb/api/v1/"
POSITIONS = 29
PINS = 16
# Pucks per proposal: four proposals share the changer, as on a busy day.
PUCKS_PER_PROPOSAL = (8, 7, 7, 7)
REGISTERED_FIELDS = [
    "pin_code",
    "space_group",
    "cell_a",
    "cell_b",
    "cell_c",
    "cell_alpha",
    "cell_beta",
    "cell_gamma",
    "aimed_resolution",
    "required_resolution",
    "comments",
]


def seed() -> tuple[str, int, list[int]]:
    """Migrate, fill MX-3's changer through the services; the API token's key, a session, the sample ids."""
    from django.core.management import call_command

    from lims.choices import FacilityRole
    from samples.models import Sample
    from samples.services import container_assign
    from tests import factories as f

    call_command("migrate", verbosity=0)
    isara = f.BeamlineFactory(
        name="MX-3", sample_changer_model="ISARA", puck_positions=POSITIONS, accepted_container_types=["unipuck"]
    )
    staff = f.UserFactory(username="bench-blstaff", groups=[FacilityRole.BEAMLINE_STAFF])
    position = 0
    session = None
    for n, pucks in enumerate(PUCKS_PER_PROPOSAL):
        proposal = f.ProposalFactory()
        member = f.UserFactory()
        f.ProposalMemberFactory(proposal=proposal, user=member)
        shipment = f.shipment_tree(proposal=proposal, user=member, pucks=pucks, samples=PINS, name=f"Bench-{n}")
        f.at_facility(shipment)
        for puck in shipment.containers.order_by("id"):
            position += 1
            container_assign(container=puck, beamline=isara, position=position, user=staff)
        session = session or f.SessionFactory(proposal=proposal, beamline=isara)
    assert position == POSITIONS
    # What users register: a pin code on every pin, the crystal and a diffraction plan.
    samples = list(Sample.objects.order_by("id"))
    for i, sample in enumerate(samples):
        sample.pin_code = f"PX{i:08d}"
        sample.space_group = "P212121"
        sample.cell_a, sample.cell_b, sample.cell_c = 40.2, 52.7, 88.1
        sample.cell_alpha = sample.cell_beta = sample.cell_gamma = 90.0
        sample.aimed_resolution, sample.required_resolution = 1.8, 2.5
        sample.comments = "soaked 2 h"
    Sample.objects.bulk_update(samples, REGISTERED_FIELDS, batch_size=500)
    key = f.api_token(isara, name="MXCuBE MX-3 bench")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does soon after a bulk load: plans from real statistics
    return key, session.pk, [sample.pk for sample in samples]


class Client(threading.Thread):
    """One beamline-control process: its own keep-alive connection, a request again as soon as answered."""

    def __init__(self, port, key, request, expect, start_at, deadline, warmup):
        super().__init__(daemon=True)
        self.port, self.key, self.request, self.expect = port, key, request, expect
        self.start_at, self.deadline, self.warmup = start_at, deadline, warmup
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.connect()
        # No Nagle: a small request must not wait for the server's delayed ACK (40 ms on Linux).
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def run(self):
        conn = self.connect()
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        self.start_at.wait()
        i = 0
        while i < self.warmup or time.monotonic() < self.deadline:
            method, path, body = self.request(i)
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
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
            elif i >= self.warmup:
                self.latencies.append(elapsed)
            i += 1
        conn.close()


def run(label, port, key, request, expect, clients, seconds, warmup, goals) -> list[float]:
    go = threading.Event()
    deadline = time.monotonic() + seconds + 1.0  # the warm-up's second is not counted in the rate
    threads = [Client(port, key, request, expect, go, deadline, warmup) for _ in range(clients)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(timeout=seconds + 60)
    latencies = sorted(x for t in threads for x in t.latencies)
    errors = [e for t in threads for e in t.errors]
    print(f"{label}, {clients} client{'s' if clients > 1 else ''}, {seconds:.0f} s:")
    if latencies:
        print(
            f"  p50 {percentile(latencies, 0.50) * 1000:6.1f} ms   p90 {percentile(latencies, 0.90) * 1000:6.1f} ms"
            f"   p99 {percentile(latencies, 0.99) * 1000:6.1f} ms   max {latencies[-1] * 1000:6.1f} ms   ({goals})"
        )
        print(f"  {len(latencies) / seconds:7.0f} requests/s ({len(latencies)} requests, warm-up excluded)")
    print(f"  errors {len(errors)}")
    for error in errors[:5]:
        print(f"    {error}")
    return latencies


def sql_time(database_url: str, repeat: int) -> list[float]:
    """The sample list's one query, as raw SQL on psycopg2 (executed and fetched), no Django."""
    import psycopg2
    from django.db import connection

    from lims.models import Beamline
    from samples.ispyb.selectors import changer_sample_query

    rows = changer_sample_query(beamline=Beamline.objects.get(name="MX-3").pk)
    sql, params = rows.query.sql_with_params()
    connection.close()
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    cur = conn.cursor()
    timings = []
    for i in range(repeat + 20):
        start = time.perf_counter()
        cur.execute(sql, params)
        fetched = cur.fetchall()
        if i >= 20:
            timings.append(time.perf_counter() - start)
    assert len(fetched) == POSITIONS * PINS, len(fetched)
    conn.close()
    return timings


# The floor of a robot action report: its statements as bare prepared SQL, no HTTP, no Django, no ORM.
REPORT_STATEMENTS = (
    (
        "token",
        "SELECT t.id, t.beamline_id, b.name FROM lims_apitoken t JOIN lims_beamline b ON b.id = t.beamline_id"
        " WHERE t.key_hash = $1 AND t.revoked_at IS NULL",
        "text",
    ),
    (
        "session_sample",
        "SELECT e.id, (SELECT s.id FROM samples_sample s JOIN samples_container c ON c.id = s.container_id"
        " LEFT JOIN shipping_dewar d ON d.id = c.dewar_id LEFT JOIN lims_session f ON f.id = d.session_id"
        " WHERE s.id = $1 AND (c.beamline_id = $2 OR f.beamline_id = $2) LIMIT 1)"
        " FROM lims_session e WHERE e.id = $3 AND e.beamline_id = $2",
        "bigint, bigint, bigint",
    ),
    (
        "report",
        "INSERT INTO samples_robotaction (beamline_id, session_id, sample_id, sample_reference, action_type,"
        " status, started_at, ended_at, container_location, dewar_location, sample_barcode, message,"
        " snapshot_before, snapshot_after, user_id, token_id, created_at) VALUES ($1, $2, $3, $3, 'LOAD',"
        " 'SUCCESS', now(), now(), '1', '1', '', 'floor', '', '', NULL, $4, now()) RETURNING id",
        "bigint, bigint, bigint, bigint",
    ),
)


def report_floor(database_url: str, key: str, session_id: int, sample_ids: list[int], repeat: int, durable: bool):
    """One client doing only the report's statements (prepared once), committing each report."""
    import psycopg2

    from lims.tokens import hash_key

    conn = psycopg2.connect(database_url)
    cur = conn.cursor()
    for name, sql, types in REPORT_STATEMENTS:
        cur.execute(f"PREPARE {name} ({types}) AS {sql}")
    conn.commit()
    timings = []
    digest = hash_key(key)
    for i in range(repeat + 20):
        start = time.perf_counter()
        if not durable:
            cur.execute("SET LOCAL synchronous_commit TO OFF")
        cur.execute("EXECUTE token (%s)", [digest])
        token_id, beamline_id, _ = cur.fetchone()
        cur.execute("EXECUTE session_sample (%s, %s, %s)", [sample_ids[i % len(sample_ids)], beamline_id, session_id])
        sample_id = cur.fetchone()[1]
        cur.execute("EXECUTE report (%s, %s, %s, %s)", [beamline_id, session_id, sample_id, token_id])
        cur.fetchone()
        conn.commit()
        if i >= 20:
            timings.append(time.perf_counter() - start)
    conn.close()
    return sorted(timings)


def in_process(repeat: int) -> dict[str, list[float]]:
    """Where the list's time goes inside Django, as the view does it: the query (its SQL compiled once per
    process, run on Django's cursor, rows fetched), the items built, the JSON encoded."""
    from lims.models import Beamline
    from samples.ispyb.http import dumps
    from samples.ispyb.selectors import changer_sample_query, changer_sample_rows, sample_items

    beamline_id = Beamline.objects.get(name="MX-3").pk
    parts = {"query": [], "items": [], "JSON": [], "the same query through the ORM": []}
    for i in range(repeat + 10):
        t0 = time.perf_counter()
        rows = changer_sample_rows(beamline_id=beamline_id)
        t1 = time.perf_counter()
        items = sample_items(rows)
        t2 = time.perf_counter()
        body = dumps(items)
        t3 = time.perf_counter()
        list(changer_sample_query(beamline=beamline_id))
        t4 = time.perf_counter()
        if i >= 10:
            for name, elapsed in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                parts[name].append(elapsed)
    parts["bytes"] = [len(body)]
    return parts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="of each run")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    args = parser.parse_args()

    if pg("createdb", DB_NAME).returncode != 0:
        print(f"Skipped: cannot create a PostgreSQL database at {PGURL} (set PGURL).")
        return
    database_url = f"{PGURL}/{DB_NAME}"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DB_CONN_MAX_AGE"] = "0"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    server = None
    try:
        sys.path.insert(0, str(ROOT / "bench"))
        import _common  # noqa: F401  (Django set up on the throwaway database)
        from django.conf import settings
        from django.db import connections

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        logging.getLogger("celery").setLevel(logging.WARNING)  # the seed's dewar notifications, run eagerly
        key, session_id, sample_ids = seed()
        connections.close_all()

        port = free_port()
        server = start_gunicorn(port, args.workers, database_url)
        wait_ready(port, server, BASE + "proposals", (401,))
        print(
            f"MX-3 (ISARA): {POSITIONS} UniPucks × {PINS} pins = {len(sample_ids)} samples; gunicorn {args.workers}"
            f" workers (gthread), PostgreSQL, {os.cpu_count()} CPUs; keep-alive clients, warm-up excluded;"
            f" load average before: {os.getloadavg()[0]:.2f} (other work on the machine slows every figure)."
        )

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", BASE + "samples?beamLineName=MX-3", headers={"Authorization": f"Bearer {key}"})
        listed = json.loads(conn.getresponse().read())
        conn.close()
        assert len(listed) == len(sample_ids), f"the list has {len(listed)} samples"

        def list_samples(i):
            return "GET", BASE + "samples?beamLineName=MX-3", None

        listing = []
        for clients in (1, args.clients):
            listing = run(
                "GET samples?beamLineName=MX-3 (464 samples)",
                port,
                key,
                list_samples,
                200,
                clients,
                args.seconds,
                5,
                "goals with 4 clients: p50 < 25 ms, p99 < 50 ms",
            )
        sql = sql_time(database_url, 200)
        parts = in_process(50)
        sql_median = statistics.median(sql)
        print(
            f"  raw SQL of the one query (psycopg2, execute + fetchall, 1 client): median {sql_median * 1000:.1f} ms"
            f" (p99 {percentile(sorted(sql), 0.99) * 1000:.1f})"
        )
        if listing:
            print(f"  HTTP p50 ({args.clients} clients) / raw SQL = {percentile(listing, 0.5) / sql_median:.1f}×")
        print(
            "  in-process, 1 client: "
            + ", ".join(f"{name} {statistics.median(v) * 1000:.1f} ms" for name, v in parts.items() if name != "bytes")
            + f"; {parts['bytes'][0] / 1024:.0f} KiB of JSON"
        )
        connections.close_all()

        def report(i):
            body = {
                "actionType": "LOAD" if i % 2 == 0 else "UNLOAD",
                "status": "SUCCESS",
                "blSampleId": sample_ids[i % len(sample_ids)],
                "sessionId": session_id,
                "containerLocation": str(i % POSITIONS + 1),
                "dewarLocation": "1",
                "sampleBarcode": None,
                "startTimestamp": "2026-03-10 10:00:00",
                "endTimestamp": "2026-03-10 10:00:42",
                "message": "bench",
                "xtalSnapshotBefore": None,
                "xtalSnapshotAfter": None,
            }
            return "POST", BASE + "events/robot-action", json.dumps(body)

        for clients in (1, args.clients):
            run(
                "POST events/robot-action (session and sample looked up, one INSERT)",
                port,
                key,
                report,
                201,
                clients,
                args.seconds,
                20,
                "goals: p50 < 5 ms, p99 < 15 ms",
            )
        for durable in (True, False):
            floor = report_floor(database_url, key, session_id, sample_ids, 300, durable)
            print(
                f"  floor, bare prepared SQL (token, session with sample, INSERT, COMMIT), 1 client,"
                f" synchronous_commit {'on ' if durable else 'off'}: p50 {percentile(floor, 0.5) * 1000:5.1f} ms"
                f"   p99 {percentile(floor, 0.99) * 1000:5.1f} ms"
            )
        from samples.models import RobotAction

        print(
            f"  robot actions stored {RobotAction.objects.count()}, linked to their sample "
            f"{RobotAction.objects.filter(sample__isnull=False).count()}"
        )
        print(f"Load average after: {os.getloadavg()[0]:.2f}")
        connections.close_all()
    finally:
        finish(server, DB_NAME)


if __name__ == "__main__":
    main()
