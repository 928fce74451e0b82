"""Mail-in result report of a shipment of 10 and of 100 samples with their results.

Usage:  .venv/bin/python bench/mailin_report.py [--runs 5]
        DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims_bench .venv/bin/python bench/mailin_report.py

It creates a throwaway test database and builds industrial mail-in shipments at the facility with the
tests' builder (``tests/samples/mailin/test_mailin_report.py``): samples screened (screening + two strategy rows),
collected (also a processed data set with three shells), failed and skipped, in turn. Each run is the whole
``render_report(shipment)``: its queries (a handful, prefetched) and the PDF.
Goals: 100 samples under 3 s, 10 samples under 500 ms.

Printed for each size: the median wall time (min, max), the median CPU time of the run (this thread's; on
PostgreSQL the server's CPU is not in it), and the floor: the report's own statements re-executed as bare SQL
(``_common.sql_floor``), with CPU/floor and p50/floor; drawing the PDF dominates them. The load average
(1, 5, 15 min) is printed at the start and at the end.
"""

import argparse

from _common import Timings, figures, load_reported, sql_floor, throwaway_database  # sets up Django first
from django.db import connection
from django.test.utils import CaptureQueriesContext

GOALS_MS = {10: 500, 100: 3000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with load_reported("mailin_report"), throwaway_database():
        from samples.mailin.report import render_report
        from tests.samples.mailin.test_mailin_report import build_mailin_shipment

        first = None
        for n, goal in GOALS_MS.items():
            shipment = build_mailin_shipment(samples=n, proposal=first, name=f"Bench{n}")
            first = first or shipment.proposal
            render_report(shipment)  # warm: fonts, templates
            timings = Timings()
            for _ in range(args.runs):
                with CaptureQueriesContext(connection) as queries:
                    pdf = timings.time(lambda shipment=shipment: render_report(shipment))
            floor = sql_floor(queries.captured_queries, args.runs)
            ok = sorted(timings.wall)[len(timings.wall) // 2] * 1000 < goal
            print(
                f"report of {n:>3} samples: median {figures(timings, floor)}"
                f"   over {args.runs} runs, {len(queries)} queries, "
                f"{len(pdf) / 1024:.0f} KiB — goal < {goal} ms: {'OK' if ok else 'MISSED'}"
            )


if __name__ == "__main__":
    main()
