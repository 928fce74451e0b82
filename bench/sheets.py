"""Sample sheets at the size of a full user shipment (3 dewars × 4 pucks × 16 = 192 samples): export, then import
back, in each format (ISPyB's shipping CSV without header, this LIMS's XLSX).

Usage:  .venv/bin/python bench/sheets.py [--runs 7]
        DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims_bench .venv/bin/python bench/sheets.py

Printed for each figure: the median wall time (min, max), the median CPU time of the work (this thread's;
on PostgreSQL the server's CPU is not in it), and the floor: the statements of one more call, captured after
the timed runs, re-executed as bare SQL (``_common.sql_floor``), with CPU/floor and p50/floor; an import
writes, so it has no floor ("floor n/a (writes)"). The load average (1, 5, 15 min) is printed at the start and
at the end.
"""

import argparse

from _common import Timings, figures, load_reported, new_member, sql_floor, throwaway_database  # sets up Django first
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.utils import CaptureQueriesContext


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with load_reported("sheets"), throwaway_database() as connection:
        from shipping import sheets
        from tests import factories as f

        proposal, user = new_member()
        shipment = f.shipment_tree(proposal=proposal, user=user, dewars=3, pucks=4, samples=16, name="Bench")
        formats = (
            ("ISPyB CSV", sheets.shipment_ispyb_csv, "shipment.csv"),
            ("XLSX", sheets.shipment_xlsx, "shipment.xlsx"),
        )

        def import_back(data, filename):
            upload = SimpleUploadedFile(filename, data)
            result = sheets.import_sheet(shipment=shipment, user=user, uploaded_file=upload)
            assert result.samples == 192, result.messages
            return result

        figures_of: dict[str, Timings] = {}
        for _ in range(args.runs):
            for name, export, filename in formats:
                data = figures_of.setdefault(f"export {name}", Timings()).time(lambda export=export: export(shipment))
                figures_of.setdefault(f"import {name}", Timings()).time(
                    lambda data=data, filename=filename: import_back(data, filename)
                )
        # The statements of each path, from one more call (untimed: capturing costs a little on each statement).
        floors = {}
        for name, export, filename in formats:
            with CaptureQueriesContext(connection) as exported:
                data = export(shipment)
            with CaptureQueriesContext(connection) as imported:
                import_back(data, filename)
            floors[f"export {name}"] = sql_floor(exported.captured_queries, args.runs)
            floors[f"import {name}"] = sql_floor(imported.captured_queries, args.runs)
        print(f"Sample sheets of 192 samples, {args.runs} runs, {connection.vendor}:")
        for name, timings in figures_of.items():
            print(f"  {name:<18} {figures(timings, floors[name])}")


if __name__ == "__main__":
    main()
