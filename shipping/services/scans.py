"""A scan: what a barcode scanner (the scan station page, a handheld, another system) sent, turned into one
transport service call.

    scan(user=, barcode=, location="", action="", ...) -> Movement
    identify(user, code) -> Dewar | Location          what a scanned code is (the station's first step)
    next_action(dewar, location=None) -> str | None   the likely next step, offered by the station

Who scans (``lims.access.may_scan``): stores staff, beamline staff (they carry dewars to and from the beamline and scan them there)
and admins. Proposal members follow their dewars on the dewar page but never move them.

The rules of each movement stay in ``shipping.services.dewars``; this module only reads the codes, refuses
what is not a dewar, and picks the service. Bad codes are ``ValidationError`` (400), codes that are well
formed but belong to nothing are ``UnknownBarcode`` (404), refusals of the services are ``DomainError`` (409).
A dispatch refused because pucks are still in a sample changer (``pucks_in_changer``) may be scanned again
as ``unload_dispatch``: the pucks are unloaded and the dewar dispatched in one transaction.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef

from lims import access
from lims.barcodes.codes import is_dewar_barcode, normalise, problem
from lims.compiled import CompiledQuery
from lims.errors import DomainError
from samples.models import ContainerHistory

from ..choices import DewarStatus
from ..models import Dewar, DewarEvent, Location
from ..selectors import dewar_by_barcode, location_by_barcode
from .dewars import (
    AT_FACILITY,
    Movement,
    dispatch_locked,
    incident_locked,
    lock_by_barcode,
    move_locked,
    note_locked,
    receive_locked,
    return_locked,
    unload_dispatch_locked,
)

ACTIONS = {
    "receive": "Receive",
    "move": "Move",
    "dispatch": "Dispatch",
    "unload_dispatch": "Unload and dispatch",
    "return": "Confirm return",
    "note": "Add a note",
    "incident": "Report an incident",
}


class UnknownBarcode(DomainError):
    """A well-formed code that no dewar (or location) carries. The API answers 404, the station amber."""

    code = "unknown_barcode"


def identify(user, raw: str) -> Dewar | Location:
    """The dewar or the location that a scanned code names (normalised first).

    A dewar barcode is looked up among the dewars; any other code among the locations. A code that is
    neither a known location nor well formed as a dewar barcode is a ValidationError whose message says
    what is wrong with it as a dewar barcode (the station scans dewars first).
    """
    code = normalise(raw)
    if not code:
        raise ValidationError({"barcode": "The code is empty: scan a dewar or a location."})
    if is_dewar_barcode(code):
        dewar = dewar_by_barcode(user, code)
        if dewar is not None:
            return dewar
    location = location_by_barcode(code)
    if location is not None:
        return location
    if is_dewar_barcode(code):
        raise UnknownBarcode(f"No dewar has the barcode {code}.")
    raise ValidationError({"barcode": f"{problem('dewar', code)} It is not a location's barcode either."})


def dewar_code(raw: str) -> str:
    """A scanned dewar barcode, normalised; a location's code or a malformed one is a ValidationError."""
    code = normalise(raw)
    if is_dewar_barcode(code):
        return code
    location = location_by_barcode(code) if code else None
    if location is not None:
        raise ValidationError(
            {"barcode": f"{code} is the barcode of the location {location}, not of a dewar: scan the dewar first."}
        )
    raise ValidationError({"barcode": problem("dewar", code)})


def resolve_location(raw: str) -> Location | None:
    """The location of a scanned location barcode (None when none was given)."""
    code = normalise(raw)
    if not code:
        return None
    location = location_by_barcode(code)
    if location is not None:
        return location
    message = problem("location", code)
    if message:
        raise ValidationError({"location": message})
    if is_dewar_barcode(code):
        raise ValidationError({"location": f"{code} is a dewar barcode, not a location's."})
    raise UnknownBarcode(f"No location has the barcode {code}.", code="unknown_location")


# Whether a dewar has been used: at a beamline once, or a puck of it in a sample changer. One statement, compiled
# once per process (lims.compiled): the scan station asks after every scan.
_USED = CompiledQuery(
    lambda dewar: (
        Dewar.objects.filter(pk=dewar)
        .filter(
            Exists(DewarEvent.objects.filter(dewar=OuterRef("pk"), status=DewarStatus.AT_BEAMLINE))
            | Exists(ContainerHistory.objects.filter(container__dewar=OuterRef("pk"), beamline__isnull=False))
        )
        .values_list("pk")
    )
)


def next_action(dewar: Dewar, location: Location | None = None) -> str | None:
    """The likely next step for a dewar, given the location scanned with it (if any).

    On its way here (or registered, or lost and found) → receive; at the facility with a location → move;
    without one → dispatch once it has been used (at a beamline, a puck of it in a sample changer, or its
    mail-in work done: stores scan a dewar alone when it goes home), nothing for a dewar that has only just
    arrived (it waits for a location: Enter must never send a full dewar home); on its way home → return.
    """
    if dewar.status in (DewarStatus.REGISTERED, DewarStatus.IN_TRANSIT_TO_FACILITY, DewarStatus.LOST):
        return "receive"
    if dewar.status in AT_FACILITY:
        if location is not None:
            return "move"
        used = (
            dewar.status == DewarStatus.AT_BEAMLINE
            or dewar.shipment.mailin_completed_at is not None
            or bool(_USED.rows(dewar=dewar.pk))
        )
        return "dispatch" if used else None
    if dewar.status == DewarStatus.IN_TRANSIT_TO_USER:
        return "return"
    return None


def scan(
    *,
    user,
    barcode: str,
    location: str = "",
    action: str = "",
    courier: str = "",
    tracking_number: str = "",
    note: str = "",
    incident: str = "",
    confirm_reason: str = "",
) -> Movement:
    """Do what a scan asks: ``action`` on the dewar of ``barcode`` (default: ``next_action``).

    ``location`` is a location barcode: where a received dewar goes (default: its delivery location or the
    stores) or where a dewar is moved. Each movement is one transport service call, so the same scan twice
    records one event and answers "already here" the second time.
    """
    # Scanners are facility staff, who see every dewar: no need to scope the lookup below.
    access.may_scan.require(user)
    code = dewar_code(barcode)
    place = resolve_location(location)
    if action and action not in ACTIONS:
        raise ValidationError({"action": f"Choose one of: {', '.join(ACTIONS)}."})
    with transaction.atomic():
        # Locked at once by its barcode: the step below reads the dewar as no other scan can change it.
        dewar = lock_by_barcode(code)
        if dewar is None:
            raise UnknownBarcode(f"No dewar has the barcode {code}.")
        action = action or next_action(dewar, place)
        if action is None:
            raise DomainError(
                f"{dewar.barcode} is {dewar.get_status_display().lower()}: there is nothing to do with it.",
                code="no_action",
            )
        if action == "receive":
            return receive_locked(dewar, user=user, location=place, confirm_reason=confirm_reason)
        if action == "move":
            if place is None:
                raise ValidationError({"location": "Scan the location to move the dewar to."})
            return move_locked(dewar, user=user, location=place)
        if action == "dispatch":
            return dispatch_locked(dewar, user=user, courier=courier, tracking_number=tracking_number)
        if action == "unload_dispatch":
            return unload_dispatch_locked(dewar, user=user, courier=courier, tracking_number=tracking_number)
        if action == "return":
            return return_locked(dewar, user=user)
        if action == "note":
            return note_locked(dewar, user=user, note=note)
        return incident_locked(dewar, user=user, incident=incident, note=note)
