"""Beamline control behind gunicorn on PostgreSQL: the sample list of a full ISARA changer (29 UniPucks × 16 =
464 samples), ISPyB-compatible and native, polled by 1 and by 4 clients at once, then robot actions reported
by 1 and by 4 clients.

Usage:  .venv/bin/python bench/beamline.py [--seconds 10] [--clients 4] [--workers N]
        PGURL=postgres://postgres@127.0.0.1:5432 .venv/bin/python bench/beamline.py

It creates a throwaway PostgreSQL database (createdb), migrates it, seeds beamline MX-3 (ISARA, 29 UniPuck
positions) with every position filled through the services (shipments registered, received, pucks assigned),
a session and an API token for MX-3, starts gunicorn on 127.0.0.1 with a free port (DEBUG=0), runs clients
with keep-alive connections for ``--seconds`` each run (warm-up excluded), prints p50/p95/p99, requests/s and
the server's CPU per request against the floor (the list's one query as raw SQL on psycopg2; the report's
statements as bare prepared SQL), then stops gunicorn and drops the database. Beside the sample list: what
Django adds in-process (query, items, JSON). Goals: sample list ≤ 10 ms of server CPU, p99 < 50 ms at 4
clients (issue 18); robot action p50 < 5 ms, p99 < 15 ms (issue 5).
Only 127.0.0.1 is ever contacted.
"""

import argparse
import json
import os
import statistics
import time

from _serve import bare_sql_floor, percentile, pg_bench, report

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
    from lims.tokens import hash_key

    digest = hash_key(key)

    def step(cur, i):
        if not durable:
            cur.execute("SET LOCAL synchronous_commit TO OFF")
        cur.execute("EXECUTE token (%s)", [digest])
        token_id, beamline_id, _ = cur.fetchone()
        cur.execute("EXECUTE session_sample (%s, %s, %s)", [sample_ids[i % len(sample_ids)], beamline_id, session_id])
        sample_id = cur.fetchone()[1]
        cur.execute("EXECUTE report (%s, %s, %s, %s)", [beamline_id, session_id, sample_id, token_id])
        cur.fetchone()

    prepare = [f"PREPARE {name} ({types}) AS {sql}" for name, sql, types in REPORT_STATEMENTS]
    return bare_sql_floor(database_url, prepare, step, repeat)


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

    with pg_bench("beamline") as bench:
        if bench is None:
            return
        key, session_id, sample_ids = seed()
        from django.db import connections

        from lims.models import Beamline

        beamline_id = Beamline.objects.get(name="MX-3").pk
        sql = sorted(sql_time(bench.database_url, 200))
        sql_median = statistics.median(sql)
        parts = in_process(50)
        connections.close_all()
        bench.serve(args.workers, BASE + "proposals", (401,))
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        print(
            f"MX-3 (ISARA): {POSITIONS} UniPucks × {PINS} pins = {len(sample_ids)} samples; gunicorn {args.workers}"
            f" workers (gthread), PostgreSQL; keep-alive clients, warm-up excluded."
        )
        print(
            f"Floor: the sample list's one query as raw SQL (psycopg2, execute + fetchall, 1 client):"
            f" median {sql_median * 1000:.2f} ms (p99 {percentile(sql, 0.99) * 1000:.2f})"
        )
        print(
            "  in-process, 1 client: "
            + ", ".join(f"{name} {statistics.median(v) * 1000:.1f} ms" for name, v in parts.items() if name != "bytes")
            + f"; {parts['bytes'][0] / 1024:.0f} KiB of JSON"
        )
        lists = (
            ("GET ispyb samples?beamLineName=MX-3 (ISPyB-compatible, 464 samples)", BASE + "samples?beamLineName=MX-3"),
            (
                "GET /api/v1/beamlines/{id}/samples/?page_size=500 (native, 464 samples)",
                f"/api/v1/beamlines/{beamline_id}/samples/?page_size=500",
            ),
        )
        for label, path in lists:
            for clients in (1, args.clients):
                result = bench.measure(
                    label,
                    lambda n, i, path=path: ("GET", path, None),
                    clients=clients,
                    seconds=args.seconds,
                    headers=headers,
                    keep_answers="last",
                )
                report(result, floor=sql_median, goals="server CPU ≤ 10 ms; 4 clients: p99 < 50 ms")
                body = json.loads(result.answers[-1]) if result.answers else []
                listed = body["results"] if isinstance(body, dict) else body
                assert len(listed) == len(sample_ids), f"the list has {len(listed)} samples"

        def robot_action(n, i):
            body = {
                "actionType": "LOAD" if i % 2 == 0 else "UNLOAD",
                "status": "SUCCESS",
                "blSampleId": sample_ids[(n * 7919 + i) % len(sample_ids)],
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

        floor = report_floor(bench.database_url, key, session_id, sample_ids, 300, True)
        floor_off = report_floor(bench.database_url, key, session_id, sample_ids, 300, False)
        print(
            "Floor of a robot action report, bare prepared SQL (token, session with sample, INSERT, COMMIT), 1 client:"
            f" p50 {percentile(floor, 0.5) * 1000:5.2f} ms (synchronous_commit off: {percentile(floor_off, 0.5) * 1000:5.2f})"
        )
        for clients in (1, args.clients):
            result = bench.measure(
                "POST events/robot-action (session and sample looked up, one INSERT)",
                robot_action,
                clients=clients,
                seconds=args.seconds,
                expect=201,
                headers=headers,
                warmup=20,
            )
            report(result, floor=percentile(floor, 0.5), goals="p50 < 5 ms, p99 < 15 ms")
        from samples.models import RobotAction

        print(
            f"  robot actions stored {RobotAction.objects.count()}, linked to their sample "
            f"{RobotAction.objects.filter(sample__isnull=False).count()}"
        )
        connections.close_all()


if __name__ == "__main__":
    main()
