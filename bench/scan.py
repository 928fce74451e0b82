"""Scan round trip behind gunicorn on PostgreSQL: 8 scanners at once, each moving its own dewars between
two locations, so that every scan records an event (HTTP request → event committed → response).

Usage:  .venv/bin/python bench/scan.py [--seconds 10] [--scanners 8] [--workers N]
        PGURL=postgres://postgres@127.0.0.1:5432 .venv/bin/python bench/scan.py

It creates a throwaway PostgreSQL database (createdb), migrates it, seeds dewars at the facility, two
locations and a stores user with an API token, starts gunicorn on 127.0.0.1 with a free port (DEBUG=0),
runs the scanners with keep-alive connections for ``--seconds`` (or ``--max-scans`` each), prints p50, p99
and requests/s, checks that every answered scan left exactly one event, then stops gunicorn and drops the
database. Goals (issue 4): p50 under 10 ms, p99 under 30 ms. Last, the floor: the same statements as bare
prepared SQL from the same paced scanners, so the framework's share of the round trip shows. Only 127.0.0.1 is
ever contacted.
"""

import argparse
import http.client
import json
import os
import socket
import sys
import threading
import time

from _serve import PGURL, ROOT, finish, free_port, percentile, pg, start_gunicorn, wait_ready

DB_NAME = f"lims_bench_scan_{os.getpid()}"
DEWARS_PER_SCANNER = 4


def seed(scanners: int) -> tuple[str, list[list[str]], tuple[str, str]]:
    """Migrate, then dewars received at the facility (their own shipment per scanner), two locations, a token."""
    from django.core.management import call_command

    from lims.choices import FacilityRole
    from lims.tokens import personal_token_create
    from shipping.choices import LocationKind
    from shipping.services import dewar_receive, shipment_send
    from tests import factories as f

    call_command("migrate", verbosity=0)
    shelf = f.LocationFactory(name="Stores shelf A", kind=LocationKind.STORES, barcode="BENCH-SHELF-A")
    beamline = f.LocationFactory(name="Beamline bench", kind=LocationKind.BEAMLINE, barcode="BENCH-BL")
    stores = f.UserFactory(username="bench-stores", groups=[FacilityRole.STORES])
    barcodes = []
    for n in range(scanners):
        proposal = f.ProposalFactory()
        member = f.UserFactory()
        f.ProposalMemberFactory(proposal=proposal, user=member)
        shipment = f.shipment_tree(proposal=proposal, user=member, dewars=DEWARS_PER_SCANNER, name=f"Bench-{n}")
        shipment_send(shipment=shipment, user=member)
        for dewar in shipment.dewars.order_by("id"):
            dewar_receive(dewar=dewar, user=stores, location=shelf)
        barcodes.append(list(shipment.dewars.order_by("id").values_list("barcode", flat=True)))
    _, token = personal_token_create(user=stores)
    return token, barcodes, (beamline.barcode, shelf.barcode)


class Scanner(threading.Thread):
    """One scan station: its own dewars, moved in turn to the other location; one keep-alive connection."""

    def __init__(self, port, token, barcodes, places, start_at, deadline, max_scans, warmup, interval=0.0, turn=0):
        super().__init__(daemon=True)
        self.interval, self.turn = interval, turn
        self.port, self.token, self.barcodes, self.places = port, token, barcodes, places
        self.start_at, self.deadline, self.max_scans, self.warmup = start_at, deadline, max_scans, warmup
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.recorded = 0
        self.turns = 0

    def scan(self, conn, barcode, place) -> tuple[int, dict]:
        body = json.dumps({"barcode": barcode, "location": place})
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        conn.request("POST", "/api/v1/scans/", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")

    def connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.connect()
        # No Nagle: a scanner's small request must not wait for the server's delayed ACK (40 ms on Linux).
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def run(self):
        conn = self.connect()
        turn = self.turn
        while not self.start_at.is_set():
            time.sleep(0.001)
        for i in range(self.warmup + self.max_scans):  # bounded, and by time below
            if i >= self.warmup and time.monotonic() > self.deadline:
                break
            barcode = self.barcodes[turn % len(self.barcodes)]
            # Every dewar starts on the shelf; each visit moves it to the other place, so each scan records.
            place = self.places[(turn // len(self.barcodes)) % 2]
            turn += 1
            self.turns = turn
            start = time.perf_counter()
            try:
                status, body = self.scan(conn, barcode, place)
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(repr(exc))
                conn.close()
                conn = self.connect()
                continue
            elapsed = time.perf_counter() - start
            if self.interval:
                # A paced scanner: a person scans, reads the screen, takes the next dewar.
                time.sleep(max(0.0, self.interval - elapsed))
            if status != 201 or not body.get("recorded"):
                self.errors.append(f"{status} {body.get('detail', body)}")
                continue
            self.recorded += 1
            if i >= self.warmup:
                self.latencies.append(elapsed)
        conn.close()


# The floor: the statements a scan must run, as bare SQL from Python with no HTTP, no Django and no ORM.
# What any implementation keeping the guarantees (token check, shipment and dewar locked, dewar updated,
# one event, one audit entry, shipment status re-derived, committed) cannot go below on this machine.
FLOOR_STATEMENTS = (
    (
        "auth",
        "SELECT u.id, u.is_active, ARRAY(SELECT g.name FROM auth_group g JOIN auth_user_groups ug"
        " ON ug.group_id = g.id WHERE ug.user_id = u.id) FROM lims_personaltoken t JOIN auth_user u ON u.id = t.user_id"
        " WHERE t.key_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now()",
        "text",
    ),
    ("place", "SELECT id, kind FROM shipping_location WHERE barcode = $1 AND active", "text"),
    (
        "lock_shipment",
        "SELECT s.id, s.status, p.code FROM shipping_shipment s JOIN lims_proposal p ON p.id ="
        " s.proposal_id WHERE s.id = (SELECT shipment_id FROM shipping_dewar WHERE barcode = $1) FOR UPDATE OF s",
        "text",
    ),
    (
        "lock_dewar",
        "SELECT d.id, d.status, d.location_id, l.name FROM shipping_dewar d LEFT JOIN shipping_location l"
        " ON l.id = d.location_id WHERE d.barcode = $1 FOR UPDATE OF d",
        "text",
    ),
    ("update", "UPDATE shipping_dewar SET location_id = $2, status = $3 WHERE id = $1", "int, int, text"),
    (
        "event",
        "INSERT INTO shipping_dewarevent (dewar_id, at, kind, status, location_id, user_id, courier,"
        " tracking_number, note) VALUES ($1, now(), 'status', $3, $2, $4, '', '', '') RETURNING id",
        "int, int, text, int",
    ),
    (
        "audit",
        "INSERT INTO lims_auditentry (at, user_id, action, content_type_id, object_id, object_repr, message,"
        " changes) VALUES (now(), $1, 'transition', $2, $3, 'dewar', 'move', '{}') RETURNING id",
        "int, int, text",
    ),
    ("statuses", "SELECT status FROM shipping_dewar WHERE shipment_id = $1", "int"),
)


def sql_floor(
    database_url: str,
    token: str,
    barcodes: list[str],
    places: tuple[str, str],
    scans: int,
    interval: float,
    out: list[float],
) -> None:
    """One scanner doing only the statements above (prepared once, so not even planned again)."""
    import psycopg2
    from django.contrib.contenttypes.models import ContentType

    from lims.tokens import hash_key
    from shipping.models import Dewar

    dewar_type = ContentType.objects.get_for_model(Dewar).pk
    conn = psycopg2.connect(database_url)
    cur = conn.cursor()
    for name, sql, types in FLOOR_STATEMENTS:
        cur.execute(f"PREPARE {name} ({types}) AS {sql}")
    conn.commit()
    calls = {
        name: f"EXECUTE {name} ({', '.join(['%s'] * (types.count(',') + 1))})" for name, _, types in FLOOR_STATEMENTS
    }
    for i in range(scans):
        barcode, place = barcodes[i % len(barcodes)], places[(i // len(barcodes)) % 2]
        start = time.perf_counter()
        cur.execute(calls["auth"], [hash_key(token)])  # the key's hash, as the token check computes it
        user_id = cur.fetchone()[0]
        cur.execute(calls["place"], [place])
        location_id, kind = cur.fetchone()
        cur.execute(calls["lock_shipment"], [barcode])
        shipment_id = cur.fetchone()[0]
        cur.execute(calls["lock_dewar"], [barcode])
        dewar_id = cur.fetchone()[0]
        status = "at_beamline" if kind == "beamline" else "at_facility"
        cur.execute(calls["update"], [dewar_id, location_id, status])
        cur.execute(calls["event"], [dewar_id, location_id, status, user_id])
        cur.execute(calls["audit"], [user_id, dewar_type, str(dewar_id)])
        cur.execute(calls["statuses"], [shipment_id])
        cur.fetchall()
        conn.commit()
        elapsed = time.perf_counter() - start
        if i >= len(barcodes):
            out.append(elapsed)
        if interval:
            time.sleep(max(0.0, interval - elapsed))
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="of each of the two runs")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between a paced scanner's scans")
    parser.add_argument("--scanners", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--max-scans", type=int, default=20_000, help="per scanner, a bound on the loop")
    args = parser.parse_args()

    if pg("createdb", DB_NAME).returncode != 0:
        print(f"Skipped: cannot create a PostgreSQL database at {PGURL} (set PGURL).")
        return
    database_url = f"{PGURL}/{DB_NAME}"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DB_CONN_MAX_AGE"] = "0"
    # Seeding receives the dewars: their arrival emails go to memory, not over the bench's output.
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    server = None
    try:
        sys.path.insert(0, str(ROOT / "bench"))
        import _common  # noqa: F401  (Django set up on the throwaway database)
        from django.conf import settings
        from django.db import connections

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        token, barcodes, places = seed(args.scanners)
        connections.close_all()

        port = free_port()
        server = start_gunicorn(port, args.workers, database_url)
        wait_ready(port, server, "/api/v1/")
        turns = [0] * args.scanners
        for label, interval, warmup in (
            (
                f"paced: each scanner one scan every {args.interval * 1000:.0f} ms",
                args.interval,
                2 * DEWARS_PER_SCANNER,
            ),
            ("flat out: each scanner scans again as soon as it has the answer", 0.0, 0),
        ):
            go = threading.Event()
            deadline = time.monotonic() + args.seconds + (1.0 if warmup else 0.0)
            scanners = [
                Scanner(port, token, barcodes[n], places, go, deadline, args.max_scans, warmup, interval, turns[n])
                for n in range(args.scanners)
            ]
            for s in scanners:
                s.start()
            go.set()
            began = time.monotonic()
            for s in scanners:
                s.join(timeout=args.seconds + 60)
            wall = time.monotonic() - began
            turns = [s.turns for s in scanners]
            latencies = sorted(x for s in scanners for x in s.latencies)
            errors = [e for s in scanners for e in s.errors]
            print(
                f"Scan round trip, {args.scanners} scanners, {label}; gunicorn {args.workers} workers (gthread), "
                f"PostgreSQL, {os.cpu_count()} CPUs, {wall:.1f} s:"
            )
            if latencies:
                print(
                    f"  p50 {percentile(latencies, 0.50) * 1000:6.1f} ms   p90 {percentile(latencies, 0.90) * 1000:6.1f} ms"
                    f"   p99 {percentile(latencies, 0.99) * 1000:6.1f} ms   max {latencies[-1] * 1000:6.1f} ms"
                    f"   (goals: p50 < 10 ms, p99 < 30 ms)"
                )
                print(f"  {len(latencies) / args.seconds:7.0f} scans/s ({len(latencies)} scans, warm-up excluded)")
            print(f"  errors {len(errors)}")
            for error in errors[:5]:
                print(f"    {error}")

        from django.db.models import Count

        from shipping.models import Dewar, DewarEvent

        # Nothing lost: every dewar stands where its last event says, and no scan wrote two events.
        stray = 0
        for dewar in Dewar.objects.annotate(n=Count("events")):
            last = DewarEvent.objects.filter(dewar=dewar).order_by("-at", "-id").first()
            stray += (dewar.location_id, dewar.status) != (last.location_id, last.status)
        seeded = 2 * DEWARS_PER_SCANNER * args.scanners
        print(
            f"  events written {DewarEvent.objects.count() - seeded} for {sum(turns)} scans, dewars out of step {stray}"
        )
        connections.close_all()

        # The floor: the same statements as bare, prepared SQL, no HTTP, no framework, same scanners and pace.
        latencies: list[float] = []
        threads = [
            threading.Thread(
                target=sql_floor,
                args=(
                    database_url,
                    token,
                    barcodes[n],
                    places,
                    int(args.seconds / args.interval),
                    args.interval,
                    latencies,
                ),
            )
            for n in range(args.scanners)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        latencies.sort()
        print(
            f"Floor: the scan's statements as bare prepared SQL (auth, location, lock shipment and dewar, update, "
            f"event, audit entry, shipment's statuses, commit), {args.scanners} paced scanners, no HTTP, no Django:"
        )
        print(
            f"  p50 {percentile(latencies, 0.50) * 1000:6.1f} ms   p99 {percentile(latencies, 0.99) * 1000:6.1f} ms"
            f"   ({len(latencies)} scans)"
        )
        connections.close_all()
    finally:
        finish(server, DB_NAME)


if __name__ == "__main__":
    main()
