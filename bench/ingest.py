"""Pipelines ingesting data collections behind gunicorn on PostgreSQL: bulk batches of 1,000 sustained by
2 clients (collections per second), then single items (latency).

Usage:  .venv/bin/python bench/ingest.py [--seconds 20] [--clients 2] [--workers N]
        PGURL=postgres://postgres@127.0.0.1:5432 .venv/bin/python bench/ingest.py

It creates a throwaway PostgreSQL database (createdb), migrates it, seeds beamline MX-3 with 4 pucks of 16 samples
in its changer, a session running now and an API token for MX-3, starts gunicorn on 127.0.0.1 with a free port
(DEBUG=0), then: ``--clients`` pipelines POST batches of 1,000 new collections (each linked to a sample by id,
its session found by the start time) for ``--seconds``; one pipeline re-sends batches (every item an update);
one pipeline POSTs single items, then PATCHes running updates. Prints p50/p99 and collections per second, then
stops gunicorn and drops the database. Goals (issue 6): bulk ≥ 5,000 collections/s sustained; single-item
ingest p99 < 20 ms. Only 127.0.0.1 is ever contacted.
"""

import argparse
import http.client
import json
import logging
import os
import socket
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

from _serve import PGURL, ROOT, finish, free_port, percentile, pg, start_gunicorn, wait_ready

try:
    import orjson

    dumps = orjson.dumps
except ImportError:  # pragma: no cover

    def dumps(data) -> bytes:
        return json.dumps(data).encode()


DB_NAME = f"lims_bench_ingest_{os.getpid()}"
URL = "/api/v1/data-collections/"
BATCH = 1000
PUCKS, PINS = 4, 16


def seed() -> tuple[str, list[int]]:
    """Migrate; MX-3 with 64 samples in its changer, a session running now, an API token. (key, sample ids)"""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from lims.choices import FacilityRole
    from samples.models import Sample
    from samples.services import container_assign
    from tests import factories as f

    call_command("migrate", verbosity=0)
    isara = f.BeamlineFactory(
        name="MX-3", sample_changer_model="ISARA", puck_positions=29, accepted_container_types=["unipuck"]
    )
    staff = f.UserFactory(username="bench-blstaff", groups=[FacilityRole.BEAMLINE_STAFF])
    proposal = f.ProposalFactory()
    member = f.UserFactory()
    f.ProposalMemberFactory(proposal=proposal, user=member)
    shipment = f.at_facility(f.shipment_tree(proposal=proposal, user=member, pucks=PUCKS, samples=PINS, name="Bench"))
    for position, puck in enumerate(shipment.containers.order_by("id"), start=1):
        container_assign(container=puck, beamline=isara, position=position, user=staff)
    now = timezone.now()
    f.SessionFactory(proposal=proposal, beamline=isara, start=now - timedelta(days=1), end=now + timedelta(days=2))
    key = f.api_token(isara, name="pipeline MX-3 bench")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return key, list(Sample.objects.order_by("id").values_list("id", flat=True))


def collection(external_id: str, sample_id: int, n: int) -> dict:
    start = datetime.now(UTC) - timedelta(minutes=10)
    return {
        "external_id": external_id,
        "sample": sample_id,
        "status": "successful",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(seconds=36)).isoformat(),
        "directory": f"/data/visitor/mx2345/mx3/20260310/RAW_DATA/sample_{sample_id}",
        "file_template": f"{external_id}_####.cbf",
        "number_of_images": 3600,
        "wavelength": 0.9763,
        "exposure_time": 0.01,
        "oscillation_start": (n % 360) * 1.0,
        "oscillation_range": 0.1,
        "detector_distance": 235.5,
        "resolution": 1.6,
        "transmission": 12.5,
        "beam_size_x": 50.0,
        "beam_size_y": 20.0,
        "flux": 2.1e12,
        "detector": "EIGER2 XE 16M",
        "beam_centre_x": 2110.5,
        "beam_centre_y": 2230.2,
        "metadata": {"pipeline": "bench", "n": n},
    }


class Client(threading.Thread):
    """One pipeline: its own keep-alive connection, the next request as soon as the last is answered."""

    def __init__(self, port, key, request, expect, start_at, deadline, warmup):
        super().__init__(daemon=True)
        self.port, self.key, self.request, self.expect = port, key, request, expect
        self.start_at, self.deadline, self.warmup = start_at, deadline, warmup
        self.latencies: list[float] = []
        self.items = 0
        self.errors: list[str] = []
        self.counted_from = None

    def connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def run(self):
        conn = self.connect()
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        self.start_at.wait()
        i = 0
        while i < self.warmup or time.monotonic() < self.deadline:
            method, path, body, count = self.request(self, i)
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
                self.errors.append(f"{response.status} {data[:300]!r}")
            elif i >= self.warmup:
                if self.counted_from is None:
                    self.counted_from = time.monotonic() - elapsed
                self.latencies.append(elapsed)
                self.items += count
            i += 1
        self.counted_to = time.monotonic()
        conn.close()


def run(label, port, key, request, expect, clients, seconds, warmup, goals) -> dict:
    go = threading.Event()
    deadline = time.monotonic() + seconds
    threads = [Client(port, key, request, expect, go, deadline, warmup) for _ in range(clients)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(timeout=seconds + 120)
    latencies = sorted(x for t in threads for x in t.latencies)
    errors = [e for t in threads for e in t.errors]
    items = sum(t.items for t in threads)
    began = min((t.counted_from for t in threads if t.counted_from), default=None)
    ended = max((t.counted_to for t in threads), default=None)
    span = (ended - began) if began and ended else seconds
    print(f"{label}, {clients} client{'s' if clients > 1 else ''}, {span:.1f} s counted:")
    if latencies:
        print(
            f"  p50 {percentile(latencies, 0.50) * 1000:7.1f} ms   p90 {percentile(latencies, 0.90) * 1000:7.1f} ms"
            f"   p99 {percentile(latencies, 0.99) * 1000:7.1f} ms   max {latencies[-1] * 1000:7.1f} ms   ({goals})"
        )
        print(f"  {len(latencies) / span:7.0f} requests/s, {items / span:7.0f} collections/s ({items} collections)")
    print(f"  errors {len(errors)}")
    for error in errors[:5]:
        print(f"    {error}")
    return {"latencies": latencies, "items": items, "span": span}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0, help="of the bulk run (the others take half)")
    parser.add_argument("--clients", type=int, default=2)
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
        logging.getLogger("celery").setLevel(logging.WARNING)
        key, sample_ids = seed()
        connections.close_all()

        port = free_port()
        server = start_gunicorn(port, args.workers, database_url)
        wait_ready(port, server, URL, (401,))
        print(
            f"MX-3: {len(sample_ids)} samples in the changer, a session running; gunicorn {args.workers} workers"
            f" (gthread), PostgreSQL, {os.cpu_count()} CPUs; keep-alive clients, warm-up excluded;"
            f" load average before: {os.getloadavg()[0]:.2f} (other work on the machine slows every figure)."
        )

        # One body, its external ids made new for each batch by a byte replace: the clients share the
        # machine's CPUs with the server, so they must not spend them building JSON.
        template = dumps({"items": [collection(f"@@-{n}", sample_ids[n % len(sample_ids)], n) for n in range(BATCH)]})

        def batch(client, i):
            return "POST", URL, template.replace(b"@@", f"b{id(client) % 100000}-{i}".encode()), BATCH

        bulk = run(
            f"POST data-collections/ {{items: [{BATCH} new]}}",
            port,
            key,
            batch,
            201,
            args.clients,
            args.seconds,
            2,
            "goal: ≥ 5,000 collections/s sustained",
        )

        resent = [collection(f"b-resent-{n}", sample_ids[n % len(sample_ids)], n) for n in range(BATCH)]
        resent_body = dumps({"items": resent})

        def resend(client, i):
            return "POST", URL, resent_body, BATCH

        run(
            f"POST data-collections/ {{items: [{BATCH} re-sent]}} (every item an update)",
            port,
            key,
            resend,
            201,
            1,
            args.seconds / 2,
            2,
            "updates, never duplicates",
        )

        def single(client, i):
            body = collection(f"s{id(client) % 100000}-{i}", sample_ids[i % len(sample_ids)], i)
            return "POST", URL, dumps(body), 1

        for clients in (1, args.clients):
            run(
                "POST data-collections/ (one item)",
                port,
                key,
                single,
                201,
                clients,
                args.seconds / 2,
                20,
                "goal: p99 < 20 ms",
            )

        def running_update(client, i):
            body = {"number_of_images": i % 3600 + 1, "status": "running"}
            return "PATCH", f"{URL}by-external-id/b-resent-{i % BATCH}/", dumps(body), 1

        run(
            "PATCH data-collections/by-external-id/{id}/ (a running update)",
            port,
            key,
            running_update,
            200,
            1,
            args.seconds / 2,
            20,
            "as single items",
        )
        from samples.data.models import DataCollection

        stored = DataCollection.objects.count()
        print(f"  collections stored {stored} (bulk alone {bulk['items']} new)")
        print(f"Load average after: {os.getloadavg()[0]:.2f}")
        connections.close_all()
    finally:
        finish(server, DB_NAME)


if __name__ == "__main__":
    main()
