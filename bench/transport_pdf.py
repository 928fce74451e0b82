"""Transport history PDF of a shipment of 10 dewars with 30 events each (300 steps, about 10 pages).

Usage:  .venv/bin/python bench/transport_pdf.py [--runs 7]
        DATABASE_URL=postgres://postgres@127.0.0.1:5432/lims_bench .venv/bin/python bench/transport_pdf.py

It creates a throwaway test database, registers the shipment through the service, then writes the events
with ``DewarEvent.objects.bulk_create``, not through the transport services: the bench measures the PDF, and
300 service calls would only make the setup slow. The events are a realistic mix: status changes with a
location and a person, courier and tracking number on the legs, notes (LN2 topped up, long ones that wrap)
and an incident every tenth step. Each run fetches the shipment once through
``shipping.selectors.shipment_detail`` (timed apart) and renders the PDF from that fetch, with no query.
Goal: the PDF under 300 ms.

Printed for each figure: the median wall time (min, max), the median CPU time of the work (this thread's;
on PostgreSQL the server's CPU is not in it), and the floor: the fetch's statements re-executed as bare SQL
(``_common.sql_floor``), with CPU/floor and p50/floor. The PDF's figures are set against the same floor (the
fetch's SQL: building the data and drawing do not query), which shows how much drawing costs beside the data
it draws. The load average (1, 5, 15 min) is printed at the start and at the end.
"""

import argparse
import datetime as dt
import re

from _common import Timings, figures, load_reported, new_member, sql_floor, throwaway_database  # sets up Django first
from django.db import connection
from django.test.utils import CaptureQueriesContext

DEWARS = 10
EVENTS = 30


def seed_events(shipment, users, locations) -> int:
    """``EVENTS`` steps per dewar of ``shipment``, written in one bulk insert."""
    from django.utils import timezone

    from shipping.choices import DewarEventKind, DewarStatus
    from shipping.models import DewarEvent

    start = timezone.now() - dt.timedelta(days=30)
    statuses = [DewarStatus.AT_FACILITY, DewarStatus.AT_BEAMLINE]
    events = []
    for d, dewar in enumerate(shipment.dewars.all()):
        for n in range(EVENTS):
            at = start + dt.timedelta(hours=n * 6, minutes=d)
            kind, note, courier, tracking = DewarEventKind.STATUS, "", "", ""
            if n == 0:
                status, courier, tracking = DewarStatus.IN_TRANSIT_TO_FACILITY, "FedEx", f"FX{d:04d}{n:06d}"
            elif n == EVENTS - 1:
                status, courier, tracking = DewarStatus.IN_TRANSIT_TO_USER, "DHL", f"JD{d:04d}{n:08d}"
            else:
                status = statuses[n % 2]
                if n % 10 == 5:
                    kind, note = DewarEventKind.INCIDENT, "Damaged: the lid does not close, foam insert cracked"
                elif n % 3 == 0:
                    kind = DewarEventKind.NOTE
                    note = "LN2 topped up" if n % 2 else "Opened for customs inspection and resealed, seal number 4471"
            events.append(
                DewarEvent(
                    dewar=dewar,
                    at=at,
                    kind=kind,
                    status=status,
                    location=None if courier else locations[n % len(locations)],
                    user=users[n % len(users)],
                    courier=courier,
                    tracking_number=tracking,
                    note=note,
                )
            )
    DewarEvent.objects.bulk_create(events)
    return len(events)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    with load_reported("transport_pdf"), throwaway_database():
        from shipping import labels
        from shipping.choices import LocationKind
        from shipping.pdf.transport import render_transport_history, transport_history
        from shipping.selectors import shipment_detail
        from tests import factories as f

        proposal, user = new_member()
        shipment = f.shipment_tree(proposal=proposal, user=user, dewars=DEWARS, pucks=1, samples=1, name="Bench")
        users = [f.UserFactory() for _ in range(4)]
        locations = [
            f.LocationFactory(name="MX stores", kind=LocationKind.STORES),
            f.LocationFactory(name="ID23-1", kind=LocationKind.BEAMLINE),
            f.LocationFactory(name="ID30A-1 sample changer area", kind=LocationKind.SAMPLE_CHANGER),
        ]
        count = seed_events(shipment, users, locations)

        def fetch():
            fetched = shipment_detail(user).get(pk=shipment.pk)
            list(fetched.dewars.all())  # the prefetches run with the first access
            return fetched

        timings = {name: Timings() for name in ("fetch", "data", "render", "pdf")}
        size, captured, page_count = 0, [], 0
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as ctx:
                fetched = timings["fetch"].time(fetch)
            captured = ctx.captured_queries
            with CaptureQueriesContext(connection) as during:
                history = timings["data"].time(lambda fetched=fetched: transport_history(fetched))
                content = timings["render"].time(lambda history=history: render_transport_history(history))
            assert not during.captured_queries, "rendering must not query"
            timings["pdf"].add(
                timings["data"].wall[-1] + timings["render"].wall[-1],
                timings["data"].cpu[-1] + timings["render"].cpu[-1],
            )
            size = len(content)
            page_count = len(re.findall(rb"/Type /Page\b(?!s)", content))
        floor = sql_floor(captured, args.runs)
        # The file as the page and the API serve it, once, to be sure the whole path works.
        assert labels.transport_history_file(fetched).content.startswith(b"%PDF-")

        print(
            f"Transport history PDF, {DEWARS} dewars × {EVENTS} events ({count} steps), {args.runs} runs, {connection.vendor}, events bulk-created:"
        )
        print(f"  fetch (shipment_detail)   {figures(timings['fetch'], floor)}  {len(captured)} queries")
        print(f"  build data                {figures(timings['data'], floor)}")
        print(f"  render (platypus)         {figures(timings['render'], floor)}")
        print(
            f"  PDF (data + render)       {figures(timings['pdf'], floor)}  {size / 1024:.0f} KiB, {page_count} pages"
        )
        print("  goal: PDF under 300 ms; 0 queries while drawing")


if __name__ == "__main__":
    main()
