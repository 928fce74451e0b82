"""Sample sheets at the size of a full user shipment (3 dewars × 4 pucks × 16 = 192 samples): export, then import
back, in each format (ISPyB's shipping CSV without header, this LIMS's XLSX).

Usage:  .venv/bin/python bench/sheets.py [--runs 7]
        DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims_bench .venv/bin/python bench/sheets.py

Prints medians of wall time and of process CPU time, and the load average at the start and the end.
"""

import argparse
import os
import time

from _common import median_ms, new_member, throwaway_database  # sets up Django first
from django.core.files.uploadedfile import SimpleUploadedFile


def _timed(function):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    load_before = os.getloadavg()

    with throwaway_database() as connection:
        from shipping import sheets
        from tests import factories as f

        proposal, user = new_member()
        shipment = f.shipment_tree(proposal=proposal, user=user, dewars=3, pucks=4, samples=16, name="Bench")
        figures: dict[str, tuple[list, list]] = {}
        for _ in range(args.runs):
            for name, export, filename in (
                ("ISPyB CSV", sheets.shipment_ispyb_csv, "shipment.csv"),
                ("XLSX", sheets.shipment_xlsx, "shipment.xlsx"),
            ):
                data, wall, cpu = _timed(lambda export=export: export(shipment))
                walls, cpus = figures.setdefault(f"export {name}", ([], []))
                walls.append(wall)
                cpus.append(cpu)
                upload = SimpleUploadedFile(filename, data)
                result, wall, cpu = _timed(
                    lambda upload=upload: sheets.import_sheet(shipment=shipment, user=user, uploaded_file=upload)
                )
                assert result.samples == 192, result.messages
                walls, cpus = figures.setdefault(f"import {name}", ([], []))
                walls.append(wall)
                cpus.append(cpu)
        print(f"Sample sheets of 192 samples, {args.runs} runs, {connection.vendor}:")
        for name, (walls, cpus) in figures.items():
            print(f"  {name:<18} wall {median_ms(walls)}   CPU {median_ms(cpus)}")
    load_after = os.getloadavg()
    print(f"  load average {load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end")


if __name__ == "__main__":
    main()
