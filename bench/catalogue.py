"""Where's my data at a million collections, behind gunicorn on PostgreSQL.

Usage:  .venv/bin/python bench/catalogue.py [--seconds 15] [--clients 4] [--workers N] [--collections 1000000]
        PGURL=postgres://postgres@127.0.0.1:5432 .venv/bin/python bench/catalogue.py

It creates a throwaway PostgreSQL database (createdb), migrates it and seeds, in minutes: 200 proposals with a
member each, 1,000 proteins, 20,000 samples (shipments, dewars, pucks through bulk_create), 4,000 sessions over
ten years on 8 beamlines, then in SQL (INSERT ... SELECT ... FROM generate_series) 250,000 collection groups,
1,000,000 data collections (statuses, types, resolutions, flags, tags, free metadata, search text) and 250,000
screening results. The catalogue's indexes are dropped for the load and built afterwards (as a restore does),
then VACUUM ANALYZE. Then gunicorn on 127.0.0.1 (DEBUG=0) and keep-alive clients, each with its own session:
- a user with 5 proposals: a catalogue page of 50 with one filter and a sort (four such views, in turn);
- facility staff: a substring search over the whole catalogue (sample names, proteins, directories, files).
It prints seeding time, p50/p95/p99 and the goals, and EXPLAIN (ANALYZE) of both queries of each kind
(the page and the bounded count), then stops gunicorn and drops the database. Only 127.0.0.1 is contacted.
Goals (issue 6): scoped page p95 < 100 ms; staff search p95 < 300 ms.
"""

import argparse
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from _serve import PGURL, ROOT, finish, free_port, percentile, pg, start_gunicorn, wait_ready

DB_NAME = f"lims_bench_catalogue_{os.getpid()}"
PROPOSALS = 200
PROTEINS_PER_PROPOSAL = 5
SAMPLES = 20_000
SESSIONS_PER_PROPOSAL = 20
BEAMLINES = 8
GROUPS = 250_000
ACRONYMS = ["lyso", "thau", "tryp", "kin", "prot", "hsp", "bace", "ctx", "endo", "glu"]


def seed(collections: int) -> dict:
    """Everything but the collections through the ORM's bulk_create; the collections in SQL. Returns what
    the clients need: the scoped user's and the staff's ids, beamline ids."""
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from lims.choices import FacilityRole
    from lims.models import Beamline, LabContact, Proposal, ProposalMember, Session
    from samples.models import Container, Protein, Sample
    from shipping.models import Dewar, Shipment

    User = get_user_model()
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    password = make_password("bench")
    proposals = Proposal.objects.bulk_create(
        Proposal(code="mx", number=str(1000 + i), title=f"Bench proposal {i}") for i in range(PROPOSALS)
    )
    members = User.objects.bulk_create(User(username=f"member{i}", password=password) for i in range(PROPOSALS))
    ProposalMember.objects.bulk_create(
        ProposalMember(proposal=p, user=u) for p, u in zip(proposals, members, strict=True)
    )
    scoped = User.objects.create(username="bench-scoped", password=password)
    ProposalMember.objects.bulk_create(ProposalMember(proposal=p, user=scoped) for p in proposals[10:15])
    staff = User.objects.create(username="bench-staff", password=password)
    staff.groups.add(Group.objects.get_or_create(name=FacilityRole.BEAMLINE_STAFF)[0])
    beamlines = Beamline.objects.bulk_create(
        Beamline(name=f"MX-{i + 1}", sample_changer_model="ISARA", puck_positions=29) for i in range(BEAMLINES)
    )
    now = timezone.now()
    sessions = []
    for pi, p in enumerate(proposals):
        for k in range(SESSIONS_PER_PROPOSAL):
            # Spread over ten years: each proposal's sessions from its first year to now.
            start = now - dt.timedelta(days=3650 * (k + (pi % 7) / 7) / SESSIONS_PER_PROPOSAL)
            sessions.append(
                Session(proposal=p, beamline=beamlines[(pi + k) % BEAMLINES], start=start, end=start + dt.timedelta(1))
            )
    Session.objects.bulk_create(sessions, batch_size=2000)
    contacts = LabContact.objects.bulk_create(
        LabContact(proposal=p, card_name="Bench", name="Bench", email="b@example.org") for p in proposals
    )
    shipments = Shipment.objects.bulk_create(
        Shipment(proposal=p, name=f"Bench-{i}", sending_contact=c, return_contact=c)
        for i, (p, c) in enumerate(zip(proposals, contacts, strict=True))
    )
    dewars = Dewar.objects.bulk_create(Dewar(shipment=s, name=f"D-{s.name}") for s in shipments)
    proteins = Protein.objects.bulk_create(
        Protein(proposal=p, acronym=f"{ACRONYMS[(pi + k) % len(ACRONYMS)]}{pi % 50}{'abcde'[k]}")
        for pi, p in enumerate(proposals)
        for k in range(PROTEINS_PER_PROPOSAL)
    )
    per_proposal = SAMPLES // PROPOSALS
    pucks_per_proposal = -(-per_proposal // 16)
    containers = Container.objects.bulk_create(
        Container(shipment=s, dewar=d, name=f"P{i}-{k}", container_type="unipuck", capacity=16)
        for i, (s, d) in enumerate(zip(shipments, dewars, strict=True))
        for k in range(pucks_per_proposal)
    )
    samples = []
    for pi in range(PROPOSALS):
        for k in range(per_proposal):
            protein = proteins[pi * PROTEINS_PER_PROPOSAL + k % PROTEINS_PER_PROPOSAL]
            samples.append(
                Sample(
                    container=containers[pi * pucks_per_proposal + k // 16],
                    position=k % 16 + 1,
                    name=f"{protein.acronym}-x{pi:03d}{k:03d}",
                    protein=protein,
                )
            )
    Sample.objects.bulk_create(samples, batch_size=5000)
    orm_seconds = time.perf_counter() - t0

    t1 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'samples_datacollection'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        # A bulk load as a restore does it: no per-row foreign-key triggers, indexes built once at the end.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            """CREATE TEMP TABLE s_map AS
            SELECT row_number() OVER (ORDER BY s.id) AS n, s.id AS sample_id, s.protein_id, s.name,
                   p.acronym, sh.proposal_id, 'mx' || pr.number AS proposal_name
            FROM samples_sample s JOIN samples_protein p ON p.id = s.protein_id
            JOIN samples_container c ON c.id = s.container_id JOIN shipping_shipment sh ON sh.id = c.shipment_id
            JOIN lims_proposal pr ON pr.id = sh.proposal_id"""
        )
        cursor.execute(
            """CREATE TEMP TABLE se_map AS
            SELECT row_number() OVER (PARTITION BY proposal_id ORDER BY id) - 1 AS k, id, proposal_id, beamline_id,
                   start FROM lims_session"""
        )
        cursor.execute("CREATE INDEX ON s_map (n)")
        cursor.execute("CREATE INDEX ON se_map (proposal_id, k)")
        cursor.execute(
            f"""INSERT INTO samples_datacollectiongroup
                (proposal_id, beamline_id, session_id, sample_id, experiment_type, external_id, comments, created_at)
            SELECT sm.proposal_id, se.beamline_id, se.id, sm.sample_id,
                   CASE WHEN g % 4 = 0 THEN 'screening'
                        ELSE (ARRAY['osc', 'osc', 'sad', 'osc', 'mad', 'helical', 'mesh', 'osc'])[1 + (g / 4) % 8] END,
                   'g' || g, '', now()
            FROM generate_series(1, {GROUPS}) g
            JOIN s_map sm ON sm.n = 1 + (g - 1) % {SAMPLES}
            JOIN se_map se ON se.proposal_id = sm.proposal_id AND se.k = ((g - 1) / {SAMPLES} + sm.n) % {SESSIONS_PER_PROPOSAL}"""
        )
        cursor.execute(
            """CREATE TEMP TABLE g_map AS
            SELECT row_number() OVER (ORDER BY g.id) AS n, g.id, g.proposal_id, g.beamline_id, g.session_id,
                   g.sample_id, g.experiment_type, se.start, sm.protein_id, sm.name, sm.acronym, sm.proposal_name,
                   b.name AS beamline_name
            FROM samples_datacollectiongroup g JOIN lims_session se ON se.id = g.session_id
            JOIN lims_beamline b ON b.id = g.beamline_id
            JOIN samples_sample s ON s.id = g.sample_id JOIN s_map sm ON sm.sample_id = s.id"""
        )
        cursor.execute("CREATE INDEX ON g_map (n)")
        per_group = max(1, collections // GROUPS)
        cursor.execute(
            f"""INSERT INTO samples_datacollection
                (group_id, proposal_id, beamline_id, session_id, sample_id, protein_id, experiment_type, external_id,
                 status, start_time, end_time, directory, file_template, first_image, number_of_images, wavelength,
                 exposure_time, oscillation_start, oscillation_range, detector_distance, resolution, transmission,
                 beam_size_x, beam_size_y, flux, detector, snapshot_path, thumbnail_path, metadata, comments, flags,
                 best_resolution, search_text, created_at, updated_at)
            SELECT id, proposal_id, beamline_id, session_id, sample_id, protein_id, experiment_type, 'dc' || i,
                   CASE WHEN h < 0.80 THEN 'successful' WHEN h < 0.90 THEN 'failed' WHEN h < 0.98 THEN 'aborted'
                        ELSE 'running' END,
                   st, st + interval '90 seconds', dir, ft, 1,
                   CASE WHEN experiment_type = 'screening' THEN 4 ELSE 3600 END,
                   0.9763, 0.01, 0, CASE WHEN experiment_type = 'screening' THEN 1 ELSE 0.1 END,
                   200 + (i % 300), 1.2 + (i % 20) / 10.0, 20 + (i % 80), 50, 50, 1e12, 'Eiger2 X 16M', '', '',
                   jsonb_build_object('pipeline', 'v' || (i % 3), 'dose_mgy', round((h * 10)::numeric, 2))
                     || CASE WHEN i % 10 = 0 THEN '{{"ligand": "ATP"}}'::jsonb ELSE '{{}}'::jsonb END,
                   '', CASE WHEN i % 20 = 0 THEN 1 + (i / 20) % 15 ELSE 0 END,
                   CASE WHEN h < 0.80 AND i % 7 <> 0 THEN round((1.0 + h * 3)::numeric, 2) END,
                   lower(name || ' ' || acronym || ' ' || dir || ' ' || ft), st, st
            FROM (
                SELECT i, random() AS h, m.*,
                       m.start + make_interval(mins => ((i % {per_group}) * 3 + (m.n % 50) * 7)::int) AS st,
                       '/data/visitor/' || m.proposal_name || '/' || lower(m.beamline_name) || '/'
                         || to_char(m.start, 'YYYYMMDD') || '/' || m.name AS dir,
                       m.name || '_' || (i % {per_group} + 1)
                         || CASE WHEN m.experiment_type = 'screening' THEN '_####.cbf' ELSE '_master.h5' END AS ft
                FROM generate_series(1, {collections}) i JOIN g_map m ON m.n = 1 + (i - 1) / {per_group}
            ) c"""
        )
        inserted = cursor.rowcount
        cursor.execute(
            """INSERT INTO samples_screeningresult
                (data_collection_id, program, indexing_success, space_group, cell_a, cell_b, cell_c, cell_alpha,
                 cell_beta, cell_gamma, mosaicity, estimated_resolution, spots_found, ranking, comments, created_at)
            SELECT id, 'EDNA', id % 7 <> 0, 'P212121', 40.2, 52.7, 88.1, 90, 90, 90, 0.1 + (id % 10) / 100.0,
                   coalesce(best_resolution, 2.5), 500 + id % 3000, (id % 100) / 10.0, '', start_time
            FROM samples_datacollection WHERE experiment_type = 'screening'"""
        )
        screenings = cursor.rowcount
        cursor.execute(
            "INSERT INTO samples_tag (name) VALUES ('best'), ('ligand-soak'), ('apo'), ('redo'), ('publish')"
        )
        cursor.execute(
            """INSERT INTO samples_datacollection_tags (datacollection_id, tag_id)
            SELECT d.id, t.id FROM samples_datacollection d JOIN samples_tag t ON t.id % 5 = d.id % 5
            WHERE d.id % 97 = 0"""
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        load_seconds = time.perf_counter() - t1
        t2 = time.perf_counter()
        for _, definition in indexes:
            cursor.execute(definition)
        index_seconds = time.perf_counter() - t2
        t3 = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does soon after a bulk load
        vacuum_seconds = time.perf_counter() - t3
    print(
        f"Seeded {inserted:,} data collections, {screenings:,} screening results, {GROUPS:,} groups over"
        f" {PROPOSALS} proposals, {SAMPLES:,} samples in {time.perf_counter() - t0:.0f} s: ORM bulk_create"
        f" {orm_seconds:.0f} s, SQL load {load_seconds:.0f} s, {len(indexes)} indexes built {index_seconds:.0f} s,"
        f" VACUUM ANALYZE {vacuum_seconds:.0f} s."
    )
    return {"scoped": scoped.pk, "staff": staff.pk, "beamlines": [b.pk for b in beamlines]}


def session_cookie(user_id: int) -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(pk=user_id))
    return client.cookies["sessionid"].value


class Reader(threading.Thread):
    """One browser: its own keep-alive connection and session, the next page as soon as one is answered."""

    def __init__(self, port, cookie, paths, offset, start_at, deadline, warmup):
        super().__init__(daemon=True)
        self.port, self.cookie, self.paths, self.offset = port, cookie, paths, offset
        self.start_at, self.deadline, self.warmup = start_at, deadline, warmup
        self.latencies: list[tuple[str, float]] = []
        self.errors: list[str] = []

    def connect(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def run(self):
        conn = self.connect()
        headers = {"Cookie": f"sessionid={self.cookie}"}
        self.start_at.wait()
        i = 0
        while i < self.warmup or time.monotonic() < self.deadline:
            path = self.paths[(i + self.offset) % len(self.paths)]
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(repr(exc))
                conn.close()
                conn = self.connect()
                continue
            elapsed = time.perf_counter() - start
            if response.status != 200 or b'id="result-count"' not in body:
                self.errors.append(f"{response.status} {path} {body[:200]!r}")
            elif i >= self.warmup:
                self.latencies.append((path, elapsed))
            i += 1
        conn.close()


def measure(label, port, cookie, paths, clients, seconds, goal_ms):
    go = threading.Event()
    deadline = time.monotonic() + seconds + 1.0
    readers = [Reader(port, cookie, paths, k * 3, go, deadline, 3) for k in range(clients)]
    for r in readers:
        r.start()
    go.set()
    for r in readers:
        r.join(timeout=seconds + 120)
    latencies = sorted(x for r in readers for _, x in r.latencies)
    errors = [e for r in readers for e in r.errors]
    print(f"{label}: {clients} clients, {seconds:.0f} s, {len(paths)} views in turn")
    if latencies:
        p95 = percentile(latencies, 0.95)
        print(
            f"  p50 {percentile(latencies, 0.50) * 1000:6.1f} ms   p95 {p95 * 1000:6.1f} ms"
            f"   p99 {percentile(latencies, 0.99) * 1000:6.1f} ms   max {latencies[-1] * 1000:6.1f} ms"
            f"   {len(latencies) / seconds:5.1f} pages/s   goal p95 < {goal_ms} ms: {'met' if p95 * 1000 < goal_ms else 'MISSED'}"
        )
        by_path: dict[str, list[float]] = {}
        for r in readers:
            for path, x in r.latencies:
                by_path.setdefault(path, []).append(x)
        for path, xs in by_path.items():
            xs.sort()
            print(f"    {path:70.70s} p50 {percentile(xs, 0.5) * 1000:6.1f}  p95 {percentile(xs, 0.95) * 1000:6.1f} ms")
    print(f"  errors {len(errors)}")
    for error in errors[:5]:
        print(f"    {error}")


def explain(user_id: int, path: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements the view runs on the collections table: the candidates
    with the bounded count, and the page's (by id, or down the sort's index when more than the bound match)."""
    from urllib.parse import urlsplit

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.http import QueryDict
    from django.test.utils import CaptureQueriesContext

    from samples.data.catalogue import catalogue_page
    from samples.data.catalogue_query import CatalogueQuery

    user = get_user_model().objects.get(pk=user_id)
    query = CatalogueQuery.parse(QueryDict(urlsplit(path).query))
    with CaptureQueriesContext(connection) as ctx:
        catalogue_page(user, query)
    statements = [q["sql"] for q in ctx.captured_queries if '"samples_datacollection"' in q["sql"]]
    for sql in statements:
        with connection.cursor() as cursor:
            # The captured text has its parameters inlined (as PostgreSQL's own quoting gave them).
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            plan = [row[0] for row in cursor.fetchall()]
        print(f"  EXPLAIN of {path}: {sql[:110]}...")
        for line in plan:
            print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0, help="of each run")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--collections", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the seeded database (its name is printed)")
    parser.add_argument("--reuse", metavar="DBNAME", help="measure a database kept by --keep: no seeding, kept")
    args = parser.parse_args()

    db_name = args.reuse or DB_NAME
    if not args.reuse and pg("createdb", db_name).returncode != 0:
        print(f"Skipped: cannot create a PostgreSQL database at {PGURL} (set PGURL).")
        return
    database_url = f"{PGURL}/{db_name}"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DB_CONN_MAX_AGE"] = "0"
    # The sessions made here are signed in gunicorn's eyes only with its key (start_gunicorn's).
    os.environ["SECRET_KEY"] = "bench-only-secret-key-not-for-production-0123456789"
    server = None
    try:
        sys.path.insert(0, str(ROOT / "bench"))
        import _common  # noqa: F401  (Django set up on the throwaway database)
        from django.db import connections

        if args.reuse:
            from django.contrib.auth import get_user_model

            from lims.models import Beamline

            users = get_user_model().objects
            ids = {
                "scoped": users.get(username="bench-scoped").pk,
                "staff": users.get(username="bench-staff").pk,
                "beamlines": list(
                    Beamline.objects.filter(name__startswith="MX-").order_by("id").values_list("pk", flat=True)
                ),
            }
        else:
            ids = seed(args.collections)
        scoped_cookie, staff_cookie = session_cookie(ids["scoped"]), session_cookie(ids["staff"])
        b = ids["beamlines"]
        scoped_paths = [
            f"/data/?beamline={b[2]}",  # one filter, newest first (the default sort)
            "/data/?status=successful&sort=best_resolution",
            "/data/?type=sad&sort=-start_time",
            f"/data/?beamline={b[5]}&sort=-number_of_images",
            "/data/?res_max=1.5&sort=best_resolution",
            "/data/?flag=bad&sort=start_time",
        ]
        search_paths = [
            "/data/?q=kin17c-x017",  # a sample name's beginning: ~250 collections
            "/data/?q=thau2",  # protein acronyms: thousands
            "/data/?q=bace",  # a protein family: tens of thousands (the count says 10,000+)
            "/data/?q=20190",  # a month of directories
            "/data/?q=x123045",  # one sample, anywhere in the name
            "/data/?q=mx1077/mx-4",  # a proposal's directory on a beamline
            "/data/?q=_3_master.h5",  # a file name's end
            "/data/?q=nothing-like-this",  # found nowhere
        ]
        connections.close_all()

        # DEBUG=0 serves hashed static names from a manifest, as in production: collect them once, aside.
        os.environ["STATIC_ROOT"] = tempfile.mkdtemp(prefix="lims-bench-static-")
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=dict(os.environ, DEBUG="0", ALLOWED_HOSTS="127.0.0.1"),
            check=True,
        )
        port = free_port()
        server = start_gunicorn(port, args.workers, database_url)
        wait_ready(port, server, "/data/", (302,))
        print(
            f"gunicorn {args.workers} workers (gthread), PostgreSQL, {os.cpu_count()} CPUs; keep-alive clients,"
            f" warm-up excluded; load average before: {os.getloadavg()[0]:.2f}."
        )
        measure(
            "Catalogue page of 50, a user with 5 proposals, one filter + a sort",
            port,
            scoped_cookie,
            scoped_paths,
            args.clients,
            args.seconds,
            100,
        )
        measure(
            "Substring search over the whole catalogue as facility staff (page of 50, newest first)",
            port,
            staff_cookie,
            search_paths,
            args.clients,
            args.seconds,
            300,
        )
        print("Plans (the planner's choice on the seeded statistics):")
        for path in scoped_paths[:2]:
            explain(ids["scoped"], path)
        for path in search_paths[1:3]:
            explain(ids["staff"], path)
        print(f"Load average after: {os.getloadavg()[0]:.2f}")
        connections.close_all()
    finally:
        if os.environ.get("STATIC_ROOT", "").startswith(tempfile.gettempdir()):
            shutil.rmtree(os.environ["STATIC_ROOT"], ignore_errors=True)
        finish(server, db_name, keep=bool(args.keep or args.reuse))


if __name__ == "__main__":
    main()
