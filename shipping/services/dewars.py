"""Transport of dewars: every movement is one service that locks the dewar, writes one DewarEvent and keeps
the dewar's and the shipment's status in step, in one transaction.

    dewar_receive, dewar_move, dewar_dispatch, dewar_unload_and_dispatch, dewar_return_confirmed,
    dewar_note, dewar_incident

Each returns a ``Movement``: the dewar, the event written (None when nothing happened) and a message for
the person who scanned. Scanning the same thing twice in a row ("already here") writes nothing.

Concurrency: two stores PCs may scan the same dewar at the same moment. Each service locks the
shipment row and then the dewar row (always in that order, so two scans of dewars of one shipment
cannot deadlock) before reading the status it checks; the second scan therefore sees the first one's
result and answers "already here" instead of writing a second event.

The dewar's pucks and pins follow it (``samples.dewar_contents``): at facility when it
arrives, returned when it is dispatched home. A dewar whose pucks are still in a sample changer is not
dispatched (``PucksInChanger``): they are unloaded first, or with ``dewar_unload_and_dispatch``. The pucks
are locked after the dewar, so a dispatch and an assignment of one of its pucks take turns.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone

from lims import access, audit
from lims.choices import AuditAction
from lims.compiled import CompiledQuery
from lims.errors import DomainError, InvalidTransition
from samples.choices import ContainerStatus
from samples.dewar_contents import container_unassign, containers_follow_dewar, dewar_contents_lock
from samples.models import Container, Sample

from ..choices import (
    DEWAR_AT_FACILITY,
    DEWAR_TRANSITIONS,
    INCIDENT_KINDS,
    DewarEventKind,
    DewarStatus,
    LocationKind,
    ShipmentStatus,
)
from ..models import Dewar, DewarEvent, Location, Notification, Shipment
from .shipments import check_transition

AT_FACILITY = DEWAR_AT_FACILITY  # (the statuses beside their enum, in shipping.choices)


class PucksInChanger(DomainError):
    """A dewar cannot go home while some of its pucks are in a sample changer; ``pucks`` says which and where."""

    code = "pucks_in_changer"

    def __init__(self, dewar: Dewar, pucks: list[Container]):
        self.pucks = pucks
        where = ", ".join(f"{c.barcode or c.name} in {c.beamline.position_code(c.changer_position)}" for c in pucks)
        count = f"{len(pucks)} of its pucks are" if len(pucks) > 1 else "its puck is"
        super().__init__(
            f"{dewar.barcode} cannot be dispatched: {count} still in a sample changer ({where}). "
            "Unload them first, or unload and dispatch."
        )


@dataclass
class Movement:
    """What a transport service did: the dewar as it is now, the event written (None if nothing was)."""

    dewar: Dewar
    event: DewarEvent | None
    message: str

    @property
    def recorded(self) -> bool:
        return self.event is not None


def _lock(dewar: Dewar) -> Dewar:
    """The dewar re-read under lock, its shipment locked first (see the module docstring).

    Both come with what a scan's answer shows (proposal, locations, session), so that nothing is read
    again after the write; ``dewar.shipment`` is the locked shipment row that ``_sync_shipment`` updates.
    """
    return _lock_where(_LOCK_SHIPMENT.objects(pk=dewar.shipment_id), pk=dewar.pk)


def lock_by_barcode(code: str) -> Dewar | None:
    """The dewar with this (normalised) barcode, locked as ``_lock`` does, without reading it first;
    None when no dewar has it. For callers that open the transaction themselves (``scans.scan``)."""
    return _lock_where(_LOCK_SHIPMENT_OF_CODE.objects(code=code), barcode=code)


def _shipments_locked(shipments):
    return shipments.select_for_update(of=("self",)).select_related("proposal", "created_by")


def _dewars_locked(shipment, **dewar_lookup):
    # of=("self",): lock the dewar row only; PostgreSQL refuses FOR UPDATE on the nullable side of the
    # outer joins that the optional location and session bring.
    related = Dewar.objects.select_related("location", "delivery_location", "session__beamline")
    return related.select_for_update(of=("self",)).filter(shipment_id=shipment, **dewar_lookup)


# Every scan locks through these: their SQL is compiled once per process (lims.compiled).
_LOCK_SHIPMENT = CompiledQuery(lambda pk: _shipments_locked(Shipment.objects.filter(pk=pk)))
_LOCK_SHIPMENT_OF_CODE = CompiledQuery(
    lambda code: _shipments_locked(
        Shipment.objects.filter(pk=Subquery(Dewar.objects.filter(barcode=code).values("shipment_id")[:1]))
    )
)
_LOCK_DEWAR_BY_PK = CompiledQuery(lambda shipment, pk: _dewars_locked(shipment, pk=pk))
_LOCK_DEWAR_BY_CODE = CompiledQuery(lambda shipment, barcode: _dewars_locked(shipment, barcode=barcode))
_DEWAR_STATUSES = CompiledQuery(lambda shipment: Dewar.objects.filter(shipment_id=shipment).values_list("status"))


def _lock_where(shipments: list[Shipment], **dewar_lookup) -> Dewar | None:
    if not shipments:
        return None
    shipment = shipments[0]
    query = _LOCK_DEWAR_BY_PK if "pk" in dewar_lookup else _LOCK_DEWAR_BY_CODE
    found = query.objects(shipment=shipment.pk, **dewar_lookup)
    if not found:
        return None
    locked = found[0]
    locked.shipment = shipment
    return locked


def _status_at(location: Location) -> str:
    """A dewar at a beamline or in a sample-changer area is being processed; anywhere else it is stored."""
    if location.kind in (LocationKind.BEAMLINE, LocationKind.SAMPLE_CHANGER):
        return DewarStatus.AT_BEAMLINE
    return DewarStatus.AT_FACILITY


def default_arrival_location(dewar: Dewar) -> Location:
    """Where a dewar goes when it arrives: its delivery location, else the (first) stores."""
    if dewar.delivery_location_id:
        return dewar.delivery_location
    stores = Location.objects.filter(kind=LocationKind.STORES, active=True).order_by("id").first()
    if stores is None:
        raise DomainError("No stores location is defined; ask an admin to create one.", code="no_stores")
    return stores


def shipment_status_from(statuses: list[str]) -> str | None:
    """The shipment's status that follows from its dewars' statuses (None: no dewars, leave it)."""
    live = [s for s in statuses if s != DewarStatus.CANCELLED]
    if not live:
        return None
    if all(s == DewarStatus.RETURNED for s in live):
        return ShipmentStatus.CLOSED
    if all(s in (DewarStatus.IN_TRANSIT_TO_USER, DewarStatus.RETURNED) for s in live):
        return ShipmentStatus.RETURNED
    if any(s == DewarStatus.AT_BEAMLINE for s in live):
        return ShipmentStatus.PROCESSING
    if any(s in (DewarStatus.AT_FACILITY, DewarStatus.IN_TRANSIT_TO_USER, DewarStatus.RETURNED) for s in live):
        return ShipmentStatus.AT_FACILITY
    if all(s == DewarStatus.REGISTERED for s in live):
        return ShipmentStatus.DRAFT
    return ShipmentStatus.SENT


def _sync_shipment(shipment: Shipment, user, at) -> None:
    """Set the (locked) shipment's status from its dewars, in the same transaction: the two never disagree."""
    statuses = [status for (status,) in _DEWAR_STATUSES.rows(shipment=shipment.pk)]
    target = shipment_status_from(statuses)
    if target is None or target == shipment.status or shipment.status == ShipmentStatus.CANCELLED:
        return
    before = audit.snapshot(shipment)
    shipment.status = target
    fields = ["status"]
    if shipment.sent_at is None and target != ShipmentStatus.DRAFT:
        shipment.sent_at = at
        fields.append("sent_at")
    shipment.save(update_fields=fields)
    audit.record(user=user, action=AuditAction.TRANSITION, obj=shipment, before=before, message="follows its dewars")
    if target == ShipmentStatus.CLOSED:
        # Back home: its pins leave circulation and their codes may be registered again.
        Sample.objects.filter(container__shipment=shipment, retired_at__isnull=True).update(retired_at=at)


def _record(
    dewar: Dewar,
    *,
    user,
    status: str | None = None,
    location: Location | None | bool = False,
    kind: str = DewarEventKind.STATUS,
    note: str = "",
    courier: str = "",
    tracking_number: str = "",
    notify: str | None = None,
    fields: dict | None = None,
) -> DewarEvent:
    """Change the locked dewar (``status``, ``location``, other ``fields``), write its event and audit entry,
    bring the shipment in step, notify."""
    at = timezone.now()
    before = audit.snapshot(dewar)
    status_changed = status is not None and status != dewar.status
    if status_changed:
        check_transition(DEWAR_TRANSITIONS, dewar.status, status, "dewar", DewarStatus)
        dewar.status = status
    if location is not False:
        dewar.location = location
    for name, value in (fields or {}).items():
        setattr(dewar, name, value)
    changes = audit.diff(before, audit.snapshot(dewar))
    if changes:
        dewar.save(update_fields=list(changes))
    event = DewarEvent.objects.create(
        dewar=dewar,
        at=at,
        kind=kind,
        status=dewar.status,
        location=dewar.location,
        user=user if getattr(user, "is_authenticated", False) else None,
        courier=courier,
        tracking_number=tracking_number,
        note=note,
    )
    action = AuditAction.TRANSITION if kind == DewarEventKind.STATUS else AuditAction.UPDATE
    audit.record(user=user, action=action, obj=dewar, before=before, message=f"{kind}: {event.get_status_display()}")
    if status_changed:
        _sync_shipment(dewar.shipment, user, at)
    if notify:
        Notification.objects.enqueue(event=event, reason=notify)  # the outbox: sent once this transaction commits
    return event


@transaction.atomic
def dewar_receive(*, dewar: Dewar, user, location: Location | None = None, confirm_reason: str = "") -> Movement:
    """A dewar arrives at the facility: into ``location`` or its delivery location (or the stores).

    A dewar whose shipment was never marked as sent is refused, unless a stores user confirms with a
    reason, which the event records.
    """
    return receive_locked(_lock(dewar), user=user, location=location, confirm_reason=confirm_reason)


def receive_locked(dewar: Dewar, *, user, location: Location | None = None, confirm_reason: str = "") -> Movement:
    """``dewar_receive`` on a dewar already locked in the caller's transaction."""
    location = location or default_arrival_location(dewar)
    if dewar.status in AT_FACILITY:
        if dewar.location_id == location.pk:
            return Movement(dewar, None, f"{dewar.barcode} is already here ({location}).")
        return move_locked(dewar, user=user, location=location)
    note = ""
    if dewar.status == DewarStatus.REGISTERED:
        if not confirm_reason.strip():
            raise DomainError(
                f"{dewar.barcode}: shipment {dewar.shipment.name} was never marked as sent. "
                "Confirm the arrival with a reason to receive it anyway.",
                code="not_sent",
            )
        note = f"Received although the shipment was never marked as sent: {confirm_reason.strip()}"
        # The dewar did travel: record that step, so that the history reads in order.
        _record(dewar, user=user, status=DewarStatus.IN_TRANSIT_TO_FACILITY, location=None, note=note)
    elif dewar.status not in (DewarStatus.IN_TRANSIT_TO_FACILITY, DewarStatus.LOST):
        raise InvalidTransition(
            f"{dewar.barcode} is {dewar.get_status_display().lower()}; it cannot arrive at the facility."
        )
    event = _record(dewar, user=user, status=_status_at(location), location=location, note=note, notify="arrival")
    containers_follow_dewar(
        containers=dewar_contents_lock(dewar),
        status=ContainerStatus.AT_FACILITY,
        user=user,
        message=f"Dewar {dewar.barcode} received at {location}",
    )
    return Movement(dewar, event, f"{dewar.barcode} received at {location}.")


@transaction.atomic
def dewar_move(*, dewar: Dewar, user, location: Location) -> Movement:
    """Move a dewar that is at the facility to another place: a stores shelf, a beamline, a changer area."""
    return move_locked(_lock(dewar), user=user, location=location)


def move_locked(dewar: Dewar, *, user, location: Location) -> Movement:
    """``dewar_move`` on a dewar already locked in the caller's transaction."""
    if dewar.status not in AT_FACILITY:
        raise InvalidTransition(
            f"{dewar.barcode} is {dewar.get_status_display().lower()}; receive it before moving it."
        )
    if location.kind == LocationKind.OFF_SITE:
        raise DomainError(f"{location} is off-site: dispatch the dewar instead.", code="off_site")
    if dewar.location_id == location.pk:
        return Movement(dewar, None, f"{dewar.barcode} is already here ({location}).")
    event = _record(dewar, user=user, status=_status_at(location), location=location)
    return Movement(dewar, event, f"{dewar.barcode} moved to {location}.")


@transaction.atomic
def dewar_dispatch(*, dewar: Dewar, user, courier: str, tracking_number: str) -> Movement:
    """Send a dewar back to its home lab with a courier and a tracking number."""
    return dispatch_locked(_lock(dewar), user=user, courier=courier, tracking_number=tracking_number)


def dispatch_locked(dewar: Dewar, *, user, courier: str, tracking_number: str) -> Movement:
    """``dewar_dispatch`` on a dewar already locked in the caller's transaction."""
    courier, tracking_number = courier.strip(), tracking_number.strip()
    errors = {}
    if not courier:
        errors["courier"] = "Give the courier."
    if not tracking_number:
        errors["tracking_number"] = "Give the tracking number."
    if errors:
        raise ValidationError(errors)
    if dewar.status == DewarStatus.IN_TRANSIT_TO_USER and dewar.tracking_from_facility == tracking_number:
        return Movement(dewar, None, f"{dewar.barcode} is already dispatched ({courier} {tracking_number}).")
    if dewar.status not in AT_FACILITY:
        raise InvalidTransition(f"{dewar.barcode} is {dewar.get_status_display().lower()}; it cannot be dispatched.")
    containers = dewar_contents_lock(dewar)
    in_changer = [c for c in containers if c.beamline_id]
    if in_changer:
        raise PucksInChanger(dewar, sorted(in_changer, key=lambda c: (c.beamline.name, c.changer_position)))
    event = _record(
        dewar,
        user=user,
        status=DewarStatus.IN_TRANSIT_TO_USER,
        location=None,
        courier=courier,
        tracking_number=tracking_number,
        notify="dispatch",
        fields={"courier_from_facility": courier, "tracking_from_facility": tracking_number},
    )
    containers_follow_dewar(
        containers=containers,
        status=ContainerStatus.RETURNED,
        user=user,
        message=f"Dewar {dewar.barcode} dispatched home ({courier} {tracking_number})",
    )
    return Movement(dewar, event, f"{dewar.barcode} dispatched with {courier}, tracking {tracking_number}.")


@transaction.atomic
def dewar_unload_and_dispatch(*, dewar: Dewar, user, courier: str, tracking_number: str) -> Movement:
    """Take the dewar's pucks out of the sample changers they are in, then dispatch it: one transaction,
    so that either both happen or neither (a refused dispatch leaves the pucks where they were)."""
    return unload_dispatch_locked(_lock(dewar), user=user, courier=courier, tracking_number=tracking_number)


def unload_dispatch_locked(dewar: Dewar, *, user, courier: str, tracking_number: str) -> Movement:
    """``dewar_unload_and_dispatch`` on a dewar already locked in the caller's transaction.

    Emptying a changer is beamline staff's (``lims.access.may_fill_changer``), whoever dispatches."""
    if dewar.status not in AT_FACILITY:
        # The dispatch gives the answer ("already dispatched", or why not): nothing to unload first.
        return dispatch_locked(dewar, user=user, courier=courier, tracking_number=tracking_number)
    in_changer = [c for c in dewar_contents_lock(dewar) if c.beamline_id]
    refused = sorted({c.beamline.name for c in in_changer if not access.may_fill_changer(user, c.beamline_id)})
    if refused:
        raise PermissionDenied(
            f"Unloading {', '.join(refused)}'s sample changer is for beamline staff and admins: "
            "ask them to unload the pucks, then dispatch."
        )
    unloaded = []
    for container in in_changer:
        where = container.beamline.position_code(container.changer_position)
        container_unassign(container=container, user=user, message=f"Taken out of {where} to dispatch {dewar.barcode}")
        unloaded.append(f"{container.barcode or container.name} from {where}")
    movement = dispatch_locked(dewar, user=user, courier=courier, tracking_number=tracking_number)
    if unloaded:
        movement.message = f"Unloaded {', '.join(unloaded)}. {movement.message}"
    return movement


@transaction.atomic
def dewar_return_confirmed(*, dewar: Dewar, user) -> Movement:
    """The home lab has the dewar back."""
    return return_locked(_lock(dewar), user=user)


def return_locked(dewar: Dewar, *, user) -> Movement:
    """``dewar_return_confirmed`` on a dewar already locked in the caller's transaction."""
    if dewar.status == DewarStatus.RETURNED:
        return Movement(dewar, None, f"{dewar.barcode} is already back home.")
    event = _record(dewar, user=user, status=DewarStatus.RETURNED, location=None)
    # Already returned when dispatched, unless they came back to the facility (a lost dewar found) since.
    containers_follow_dewar(
        containers=dewar_contents_lock(dewar),
        status=ContainerStatus.RETURNED,
        user=user,
        message=f"Dewar {dewar.barcode} back home",
    )
    return Movement(dewar, event, f"{dewar.barcode} is back home.")


@transaction.atomic
def dewar_note(*, dewar: Dewar, user, note: str) -> Movement:
    """A note in the dewar's history (LN2 topped up, opened for customs...); the status does not change."""
    return note_locked(_lock(dewar), user=user, note=note)


def note_locked(dewar: Dewar, *, user, note: str) -> Movement:
    """``dewar_note`` on a dewar already locked in the caller's transaction."""
    note = note.strip()
    if not note:
        raise ValidationError({"note": "Write the note."})
    event = _record(dewar, user=user, kind=DewarEventKind.NOTE, note=note)
    return Movement(dewar, event, f"Note added to {dewar.barcode}.")


@transaction.atomic
def dewar_incident(*, dewar: Dewar, user, incident: str, note: str = "") -> Movement:
    """An incident: damaged, lost, missing contents. A lost dewar's status becomes "lost"."""
    return incident_locked(_lock(dewar), user=user, incident=incident, note=note)


def incident_locked(dewar: Dewar, *, user, incident: str, note: str = "") -> Movement:
    """``dewar_incident`` on a dewar already locked in the caller's transaction."""
    if incident not in INCIDENT_KINDS:
        raise ValidationError({"incident": f"Choose one of: {', '.join(INCIDENT_KINDS)}."})
    text = f"{INCIDENT_KINDS[incident]}" + (f": {note.strip()}" if note.strip() else "")
    status = DewarStatus.LOST if incident == "lost" else None
    event = _record(dewar, user=user, status=status, kind=DewarEventKind.INCIDENT, note=text, notify="incident")
    return Movement(dewar, event, f"Incident recorded on {dewar.barcode}: {text}.")
