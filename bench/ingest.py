"""Pipelines ingesting data collections behind gunicorn on PostgreSQL: bulk batches of 1,000 sustained by
2 clients (collections per second), then single items (latency).

Usage:  .venv/bin/python bench/ingest.py [--seconds 20] [--clients 2] [--workers N]
        PGURL=postgres://postgres@127.0.0.1:5432 .venv/bin/python bench/ingest.py

It creates a throwaway PostgreSQL database (createdb), migrates it, seeds beamline MX-3 with 4 pucks of 16 samples
in its changer, a session running now and an API token for MX-3, starts gunicorn on 127.0.0.1 with a free port
(DEBUG=0), then: ``--clients`` pipelines POST batches of 1,000 new collections (each linked to a sample by id,
its session found by the start time) for ``--seconds``; one pipeline re-sends batches (every item an update);
one pipeline POSTs single items, then PATCHes running updates. Prints p50/p95/p99, collections per second and the
server's CPU per request (single items against their floor: the token and one INSERT as bare SQL), then
stops gunicorn and drops the database. Goals (issue 6): bulk ≥ 5,000 collections/s sustained; single-item
ingest p99 < 20 ms. Only 127.0.0.1 is ever contacted.
"""

import argparse
import json
import os
from datetime import UTC, datetime, timedelta

from _serve import bare_sql_floor, percentile, pg_bench, report

try:
    import orjson

    dumps = orjson.dumps
except ImportError:  # pragma: no cover

    def dumps(data) -> bytes:
        return json.dumps(data).encode()


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


def single_floor(database_url: str, key: str, repeat: int) -> list[float]:
    """The floor of a single-item ingest: the token's row and one collection INSERTed (a copy of a stored one
    with a new external id), committed, as bare prepared SQL on psycopg2: no HTTP, no Django."""
    from lims.tokens import hash_key
    from samples.data.models import DataCollection

    columns = [f.column for f in DataCollection._meta.concrete_fields if f.column not in ("id", "external_id")]
    listed = ", ".join(f'"{c}"' for c in columns)
    template = DataCollection.objects.order_by("id").values_list("id", flat=True).first()
    digest = hash_key(key)

    def step(cur, i):
        cur.execute("EXECUTE token (%s)", [digest])
        cur.fetchone()
        cur.execute("EXECUTE copy (%s, %s)", [template, f"floor-{os.getpid()}-{i}"])
        cur.fetchone()

    prepare = [
        "PREPARE token (text) AS SELECT id, beamline_id FROM lims_apitoken WHERE key_hash = $1 AND revoked_at IS NULL",
        f"PREPARE copy (bigint, text) AS INSERT INTO samples_datacollection ({listed}, external_id)"
        f" SELECT {listed}, $2 FROM samples_datacollection WHERE id = $1 RETURNING id",
    ]
    return bare_sql_floor(database_url, prepare, step, repeat)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0, help="of the bulk run (the others take half)")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    args = parser.parse_args()

    with pg_bench("ingest") as bench:
        if bench is None:
            return
        key, sample_ids = seed()
        bench.serve(args.workers, URL, (401,))
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        print(f"MX-3: {len(sample_ids)} samples in the changer, a session running; gunicorn {args.workers} workers.")

        # One body, its external ids made new for each batch by a byte replace: the clients share the
        # machine's CPUs with the server, so they must not spend them building JSON.
        template = dumps({"items": [collection(f"@@-{n}", sample_ids[n % len(sample_ids)], n) for n in range(BATCH)]})
        run_id = os.getpid()

        def batch(client, i):
            return "POST", URL, template.replace(b"@@", f"b{run_id}-{client}-{i}".encode())

        bulk = bench.measure(
            f"POST data-collections/ {{items: [{BATCH} new]}}",
            batch,
            clients=args.clients,
            seconds=args.seconds,
            expect=201,
            headers=headers,
            warmup=2,
        )
        report(bulk, goals="≥ 5,000 collections/s sustained")
        print(f"  {len(bulk.latencies) * BATCH / bulk.seconds:7.0f} collections/s")

        resent_body = dumps(
            {"items": [collection(f"b-resent-{n}", sample_ids[n % len(sample_ids)], n) for n in range(BATCH)]}
        )
        resent = bench.measure(
            f"POST data-collections/ {{items: [{BATCH} re-sent]}} (every item an update)",
            lambda client, i: ("POST", URL, resent_body),
            clients=1,
            seconds=args.seconds / 2,
            expect=201,
            headers=headers,
            warmup=2,
        )
        report(resent, goals="updates, never duplicates")
        print(f"  {len(resent.latencies) * BATCH / resent.seconds:7.0f} collections/s")

        floor = single_floor(bench.database_url, key, 300)
        floor_p50 = percentile(floor, 0.5)
        print(
            f"Floor of a single item: the token and one INSERT, committed, bare prepared SQL, 1 client:"
            f" p50 {floor_p50 * 1000:.2f} ms, p99 {percentile(floor, 0.99) * 1000:.2f} ms"
        )

        def single(client, i):
            body = collection(f"s{run_id}-{client}-{i}", sample_ids[i % len(sample_ids)], i)
            return "POST", URL, dumps(body)

        for clients in (1, args.clients):
            result = bench.measure(
                "POST data-collections/ (one item)",
                single,
                clients=clients,
                seconds=args.seconds / 2,
                expect=201,
                headers=headers,
                warmup=20,
            )
            report(result, floor=floor_p50, goals="p99 < 20 ms")

        def running_update(client, i):
            body = {"number_of_images": i % 3600 + 1, "status": "running"}
            return "PATCH", f"{URL}by-external-id/b-resent-{i % BATCH}/", dumps(body)

        result = bench.measure(
            "PATCH data-collections/by-external-id/{id}/ (a running update)",
            running_update,
            clients=1,
            seconds=args.seconds / 2,
            headers=headers,
            warmup=20,
        )
        report(result, floor=floor_p50, goals="as single items")
        from django.db import connections

        from samples.data.models import DataCollection

        print(f"  collections stored {DataCollection.objects.count()}")
        connections.close_all()


if __name__ == "__main__":
    main()
