"""Where's my data at a million collections, behind gunicorn on PostgreSQL (issue 18: CPU, not only latency).

Usage:  .venv/bin/python bench/catalogue.py [--seconds 15] [--clients 4] [--workers N] [--collections 1000000]
            [--search-runs 3] [--rounds 10] [--explain] [--keep | --reuse DBNAME]
        (seeding takes minutes: --keep once, then --reuse the kept database as often as needed)

It creates a throwaway PostgreSQL database (``_serve.pg_bench``), migrates it and seeds: 200 proposals with a
member each, 1,000 proteins, 20,000 samples (shipments, dewars, pucks through bulk_create), 4,000 sessions over
ten years on 8 beamlines, then in SQL (INSERT ... SELECT ... FROM generate_series) 250,000 collection groups,
1,000,000 data collections (statuses, types, resolutions, flags, tags, free metadata, search text) and 250,000
screening results. The catalogue's indexes are dropped for the load and built afterwards (as a restore does),
then VACUUM ANALYZE. Two views are measured:
- a user with 5 proposals: a catalogue page of 50 with one filter and a sort (six such views, in turn);
- facility staff: a substring search over the whole catalogue (eight terms, rare to common, in turn),
  ``--search-runs`` times one after the other (is it stable?).
For each, in-process first: the Python time of a page (wall time of the whole request minus the time spent in
SQL, and the CPU time of the request's thread), and the floor: the page's statements (the candidates with the
bounded count, the search's, the rows) as bare prepared SQL on psycopg2, no Django. Then behind gunicorn
(``Bench.serve``), ``--clients`` keep-alive clients, each with its own session (``Bench.measure``): p50/p95/p99,
the server's CPU per request and its ratio to the floor, the load average (``report``). ``--explain`` prints
the plans of two views of each kind. Only 127.0.0.1 is contacted.
Goals: scoped page p95 < 100 ms and ≤ 30 ms of Python; staff search p95 < 300 ms, stable from run to run.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from _serve import ROOT, load_average, pg_bench, report, statement_sql

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
                 status, start_time, end_time, end_time_estimated, scan_axis, directory, file_template, first_image, number_of_images, wavelength,
                 exposure_time, oscillation_start, oscillation_range, detector_distance, resolution, transmission,
                 beam_size_x, beam_size_y, flux, detector, snapshot_path, thumbnail_path, metadata, comments, flags,
                 best_resolution, search_text, created_at, updated_at)
            SELECT id, proposal_id, beamline_id, session_id, sample_id, protein_id, experiment_type, 'dc' || i,
                   CASE WHEN h < 0.80 THEN 'successful' WHEN h < 0.90 THEN 'failed' WHEN h < 0.98 THEN 'aborted'
                        ELSE 'running' END,
                   st, st + interval '90 seconds', false, 'omega', dir, ft, 1,
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


def _statements(user, path: str) -> list[tuple[str, tuple | None]]:
    """The statements ``catalogue_page`` runs for ``path`` (the candidates with the bounded count, the page,
    the related names shown), as Django sends them: SQL with %s placeholders and the parameters."""
    from urllib.parse import urlsplit

    from django.db import connection
    from django.http import QueryDict

    from samples.data.catalogue import catalogue_page
    from samples.data.catalogue_query import CatalogueQuery

    seen: list[tuple[str, tuple | None]] = []

    def record(execute, sql, params, many, context):
        if not sql.startswith("PREPARE "):  # prepared once per connection: not the page's work
            seen.append((statement_sql(sql), None if params is None else tuple(params)))
        return execute(sql, params, many, context)

    query = CatalogueQuery.parse(QueryDict(urlsplit(path).query))
    with connection.execute_wrapper(record):
        catalogue_page(user, query)
    return seen


def _prepared(sql: str, params) -> str:
    """Django's psycopg2 text (%s placeholders, %% for a literal %) as a PREPARE body ($1, $2...)."""
    if params is None:
        return sql
    numbers = iter(range(1, len(params) + 1))
    return re.sub(r"%([s%])", lambda m: f"${next(numbers)}" if m.group(1) == "s" else "%", sql)


def sql_floor(database_url: str, user_id: int, paths: list[str], rounds: int) -> float:
    """What any implementation answering the same page cannot go below: the page's statements (the candidates
    with the bounded count, the page's rows, the related names) as bare prepared SQL on psycopg2, one client,
    no HTTP, no Django. The median of ``rounds`` per path, averaged over the paths (the clients take them in
    turn). Custom plans, as Django's unprepared statements get: the same plans, minus parsing."""
    import psycopg2
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=user_id)
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET TIME ZONE 'UTC'; SET plan_cache_mode = force_custom_plan")
    medians = []
    for p, path in enumerate(paths):
        calls = []
        for s, (sql, params) in enumerate(_statements(user, path)):
            name = f"f{p}_{s}"
            # The planner settings a statement starts with (SET LOCAL ...; its own transaction) stay in front.
            settings, sql = re.fullmatch(r"((?:SET LOCAL [^;]+; )*)(.*)", sql, re.DOTALL).groups()
            cur.execute(f"PREPARE {name} AS {_prepared(sql, params)}")
            args = list(params or ())
            call = f"{settings}EXECUTE {name}" + (f" ({', '.join(['%s'] * len(args))})" if args else "")
            calls.append((call, args))
        times = []
        for _ in range(rounds + 2):  # two to warm the cache
            start = time.perf_counter()
            for call, args in calls:
                cur.execute(call, args)
                cur.fetchall()
            times.append(time.perf_counter() - start)
        medians.append(statistics.median(times[2:]))
    conn.close()
    return sum(medians) / len(medians)


def python_time(user_id: int, paths: list[str], rounds: int) -> tuple[float, float, float]:
    """In-process, the whole request (middleware, view, template) through Django's test client on a kept
    connection: medians of (wall, wall minus the time spent in SQL, this thread's CPU time) in seconds."""
    from django.contrib.auth import get_user_model
    from django.db import connection, connections
    from django.test import Client

    connections.close_all()
    connection.settings_dict["CONN_MAX_AGE"] = 600  # one connection kept, as gunicorn's workers keep theirs
    client = Client()
    client.force_login(get_user_model().objects.get(pk=user_id))
    in_sql = [0.0]

    def timed(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_sql[0] += time.perf_counter() - start

    walls, pythons, cpus = [], [], []
    with connection.execute_wrapper(timed):
        for r in range(rounds + 1):
            for path in paths:
                in_sql[0] = 0.0
                start, cpu = time.perf_counter(), time.thread_time()
                response = client.get(path)
                wall, cpu = time.perf_counter() - start, time.thread_time() - cpu
                assert response.status_code == 200 and b'id="result-count"' in response.content, path
                if r:  # the first round warms the caches
                    walls.append(wall)
                    pythons.append(wall - in_sql[0])
                    cpus.append(cpu)
    connections.close_all()
    connection.settings_dict["CONN_MAX_AGE"] = 0
    return statistics.median(walls), statistics.median(pythons), statistics.median(cpus)


def explain(user_id: int, path: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements the view runs on the collections table."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    user = get_user_model().objects.get(pk=user_id)
    for sql, params in _statements(user, path):
        if '"samples_datacollection"' not in sql:
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
            plan = [row[0] for row in cursor.fetchall()]
        print(f"  EXPLAIN of {path}: {sql[:110]}...")
        for line in plan:
            print(f"    {line}")


def existing_ids() -> dict:
    from django.contrib.auth import get_user_model

    from lims.models import Beamline

    users = get_user_model().objects
    return {
        "scoped": users.get(username="bench-scoped").pk,
        "staff": users.get(username="bench-staff").pk,
        "beamlines": list(Beamline.objects.filter(name__startswith="MX-").order_by("id").values_list("pk", flat=True)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0, help="of each run")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--collections", type=int, default=1_000_000)
    parser.add_argument("--search-runs", type=int, default=3, help="runs of the search, one after the other")
    parser.add_argument("--rounds", type=int, default=10, help="of each path, for the floor and the Python time")
    parser.add_argument("--explain", action="store_true", help="print the plans of two views of each kind")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database (its name is printed)")
    parser.add_argument("--reuse", metavar="DBNAME", help="measure a database kept by --keep: no seeding, kept")
    args = parser.parse_args()

    # As gunicorn runs (start_gunicorn): the sessions made here are signed with its key, pages served with
    # DEBUG off (hashed static names from a manifest, collected aside below).
    os.environ.update(
        SECRET_KEY="bench-only-secret-key-not-for-production-0123456789",
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,testserver",
        SECURE_SSL_REDIRECT="0",
        STATIC_ROOT=tempfile.mkdtemp(prefix="lims-bench-static-"),
    )
    try:
        with pg_bench("catalogue", keep=args.keep, reuse=args.reuse) as bench:
            if bench is None:
                return
            run(bench, args)
    finally:
        shutil.rmtree(os.environ["STATIC_ROOT"], ignore_errors=True)


def run(bench, args) -> None:
    from django.db import connections

    ids = existing_ids() if args.reuse else seed(args.collections)
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
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)

    views = (
        (
            "Catalogue page of 50, a user with 5 proposals, one filter + a sort",
            ids["scoped"],
            scoped_cookie,
            scoped_paths,
            "p95 < 100 ms, ≤ 30 ms of Python a page",
            1,
        ),
        (
            "Substring search over the whole catalogue as facility staff (page of 50, newest first)",
            ids["staff"],
            staff_cookie,
            search_paths,
            "p95 < 300 ms, stable from run to run",
            args.search_runs,
        ),
    )
    floors = {}
    for label, user_id, _, paths, _, _ in views:
        floors[label] = sql_floor(bench.database_url, user_id, paths, args.rounds)
        wall, python, cpu = python_time(user_id, paths, args.rounds)
        print(
            f"{label}, in-process, one request at a time, median over {len(paths)} views × {args.rounds}:\n"
            f"  wall {wall * 1000:6.1f} ms   Python (wall − SQL) {python * 1000:6.1f} ms"
            f"   CPU of the request's thread {cpu * 1000:6.1f} ms   bare-SQL floor {floors[label] * 1000:6.1f} ms"
            f"   load average {load_average()}"
        )

    bench.serve(args.workers, "/data/", (302,))
    print(f"gunicorn {args.workers} workers (gthread), {args.clients} keep-alive clients, warm-up excluded.")
    for label, _, cookie, paths, goals, runs in views:
        for n in range(runs):

            def request(number: int, i: int, paths=paths):
                return "GET", paths[(i + 3 * number) % len(paths)], None

            result = bench.measure(
                label + (f" (run {n + 1} of {runs})" if runs > 1 else ""),
                request,
                clients=args.clients,
                seconds=args.seconds,
                headers={"Cookie": f"sessionid={cookie}"},
                warmup=3,
            )
            report(result, floor=floors[label], goals=goals)
    if args.explain:
        print("Plans (the planner's choice on the seeded statistics):")
        for path in scoped_paths[:2]:
            explain(ids["scoped"], path)
        for path in search_paths[1:3]:
            explain(ids["staff"], path)
    connections.close_all()


if __name__ == "__main__":
    main()
