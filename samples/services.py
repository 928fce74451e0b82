"""Writes on the beamline: pucks into and out of the sample changer, the robot's actions, sample statuses.

    container_assign(*, container, beamline, position, user, session=None) -> Assignment
    container_unassign(*, container, user, message="") -> Container
    session_unload(*, session, user) -> list[Container]
    dewar_contents_lock(dewar) -> list[Container]
    containers_follow_dewar(*, containers, status, user, message) -> None
    robot_action_create(*, by, beamline=None, session=None, sample_reference=None, ...) -> RobotAction
    robot_action_complete(*, action, by, status, ended_at=None, message=None) -> RobotAction
    sample_status_set(*, sample, by, status, detail="", centring_position=None) -> SampleStatusChange

Pucks and their pins follow their dewar and the changer, in the transaction of the step that moves them:
at facility (dewar received), in sample changer (assigned), unloaded (taken out), returned (dewar
dispatched home). Each change writes the puck's history row and audit entry and each pin's status row.

``user``/``by`` is a person or a beamline's API token (``lims.tokens.TokenPrincipal``); history rows
keep both (``lims.tokens.actor``). Assignments lock the beamline's row first, so two people filling one
changer at once take turns, and the database refuses two pucks in one position in any case.

Robot actions and status changes arrive from beamline control by the thousand: each is one history row
(who, when, what), which is its own audit trail, rather than a row plus an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from lims import audit
from lims.choices import AuditAction
from lims.errors import DomainError
from lims.models import Beamline, Session
from lims.tokens import actor, beamline_of

from .choices import (
    CONTAINER_GONE,
    REPORTED_SAMPLE_STATUSES,
    ContainerStatus,
    RobotActionStatus,
    RobotActionType,
    SampleStatus,
)
from .models import Container, ContainerHistory, RobotAction, Sample, SampleStatusChange

# A pin is where its puck is.
PIN_FOLLOWS = {
    ContainerStatus.AT_FACILITY: SampleStatus.AT_FACILITY,
    ContainerStatus.IN_SAMPLE_CHANGER: SampleStatus.IN_SAMPLE_CHANGER,
    ContainerStatus.UNLOADED: SampleStatus.UNLOADED,
    ContainerStatus.RETURNED: SampleStatus.RETURNED,
}


@dataclass
class Assignment:
    """What ``container_assign`` did: the container where it is now, the one it displaced, a message."""

    container: Container
    displaced: Container | None
    changed: bool
    message: str


def _audit_user(user):
    return actor(user)["user"]


def _history(container: Container, user, *, at, message: str = "", session: Session | None = None, where=None) -> None:
    """A history row: the container's status and its place, or ``where`` (beamline, position) it left."""
    beamline, position = where or (container.beamline, container.changer_position)
    ContainerHistory.objects.create(
        container=container,
        at=at,
        status=container.status,
        beamline=beamline,
        changer_position=position,
        location=beamline.position_code(position) if beamline else "",
        session=session,
        message=message[:255],
        **actor(user),
    )


def _pins_follow(containers: list[Container], user, *, at, message: str) -> None:
    """Set the pins of ``containers`` to where their puck now is (``PIN_FOLLOWS``), one status row per pin
    that changes. The pins are locked: beamline control may report a status of one of them meanwhile."""
    by_status: dict[str, list[int]] = {}
    for container in containers:
        by_status.setdefault(PIN_FOLLOWS[container.status], []).append(container.pk)
    who = actor(user)
    changes = []
    for status, container_ids in by_status.items():
        pins = list(
            Sample.objects.select_for_update()
            .filter(container_id__in=container_ids)
            .exclude(status=status)
            .only("id", "status")
            .order_by("id")
        )
        if not pins:
            continue
        Sample.objects.filter(pk__in=[pin.pk for pin in pins]).update(status=status)
        changes += [
            SampleStatusChange(sample=pin, at=at, status=status, previous=pin.status, detail=message[:255], **who)
            for pin in pins
        ]
    SampleStatusChange.objects.bulk_create(changes)


def dewar_contents_lock(dewar) -> list[Container]:
    """The pucks of ``dewar``, locked, with their beamline: what a movement of the dewar reads and changes.

    Locking them is what keeps a dispatch and an assignment from crossing: whichever comes second waits,
    then sees the puck in the changer (the dispatch refuses) or returned (the assignment refuses).
    """
    return list(
        Container.objects.select_for_update(of=("self",))
        .select_related("beamline")
        .filter(dewar_id=dewar.pk)
        .order_by("id")
    )


def containers_follow_dewar(*, containers: list[Container], status: str, user, message: str) -> None:
    """Pucks (locked by ``dewar_contents_lock``) and their pins follow their dewar: ``status`` is at facility
    (received) or returned (dispatched home). Pucks disposed of stay so, and a puck in a changer stays
    there (the dispatch refuses it before). One history row and audit entry per puck that changes."""
    at = timezone.now()
    moved, entries = [], []
    for container in containers:
        if container.status == status or container.status == ContainerStatus.DISPOSED or container.beamline_id:
            continue
        before = audit.snapshot(container)
        container.status = status
        moved.append(container)
        entries.append(
            audit.entry(
                user=_audit_user(user), action=AuditAction.UPDATE, obj=container, before=before, message=message
            )
        )
    if not moved:
        return
    Container.objects.filter(pk__in=[c.pk for c in moved]).update(status=status)
    ContainerHistory.objects.bulk_create(
        ContainerHistory(container=c, at=at, status=status, message=message[:255], **actor(user)) for c in moved
    )
    audit.record_many(entries)
    _pins_follow(moved, user, at=at, message=message)


def _session_for(container: Container, beamline: Beamline, session: Session | None, at: datetime):
    """The session a puck goes in for: the one given, its dewar's, or its proposal's session running now."""
    if session is not None:
        if session.beamline_id != beamline.pk:
            raise ValidationError({"session": f"That session is on {session.beamline}, not on {beamline}."})
        if session.proposal_id != container.shipment.proposal_id:
            raise ValidationError({"session": "That session belongs to another proposal."})
        return session
    dewar_session = container.dewar.session
    if dewar_session is not None and dewar_session.beamline_id == beamline.pk:
        return dewar_session
    return (
        Session.objects.filter(
            proposal_id=container.shipment.proposal_id, beamline=beamline, start__lte=at, end__gte=at
        )
        .order_by("start")
        .first()
    )


@transaction.atomic
def container_assign(
    *, container: Container, beamline: Beamline, position: int, user, session: Session | None = None
) -> Assignment:
    """Put ``container`` into ``position`` of ``beamline``'s sample changer (see the module docstring).

    Refused: a position the changer does not have (400), a puck type the position does not take, a
    dewar not at the facility, a puck booked for another beamline's session, a puck returned or
    disposed (409). A puck already in the position is taken out first (its own history row).
    """
    from shipping.choices import DEWAR_AT_FACILITY as AT_FACILITY

    beamline = Beamline.objects.select_for_update().get(pk=beamline.pk)
    if position not in beamline.positions:
        raise ValidationError(
            {"position": f"{beamline}'s sample changer has positions 1 to {beamline.puck_positions}."}
        )
    container = (
        Container.objects.select_for_update(of=("self",))
        .select_related("dewar__session__beamline", "shipment", "beamline")
        .get(pk=container.pk)
    )
    label = container.barcode or container.name
    here = beamline.position_code(position)
    if container.beamline_id == beamline.pk and container.changer_position == position:
        return Assignment(container, None, False, f"{label} is already in {here}.")
    if container.status in CONTAINER_GONE:
        raise DomainError(f"{label} is {container.get_status_display().lower()}.", code="container_gone")
    if container.dewar.status not in AT_FACILITY:
        raise DomainError(
            f"{label}'s dewar {container.dewar.barcode} is {container.dewar.get_status_display().lower()}: "
            "receive it at the facility first.",
            code="dewar_not_at_facility",
        )
    accepts = beamline.accepts(position)
    if container.container_type not in accepts:
        kinds = ", ".join(accepts) or "nothing"
        raise DomainError(
            f"{here} takes {kinds}, not a {container.get_container_type_display()}.", code="wrong_container_type"
        )
    dewar_session = container.dewar.session
    if dewar_session is not None and dewar_session.beamline_id != beamline.pk:
        raise DomainError(
            f"{label} is booked for a session on {dewar_session.beamline}, not on {beamline}.",
            code="other_beamline_session",
        )
    at = timezone.now()
    session = _session_for(container, beamline, session, at)

    displaced = (
        Container.objects.select_for_update()
        .filter(beamline=beamline, changer_position=position)
        .exclude(pk=container.pk)
        .first()
    )
    if displaced is not None:
        displaced.beamline = beamline  # the locked row, with its place for the history row
        _take_out(displaced, user, at=at, message=f"Taken out of {here} for {label}")
    before = audit.snapshot(container)
    moved_from = container.beamline.position_code(container.changer_position) if container.beamline_id else ""
    container.beamline = beamline
    container.changer_position = position
    container.status = ContainerStatus.IN_SAMPLE_CHANGER
    container.save(update_fields=["beamline", "changer_position", "status"])
    message = f"Into {here}" + (f" from {moved_from}" if moved_from else "")
    _history(container, user, at=at, message=message, session=session)
    audit.record(user=_audit_user(user), action=AuditAction.UPDATE, obj=container, before=before, message=message)
    if not moved_from:
        # A puck moved within the changer keeps its pins' statuses (one may be mounted).
        _pins_follow([container], user, at=at, message=message)
    text = f"{label} is in {here}." + (f" {displaced.barcode or displaced.name} was taken out." if displaced else "")
    return Assignment(container, displaced, True, text)


def _take_out(container: Container, user, *, at, message: str) -> None:
    before = audit.snapshot(container)
    where = (container.beamline, container.changer_position)
    container.beamline = None
    container.changer_position = None
    container.status = ContainerStatus.UNLOADED
    container.save(update_fields=["beamline", "changer_position", "status"])
    _history(container, user, at=at, message=message, where=where)
    audit.record(user=_audit_user(user), action=AuditAction.UPDATE, obj=container, before=before, message=message)
    _pins_follow([container], user, at=at, message=message)


@transaction.atomic
def container_unassign(*, container: Container, user, message: str = "") -> Container:
    """Take ``container`` out of its sample changer; nothing happens if it is in none."""
    container = Container.objects.select_for_update(of=("self",)).select_related("beamline").get(pk=container.pk)
    if container.beamline_id is None:
        return container
    where = container.beamline.position_code(container.changer_position)
    _take_out(container, user, at=timezone.now(), message=message or f"Taken out of {where}")
    return container


@transaction.atomic
def session_unload(*, session: Session, user) -> list[Container]:
    """Take every puck of ``session``'s proposal out of the session's beamline's changer, in one go.

    Refused once the session is over: what is in the changer then is no longer the session's (its page
    shows what was loaded during it); single pucks are taken out from the changer page."""
    if session.end < timezone.now():
        raise DomainError(
            f"The session ended on {timezone.localtime(session.end):%Y-%m-%d %H:%M}: it has nothing to unload. "
            "Take pucks out from the sample changer's page.",
            code="session_over",
        )
    containers = list(
        Container.objects.select_for_update(of=("self",))
        .select_related("beamline")
        .filter(beamline_id=session.beamline_id, shipment__proposal_id=session.proposal_id)
        .order_by("changer_position")
    )
    at = timezone.now()
    for container in containers:
        where = container.beamline.position_code(container.changer_position)
        _take_out(container, user, at=at, message=f"Taken out of {where}: session unloaded")
    return containers


# Robot actions and sample statuses, as beamline control reports them.


def _choice(value, choices, field: str, *, blank: bool = False) -> str:
    text = str(value or "").strip().upper()
    if not text and blank:
        return ""
    if text not in choices.values:
        raise ValidationError({field: f"Use one of: {', '.join(choices.values)}."})
    return text


@transaction.atomic
def robot_action_create(
    *,
    by,
    action_type: str,
    beamline: Beamline | None = None,
    session: Session | None = None,
    sample: Sample | None = None,
    sample_reference: int | None = None,
    status: str = "",
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    container_location: str = "",
    dewar_location: str = "",
    sample_barcode: str = "",
    message: str = "",
    snapshot_before: str = "",
    snapshot_after: str = "",
) -> RobotAction:
    """Store what the robot did. The beamline is the token's, else the session's; an unknown sample (-1,
    null, an id nobody has) is stored as sent, unlinked: beamline control must never lose a record."""
    token_beamline = beamline_of(by)
    beamline_id = token_beamline or (beamline.pk if beamline else None) or (session.beamline_id if session else None)
    if beamline_id is None:
        raise ValidationError({"sessionId": "Give the session (or use a beamline's API token)."})
    if session is not None and session.beamline_id != beamline_id:
        raise ValidationError({"sessionId": "That session is on another beamline."})
    started_at = started_at or timezone.now()
    if ended_at is not None and ended_at < started_at:
        raise ValidationError({"endTimestamp": "The action cannot end before it starts."})
    return RobotAction.objects.create(
        beamline_id=beamline_id,
        session=session,
        sample=sample,
        sample_reference=sample_reference,
        action_type=_choice(action_type, RobotActionType, "actionType"),
        status=_choice(status, RobotActionStatus, "status", blank=True),
        started_at=started_at,
        ended_at=ended_at,
        container_location=str(container_location or "")[:20],
        dewar_location=str(dewar_location or "")[:20],
        sample_barcode=str(sample_barcode or "")[:40],
        message=str(message or ""),
        snapshot_before=str(snapshot_before or "")[:255],
        snapshot_after=str(snapshot_after or "")[:255],
        **actor(by),
    )


@transaction.atomic
def robot_action_complete(
    *, action: RobotAction, by, status: str, ended_at: datetime | None = None, message: str | None = None
) -> RobotAction:
    """Complete an action: its end time (now by default), final status and message."""
    action = RobotAction.objects.select_for_update().get(pk=action.pk)
    action.status = _choice(status, RobotActionStatus, "status")
    action.ended_at = ended_at or timezone.now()
    if action.ended_at < action.started_at:
        raise ValidationError({"endTimestamp": "The action cannot end before it starts."})
    fields = ["status", "ended_at"]
    if message is not None:
        action.message = str(message)
        fields.append("message")
    action.save(update_fields=fields)
    return action


def parse_sample_status(text: str) -> str:
    """ISPyB's blSampleStatus ("LOADED", "ERROR - sample", "centred") → our status; ValidationError else."""
    word = str(text or "").strip().split(" ")[0].split("-")[0].strip().lower()
    aliases = {"centered": SampleStatus.CENTRED, "centring": SampleStatus.CENTRED, "mounted": SampleStatus.LOADED}
    status = aliases.get(word, word)
    allowed = [s.value for s in REPORTED_SAMPLE_STATUSES]
    if status not in allowed:
        raise ValidationError({"blSampleStatus": f"Use one of: {', '.join(s.upper() for s in allowed)}."})
    return status


@transaction.atomic
def sample_status_set(
    *, sample: Sample, by, status: str | None = None, detail: str = "", centring_position=None
) -> SampleStatusChange | None:
    """Set the sample's status (and/or its last centring position), keeping the change as history."""
    if status is None and centring_position is None:
        raise ValidationError({"blSampleStatus": "Give a status or a centring position."})
    sample = Sample.objects.select_for_update().get(pk=sample.pk)
    previous = sample.status
    fields = []
    if status is not None:
        sample.status = status
        fields.append("status")
    if centring_position is not None:
        sample.last_centring_position = centring_position
        fields.append("last_centring_position")
    sample.save(update_fields=fields)
    return SampleStatusChange.objects.create(
        sample=sample,
        at=timezone.now(),
        status=sample.status,
        previous=previous,
        detail=str(detail or "")[:255],
        centring_position=centring_position,
        **actor(by),
    )
