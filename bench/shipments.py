"""Registration and reading of a shipment at the size of a full user shipment (3 dewars × 4 pucks × 16).

Usage:  .venv/bin/python bench/shipments.py [--runs 7]
        DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims_bench .venv/bin/python bench/shipments.py

It creates a throwaway test database (like the test runner), registers the shipment through the
service, reads it through the API detail endpoint and the shipment page, and prints medians.
"""

import argparse
import time

from _common import median_ms, new_member, throwaway_database  # sets up Django first
from django.db import connection
from django.test.utils import CaptureQueriesContext


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with throwaway_database():
        from django.test import Client

        from shipping.models import Shipment
        from tests import factories as f

        proposal, user = new_member()
        create, api, page = [], [], []
        queries = {}
        client = Client()
        client.force_login(user)
        for run in range(args.runs):
            start = time.perf_counter()
            shipment = f.shipment_tree(proposal=proposal, user=user, dewars=3, pucks=4, samples=16, name=f"Bench-{run}")
            create.append(time.perf_counter() - start)
            for name, url, bucket in (
                ("api", f"/api/v1/shipments/{shipment.pk}/", api),
                ("page", f"/shipments/{shipment.pk}/", page),
            ):
                with CaptureQueriesContext(connection) as ctx:
                    start = time.perf_counter()
                    response = client.get(url)
                    bucket.append(time.perf_counter() - start)
                assert response.status_code == 200, (url, response.status_code)
                queries[name] = len(ctx.captured_queries)
        engine = connection.vendor
        print(f"Shipment of 3 dewars × 4 pucks × 16 samples (192), {args.runs} runs, {engine}:")
        print(f"  register through the service   {median_ms(create)}")
        print(f"  GET /api/v1/shipments/{{id}}/   {median_ms(api)}  {queries['api']} queries")
        print(f"  GET /shipments/{{id}}/ (page)   {median_ms(page)}  {queries['page']} queries")
        print(f"  shipments in the database: {Shipment.objects.count()}")


if __name__ == "__main__":
    main()
