"""Emails about a dewar's journey: who is told, what the message says, and the log of what was sent.

Three transport events are told to the users: the dewar's arrival at the facility, its dispatch home
(courier, tracking number and link) and an incident. The people told are the shipment's lab contacts
(sending and return cards) and the proposal's members; the session's local contact is in copy.

The transport services call ``Notification.objects.enqueue`` inside their transaction: it writes a queued
``Notification`` (the outbox, ``shipping.outbox``) and, once the transaction has committed, hands it to the
Celery task ``shipping.tasks.notify_dewar_event``, which builds the message here (``build_message``) and
sends it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urljoin

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from .choices import INCIDENT_KINDS, DewarEventKind, NotificationReason
from .models import DewarEvent, Notification
from .tracking import tracking_url

log = logging.getLogger(__name__)


@dataclass
class Recipients:
    """Who gets the email: ``to`` the users, ``cc`` the facility's local contact."""

    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.to or self.cc)


def _unique(addresses) -> list[str]:
    """The addresses in their first order, without blanks and without repeats (compared without case)."""
    seen, result = set(), []
    for address in addresses:
        address = (address or "").strip()
        if address and address.casefold() not in seen:
            seen.add(address.casefold())
            result.append(address)
    return result


def recipients_for(dewar) -> Recipients:
    """The shipment's lab-contact cards and the proposal's members; the local contact in copy.

    The local contact is the session's, else the one set on the dewar. When nobody but the local contact
    has an address, the mail goes to them: someone at the facility must know the users were not told.
    """
    shipment = dewar.shipment
    cards = [shipment.sending_contact, shipment.return_contact]
    members = shipment.proposal.memberships.select_related("user").order_by("id")
    to = _unique([card.email for card in cards if card is not None] + [m.user.email for m in members])
    local_contact = (dewar.session.local_contact if dewar.session_id else None) or dewar.local_contact
    cc = _unique([local_contact.email] if local_contact is not None else [])
    cc = [address for address in cc if address.casefold() not in {a.casefold() for a in to}]
    if not to:
        to, cc = cc, []
    return Recipients(to=to, cc=cc)


def incident_label(event: DewarEvent) -> str:
    """The kind of incident ("damaged"), read from the note the incident service writes ("Damaged: ...")."""
    for label in INCIDENT_KINDS.values():
        if event.note.startswith(label):
            return label.lower()
    return "reported"


def dewar_url(dewar) -> str:
    """The absolute address of the dewar's page: emails have no request to build it from."""
    return urljoin(settings.SITE_URL + "/", reverse("shipping:dewar", args=[dewar.pk]).lstrip("/"))


def subject_for(event: DewarEvent, reason: str) -> str:
    """E.g. "[Demo Synchrotron] Dewar DS000001 (Kinases-Nov, mx2345) arrived at the facility"."""
    dewar = event.dewar
    what = {
        NotificationReason.ARRIVAL: "arrived at the facility",
        NotificationReason.DISPATCH: f"dispatched to you — {event.courier} {event.tracking_number}".rstrip(),
        NotificationReason.INCIDENT: f"incident: {incident_label(event)}",
    }[reason]
    shipment = dewar.shipment
    return (
        f"[{settings.FACILITY_NAME}] Dewar {dewar.barcode or dewar.name} ({shipment.name}, {shipment.proposal}) {what}"
    )


def context_for(event: DewarEvent, reason: str) -> dict:
    """What the templates show: the dewar, its shipment and proposal, where it is, how it travels."""
    dewar = event.dewar
    shipment = dewar.shipment
    session = dewar.session
    return {
        "facility_name": settings.FACILITY_NAME,
        "reason": reason,
        "event": event,
        "dewar": dewar,
        "shipment": shipment,
        "proposal": shipment.proposal,
        "session": session,
        "location": event.location,
        "courier": event.courier,
        "tracking_number": event.tracking_number,
        "tracking_link": tracking_url(event.courier, event.tracking_number),
        "incident": incident_label(event) if event.kind == DewarEventKind.INCIDENT else "",
        "dewar_url": dewar_url(dewar),
    }


def build_message(event: DewarEvent, reason: str, recipients: Recipients | None = None) -> EmailMultiAlternatives:
    """The email for ``event``: subject, text body and HTML alternative from ``templates/email/dewar_<reason>.*``."""
    if reason not in NotificationReason.values:
        raise ValueError(f"Unknown notification reason {reason!r}.")
    recipients = recipients or recipients_for(event.dewar)
    context = context_for(event, reason)
    message = EmailMultiAlternatives(
        subject=subject_for(event, reason),
        body=render_to_string(f"email/dewar_{reason}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients.to,
        cc=recipients.cc,
    )
    message.attach_alternative(render_to_string(f"email/dewar_{reason}.html", context), "text/html")
    return message


def load_event(event_id: int) -> DewarEvent:
    """The event with everything the message shows, in one query."""
    return DewarEvent.objects.select_related(
        "location",
        "dewar__shipment__proposal",
        "dewar__shipment__sending_contact",
        "dewar__shipment__return_contact",
        "dewar__session__local_contact",
        "dewar__session__beamline",
        "dewar__local_contact",
    ).get(pk=event_id)


def dewar_message(notification: Notification) -> EmailMultiAlternatives:
    """The email of a transport notification (the builder ``shipping.tasks.notify_dewar_event`` delivers)."""
    event = load_event(notification.event_id)
    return build_message(event, notification.reason)
