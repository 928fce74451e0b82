"""What the mail-in operator's queue shows, and who sees result reports.

queue_samples() -> QuerySet[Sample]        mail-in samples at the facility, work not complete, in order
queue(now=None) -> (rows, shipments)       the queue page's rows and per-shipment summaries, 3 queries
request_text(sample) -> str                the client's request, as people say it
sample_place(sample) -> str                where the puck is: changer address, else the dewar's location
report_visible_to(user) -> QuerySet[ShipmentReport]
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import F, Min, OuterRef, QuerySet, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from samples.choices import DatasetKind, MailinRequest
from samples.models import Sample, ShipmentReport
from shipping.choices import DewarStatus
from shipping.models import DewarEvent

# A dewar is "at the facility" from its receipt until it leaves again (in the stores or at a beamline).
AT_FACILITY = (DewarStatus.AT_FACILITY, DewarStatus.AT_BEAMLINE)


def report_visible_to(user) -> QuerySet[ShipmentReport]:
    """Result reports ``user`` may read (``ShipmentReport.objects.visible_to``: the rule lives beside the model)."""
    return ShipmentReport.objects.visible_to(user)


def queue_samples() -> QuerySet[Sample]:
    """Samples of mail-in proposals' shipments whose dewar is at the facility and whose work is not marked
    complete, by priority (1 first), then by their dewar's arrival (first "at facility" event), then puck
    and position. ``arrival`` is annotated (None for a dewar whose history has no arrival)."""
    first_arrival = (
        DewarEvent.objects.filter(dewar_id=OuterRef("container__dewar_id"), status=DewarStatus.AT_FACILITY)
        .order_by("at")
        .values("at")[:1]
    )
    return (
        Sample.objects.filter(
            container__shipment__proposal__mail_in=True,
            container__shipment__mailin_completed_at__isnull=True,
            container__dewar__status__in=AT_FACILITY,
            retired_at__isnull=True,
        )
        .annotate(arrival=Subquery(first_arrival))
        .select_related(
            "protein",
            "container__beamline",
            "container__dewar__location",
            "container__shipment__proposal",
        )
        .order_by(
            "mailin_priority",
            F("arrival").asc(nulls_last=True),
            "container__shipment_id",
            "container_id",
            "position",
        )
    )


def request_text(sample: Sample) -> str:
    """ "SAD data set, Se", "screen, collect if better than 2.0 Å", "screen only", "" for no request."""
    kind = sample.mailin_request
    if kind == MailinRequest.SCREEN:
        text = "screen only"
    elif kind == MailinRequest.SCREEN_COLLECT:
        limit = sample.mailin_collect_better_than
        text = f"screen, collect if better than {limit:.1f} Å" if limit else "screen, collect"
    elif kind == MailinRequest.DATASET:
        dataset = sample.mailin_dataset_kind
        text = f"{DatasetKind(dataset).label} data set" if dataset else "data set"
        if dataset in (DatasetKind.SAD, DatasetKind.MAD) and sample.anomalous_scatterer:
            text += f", {sample.anomalous_scatterer}"
    else:
        return ""
    if sample.required_resolution:
        text += f", to {sample.required_resolution:.1f} Å"
    return text


def sample_place(sample: Sample) -> str:
    """The puck's sample-changer address ("MX-3:07"), else its dewar's location, else the dewar's status."""
    container = sample.container
    if container.beamline_id and container.changer_position:
        return container.beamline.position_code(container.changer_position)
    dewar = container.dewar
    if dewar.location_id:
        return str(dewar.location)
    return dewar.get_status_display()


@dataclass
class ShipmentSummary:
    shipment: object
    arrival: datetime | None = None
    reported_at: datetime | None = None
    samples: int = 0
    states: dict = field(default_factory=dict)
    complete_url: str | None = None
    now: datetime | None = None

    @property
    def turnaround(self) -> timedelta | None:
        """Arrival → first report when delivered, else arrival → now."""
        if self.arrival is None:
            return None
        return (self.reported_at or self.now) - self.arrival

    @property
    def turnaround_text(self) -> str:
        span = self.turnaround
        if span is None:
            return "—"
        days, hours = span.days, span.seconds // 3600
        return f"{days} d {hours} h" if days else f"{hours} h"


def complete_url(shipment_pk: int) -> str | None:
    """The "work complete" action of ``samples.mailin`` reports, when it is mounted."""
    try:
        return reverse("mailin:complete", args=[shipment_pk])
    except NoReverseMatch:
        return None


def queue(now: datetime | None = None) -> tuple[list[Sample], list[ShipmentSummary]]:
    """The queue's samples (each with ``request_text`` and ``place``) and one summary per shipment, by
    the shipment's arrival. Two queries whatever the number of samples."""
    now = now or timezone.now()
    rows = list(queue_samples())
    shipments: dict[int, ShipmentSummary] = {}
    for sample in rows:
        sample.request_text = request_text(sample)
        sample.place = sample_place(sample)
        shipment = sample.container.shipment
        summary = shipments.get(shipment.pk)
        if summary is None:
            summary = shipments[shipment.pk] = ShipmentSummary(shipment=shipment, now=now)
        summary.samples += 1
        summary.states[sample.mailin_state] = summary.states.get(sample.mailin_state, 0) + 1
        if sample.arrival is not None and (summary.arrival is None or sample.arrival < summary.arrival):
            summary.arrival = sample.arrival
    if shipments:
        first_reports = (
            ShipmentReport.objects.filter(shipment_id__in=list(shipments))
            .values("shipment_id")
            .annotate(first=Min("created_at"))
            .order_by()
        )
        for row in first_reports:
            shipments[row["shipment_id"]].reported_at = row["first"]
    for pk, summary in shipments.items():
        summary.complete_url = complete_url(pk)
    ordered = sorted(shipments.values(), key=lambda s: (s.arrival is None, s.arrival or now, s.shipment.pk))
    return rows, ordered
