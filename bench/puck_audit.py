"""Puck audit of a 16-pin UniPuck photo: decode, orient, compare, store (the service, end to end).

Usage:  .venv/bin/python bench/puck_audit.py [--runs 7]

It creates a throwaway test database (like the test runner), registers a UniPuck with 16 pins, draws
photos of it (JPEG, turned 73°, mild noise and blur; with and without the puck's own code at the
centre) at 2000×2000 and at 12 MP (4000×3000), runs ``samples.audit.puck_audit`` on each, and prints
medians. Goal: under 1 s for a 16-pin photo.
"""

import argparse
import time

from _common import median_ms, new_member, throwaway_database  # sets up Django first
from django.db import connection


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with throwaway_database():
        from lims.barcodes.decode import decode_image
        from samples.audit import puck_audit
        from tests import factories as f
        from tests.samples.puck_photos import puck_photo

        proposal, user = new_member()
        shipment = f.shipment_tree(proposal=proposal, user=user, samples=0, name="Bench")
        container = f.ContainerFactory(dewar=shipment.dewars.first(), name="Bench-P", barcode="BENCH-PUCK")
        protein = f.ProteinFactory(proposal=proposal, acronym="BENCH")
        pins = {}
        for position in range(1, 17):
            pins[position] = f"BP{position:08d}"
            f.SampleFactory(container=container, position=position, pin_code=pins[position], protein=protein)

        print(f"Puck audit of a 16-pin UniPuck, {args.runs} runs, {connection.vendor}:")
        for label, size, puck_code in (
            ("2000×2000 JPEG, ring search  ", 2000, None),
            ("2000×2000 JPEG, puck code    ", 2000, "BENCH-PUCK"),
            ("12 MP 4000×3000, ring search ", (4000, 3000), None),
        ):
            photo = puck_photo(pins, size=size, rotation=73, puck_code=puck_code, noise=0.2, blur=0.6, quality=88)
            decode, audit = [], []
            for _ in range(args.runs):
                start = time.perf_counter()
                decode_image(photo)
                decode.append(time.perf_counter() - start)
                start = time.perf_counter()
                row = puck_audit(container=container, user=user, image_bytes=photo)
                audit.append(time.perf_counter() - start)
            result = row.result
            print(f"  {label} {len(photo) / 1e6:4.1f} MB")
            print(f"      decode only              {median_ms(decode)}")
            print(f"      puck_audit (end to end)  {median_ms(audit)}")
            print(
                f"      → {result['codes_found']} codes, {len(result['matches'])}/16 match, "
                f"method {result['method']} ({result['confidence']}), rotation {result['frame']['rotation_degrees']}°"
            )


if __name__ == "__main__":
    main()
