"""The stores dashboard's read: which dewars are expected, which are here (by location), which wait to go
home, which are overdue and which had an incident. Three queries whatever the number of dewars.

Overdue means: expected at the facility before today and not arrived, or waiting to go home for more than
``STORES_RETURN_OVERDUE_DAYS`` days (7 by default) after its session ended.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, F, Max, OuterRef, Q, Subquery
from django.utils import timezone

from .choices import DewarEventKind, DewarStatus
from .models import Dewar, DewarEvent, Location
from .services.dewars import AT_FACILITY

DEFAULT_RETURN_OVERDUE_DAYS = 7


@dataclass
class Overdue:
    dewar: Dewar
    reason: str


@dataclass
class StoresOverview:
    """The dashboard's buckets; a dewar may be in several (here, waiting to go home, overdue)."""

    expected: list[Dewar] = field(default_factory=list)
    by_location: list[tuple[Location | None, list[Dewar]]] = field(default_factory=list)
    waiting: list[Dewar] = field(default_factory=list)
    overdue: list[Overdue] = field(default_factory=list)
    incidents: list[Dewar] = field(default_factory=list)

    @property
    def here_count(self) -> int:
        return sum(len(dewars) for _, dewars in self.by_location)


def return_overdue_days() -> int:
    return int(getattr(settings, "STORES_RETURN_OVERDUE_DAYS", DEFAULT_RETURN_OVERDUE_DAYS))


def stores_overview(now: dt.datetime | None = None) -> StoresOverview:
    """Every dewar the stores have to think about, sorted into the dashboard's buckets (staff only: no scope)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    overview = StoresOverview()

    expected = (
        Dewar.objects.filter(status=DewarStatus.IN_TRANSIT_TO_FACILITY)
        .select_related("shipment__proposal", "delivery_location", "session__beamline")
        .order_by(F("shipment__expected_arrival").asc(nulls_last=True), "shipment__name", "id")
    )
    for dewar in expected:
        overview.expected.append(dewar)
        arrival = dewar.shipment.expected_arrival
        if arrival is not None and arrival < today:
            late = (today - arrival).days
            overview.overdue.append(Overdue(dewar, f"expected {arrival:%d %b %Y}, {late} day{'s' * (late != 1)} late"))

    here = (
        Dewar.objects.filter(status__in=AT_FACILITY)
        .select_related("shipment__proposal", "location", "session__beamline")
        .order_by(F("location__name").asc(nulls_last=True), "shipment__name", "id")
    )
    limit = dt.timedelta(days=return_overdue_days())
    groups: dict[int | None, tuple[Location | None, list[Dewar]]] = {}
    for dewar in here:
        groups.setdefault(dewar.location_id, (dewar.location, []))[1].append(dewar)
        session = dewar.session
        if session is not None and session.end < now:
            overview.waiting.append(dewar)
            if now - session.end > limit:
                days = (now - session.end).days
                overview.overdue.append(Overdue(dewar, f"session ended {days} days ago, still here"))
    overview.by_location = list(groups.values())
    overview.waiting.sort(key=lambda d: d.session.end)

    incident = Q(events__kind=DewarEventKind.INCIDENT)
    last_note = (
        DewarEvent.objects.filter(dewar=OuterRef("pk"), kind=DewarEventKind.INCIDENT)
        .order_by("-at", "-id")
        .values("note")[:1]
    )
    overview.incidents = list(
        Dewar.objects.exclude(status__in=[DewarStatus.RETURNED, DewarStatus.CANCELLED])
        .annotate(
            incident_count=Count("events", filter=incident),
            last_incident_at=Max("events__at", filter=incident),
            last_incident=Subquery(last_note),
        )
        .filter(incident_count__gt=0)
        .select_related("shipment__proposal", "location")
        .order_by("-last_incident_at", "id")
    )
    return overview
