"""Label PDFs of a whole shipment: 4 dewars × 4 pucks × 16 pins = 256 pin labels, 16 puck labels, 4 dewar labels.

Usage:  .venv/bin/python bench/labels.py [--runs 7]
        DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims_bench .venv/bin/python bench/labels.py

It creates a throwaway test database (like the test runner), registers the shipment through the service,
gives every pin a pin code and every puck a barcode, then, in each run, fetches the shipment once through
``shipping.selectors.shipment_detail`` and renders each PDF from that one fetch. The DataMatrix symbols are
cached by code (``lims.barcodes.datamatrix.modules``); the cache is emptied before every run, so each run
encodes every symbol again, as the first print of a new shipment does. Goal: all three PDFs under 1 s.

Printed for each figure: the median wall time (min, max), the median CPU time of the work (this thread's;
on PostgreSQL the server's CPU is not in it), and the floor: the fetch's statements re-executed as bare SQL
(``_common.sql_floor``), with CPU/floor and p50/floor. The PDFs' floor is also the fetch's SQL (rendering does
not query): their ratios show how much rendering costs beside the data it draws. The load average (1, 5, 15 min)
is printed at the start and at the end.
"""

import argparse

from _common import Timings, figures, load_reported, new_member, sql_floor, throwaway_database  # sets up Django first
from django.db import connection
from django.test.utils import CaptureQueriesContext


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with load_reported("labels"), throwaway_database():
        from lims.barcodes import datamatrix
        from samples.models import Container, Sample
        from shipping import labels
        from shipping.selectors import shipment_detail
        from tests import factories as f

        proposal, user = new_member()
        shipment = f.shipment_tree(proposal=proposal, user=user, dewars=4, pucks=4, samples=16, name="Bench")
        for n, container in enumerate(Container.objects.filter(shipment=shipment).order_by("id")):
            Container.objects.filter(pk=container.pk).update(barcode=f"BP-{n:04d}")
        for n, sample in enumerate(Sample.objects.filter(container__shipment=shipment).order_by("id")):
            Sample.objects.filter(pk=sample.pk).update(pin_code=f"BN{n:08d}")

        def fetch():
            fetched = shipment_detail(user).get(pk=shipment.pk)
            list(fetched.dewars.all())  # the prefetches run with the first access
            return fetched

        timings = {name: Timings() for name in ("fetch", "dewars", "pucks", "pins", "all")}
        sizes, captured = {}, []
        for _ in range(args.runs):
            datamatrix.modules.cache_clear()
            with CaptureQueriesContext(connection) as ctx:
                fetched = timings["fetch"].time(fetch)
            captured = ctx.captured_queries
            wall_total = cpu_total = 0.0
            with CaptureQueriesContext(connection) as during:
                for kind in ("dewars", "pucks", "pins"):
                    pdf = timings[kind].time(
                        lambda kind=kind, fetched=fetched: labels.shipment_labels(fetched, kind, {})
                    )
                    wall_total += timings[kind].wall[-1]
                    cpu_total += timings[kind].cpu[-1]
                    sizes[kind] = len(pdf.content)
            assert not during.captured_queries, "rendering must not query"
            timings["all"].add(wall_total, cpu_total)
        floor = sql_floor(captured, args.runs)

        counts = {"dewars": "4 dewar labels (A4, 4 pages)", "pucks": "16 puck labels", "pins": "256 pin labels"}
        print(f"Labels of a 4 dewars × 4 pucks × 16 pins shipment, {args.runs} runs, {connection.vendor}:")
        print(f"  fetch (shipment_detail)        {figures(timings['fetch'], floor)}  {len(captured)} queries")
        for kind in ("dewars", "pucks", "pins"):
            print(f"  {counts[kind]:<30} {figures(timings[kind], floor)}  {sizes[kind] / 1024:.0f} KiB")
        print(f"  all three PDFs                 {figures(timings['all'], floor)}  (goal: under 1000 ms; 0 queries)")


if __name__ == "__main__":
    main()
