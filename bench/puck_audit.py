"""Puck audit of a 16-pin UniPuck photo: decode, orient, compare, store (the service, end to end).

Usage:  .venv/bin/python bench/puck_audit.py [--runs 7]

It creates a throwaway test database (like the test runner), registers a UniPuck with 16 pins, draws
photos of it (tests/samples/puck_photos.py: JPEG, turned 73°, noise and blur) and runs
``samples.puck_audit.puck_audit`` on each, printing the median wall-clock and CPU time of the runs and what
the audit concluded (matches, missing, unread, confidence):

- all 16 pins, with and without the puck's own code, at 2000×2000 and 12 MP (4000×3000);
- two registered pins taken out (empty holes: their regions are searched to the end, "missing");
- a blurred photo whose first pass misses some pins (found by the region search);
- photos where no code can be read (blurred beyond reading, at 900 px, 2000 px and 12 MP): the audit
  stops after one pass. Goal: under 300 ms for these, under 1 s for a 16-pin photo;
- dark and light (issue 18: median under 300 ms): the photo inverted (light codes on dark caps, a light
  puck), and underexposed (the whole photo at 30 % of its brightness), at 2000×2000 and 12 MP, and
  inverted and blurred (the region search at work).

The load average is printed before and after: the machine's other work shows in the wall-clock times.
"""

import argparse
import os
import statistics
import time
from io import BytesIO

from _common import median_ms, new_member, throwaway_database  # sets up Django first
from django.db import connection
from PIL import Image, ImageOps


def cpu_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:7.1f} ms"


def inverted(photo: bytes) -> bytes:
    """The photo in negative: light codes on dark caps on a light puck."""
    return _jpeg(ImageOps.invert(Image.open(BytesIO(photo)).convert("L")))


def dark(photo: bytes) -> bytes:
    """The photo underexposed: every pixel at 30 % of its brightness."""
    return _jpeg(Image.open(BytesIO(photo)).convert("L").point(lambda v: v * 0.3))


def _jpeg(image: Image.Image) -> bytes:
    out = BytesIO()
    image.save(out, format="JPEG", quality=88)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with throwaway_database():
        from samples.puck_audit import puck_audit
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
        two_out = {n: code for n, code in pins.items() if n not in (3, 9)}
        mild = {"rotation": 73, "noise": 0.2, "blur": 0.6, "quality": 88}

        def unreadable(size) -> dict:
            # Blurred over most of a module (puck_photo's modules are 1/128 of the photo's shorter side).
            side = min(size) if isinstance(size, tuple) else size
            return {"size": size, "rotation": 73, "noise": 0.5, "blur": 0.85 * side / 128, "quality": 88}

        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"Puck audit of a 16-pin UniPuck, {args.runs} runs, {connection.vendor}; wall (min, max), CPU median:")
        for label, photo in (
            ("2000×2000, ring search", puck_photo(pins, size=2000, **mild)),
            ("2000×2000, puck code", puck_photo(pins, size=2000, puck_code="BENCH-PUCK", **mild)),
            ("12 MP 4000×3000, ring search", puck_photo(pins, size=(4000, 3000), **mild)),
            ("900×900, pins 3 and 9 out", puck_photo(two_out, size=900, **mild)),
            ("2000×2000, pins 3 and 9 out", puck_photo(two_out, size=2000, **mild)),
            ("900×900, blurred (σ 1.5 px)", puck_photo(pins, size=900, rotation=73, noise=0.3, blur=1.5)),
            ("900×900, no code readable", puck_photo(pins, **unreadable(900))),
            ("2000×2000, no code readable", puck_photo(pins, **unreadable(2000))),
            ("12 MP, no code readable", puck_photo(pins, **unreadable((4000, 3000)))),
            ("900×900, empty puck", puck_photo({}, size=900)),
            ("2000×2000, inverted", inverted(puck_photo(pins, size=2000, **mild))),
            ("12 MP, inverted", inverted(puck_photo(pins, size=(4000, 3000), **mild))),
            ("2000×2000, dark", dark(puck_photo(pins, size=2000, **mild))),
            ("12 MP, dark", dark(puck_photo(pins, size=(4000, 3000), **mild))),
            ("2000×2000, inverted, puck code", inverted(puck_photo(pins, size=2000, puck_code="BENCH-PUCK", **mild))),
            (
                "900×900, inverted, blurred σ 2.5",
                inverted(puck_photo(pins, size=900, rotation=73, noise=0.5, blur=2.5)),
            ),
            ("2000×2000, inverted, pins 3, 9 out", inverted(puck_photo(two_out, size=2000, **mild))),
        ):
            wall, cpu = [], []
            for _ in range(args.runs):
                start, start_cpu = time.perf_counter(), time.process_time()
                row = puck_audit(container=container, user=user, image_bytes=photo)
                wall.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            r = row.result
            rotation = f"{r['frame']['rotation_degrees']}°" if r["frame"] else "—"
            print(f"  {label:34} {len(photo) / 1e6:4.1f} MB  {median_ms(wall)}  CPU {cpu_ms(cpu)}")
            print(
                f"      → {r['codes_found']} codes, {len(r['matches'])}/16 match, missing "
                f"{[m['position'] for m in r['missing']]}, unread {len(r.get('unread', []))}, "
                f"method {r['method']} ({r['confidence']}), rotation {rotation}"
            )
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
