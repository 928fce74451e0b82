"""Registration and reading of a shipment at the size of a full user shipment (3 dewars × 4 pucks × 16).

Usage:  .venv/bin/python bench/shipments.py [--runs 7]
        DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims_bench .venv/bin/python bench/shipments.py

It creates a throwaway test database (like the test runner), registers the shipment through the
service, reads it through the API detail endpoint and the shipment page (Django's test client, in process).
Printed for each figure: the median wall time (min, max), the median CPU time of the work (this thread's;
on PostgreSQL the server's CPU is not in it), and the floor: the request's statements (of the last run)
re-executed as bare SQL (``_common.sql_floor``), with CPU/floor and p50/floor; registering writes, so it has
no floor ("floor n/a (writes)"). The load average (1, 5, 15 min) is printed at the start and at the end.
"""

import argparse

from _common import (  # sets up Django first
    WRITES,
    Timings,
    figures,
    load_reported,
    new_member,
    sql_floor,
    throwaway_database,
)
from django.db import connection
from django.test.utils import CaptureQueriesContext


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with load_reported("shipments"), throwaway_database():
        from django.test import Client

        from shipping.models import Shipment
        from tests import factories as f

        proposal, user = new_member()
        create, api, page = Timings(), Timings(), Timings()
        captured = {}
        client = Client()
        client.force_login(user)
        for run in range(args.runs):
            shipment = create.time(
                lambda run=run: f.shipment_tree(
                    proposal=proposal, user=user, dewars=3, pucks=4, samples=16, name=f"Bench-{run}"
                )
            )
            for name, url, timings in (
                ("api", f"/api/v1/shipments/{shipment.pk}/", api),
                ("page", f"/shipments/{shipment.pk}/", page),
            ):
                with CaptureQueriesContext(connection) as ctx:
                    response = timings.time(lambda url=url: client.get(url))
                assert response.status_code == 200, (url, response.status_code)
                captured[name] = ctx.captured_queries
        floors = {name: sql_floor(queries, args.runs) for name, queries in captured.items()}
        engine = connection.vendor
        print(f"Shipment of 3 dewars × 4 pucks × 16 samples (192), {args.runs} runs, {engine}:")
        print(f"  register through the service   {figures(create, WRITES)}")
        print(f"  GET /api/v1/shipments/{{id}}/   {figures(api, floors['api'])}  {len(captured['api'])} queries")
        print(f"  GET /shipments/{{id}}/ (page)   {figures(page, floors['page'])}  {len(captured['page'])} queries")
        print(f"  shipments in the database: {Shipment.objects.count()}")


if __name__ == "__main__":
    main()
