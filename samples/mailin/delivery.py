"""Completing a mail-in shipment's work and delivering its result report.

    shipment_work_complete(*, shipment, user)       operator: the work is done; the report goes out after commit
    report_issue(*, shipment, user, note="")        render and store a new version (earlier ones are kept)
    report_deliver_after_commit(shipment, user, note)  a queued notification; its task, once committed

The report's email goes through the outbox of every email to users (``Notification``, ``lims.outbox``): a
``Notification`` row, then the task (``samples.mailin.tasks.deliver_report``), which issues the version and
emails the shipment's contacts (the sending and return lab-contact cards and the proposal's members) a link
to it, with the PDF attached when it is small. A change of results after delivery: the operator re-issues (a new version, with a note).
"""

from __future__ import annotations

from urllib.parse import urljoin

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from lims import access
from lims.errors import DomainError
from samples.models import ShipmentReport
from shipping.choices import NotificationReason, ShipmentStatus
from shipping.models import Notification, Shipment

from .report import render_report

ATTACH_LIMIT = 2 * 1024 * 1024  # a PDF under 2 MB goes with the email; a larger one is a link only
# A shipment's work can be completed once its dewars are with the facility (and still, when on its way back).
COMPLETABLE = (ShipmentStatus.AT_FACILITY, ShipmentStatus.PROCESSING, ShipmentStatus.RETURNED, ShipmentStatus.CLOSED)


def _check(shipment: Shipment, user) -> None:
    if not access.may_operate_mailin(user):
        raise DomainError("Only mail-in operators and admins deliver mail-in reports.", code="forbidden")
    if not shipment.proposal.mail_in:
        raise DomainError(f"{shipment.name} is not a mail-in shipment: it has no result report.", code="not_mailin")


@transaction.atomic
def shipment_work_complete(*, shipment: Shipment, user) -> Shipment:
    """Mark the work on a mail-in shipment complete; once committed, the report is rendered and delivered."""
    shipment = Shipment.objects.select_for_update().select_related("proposal").get(pk=shipment.pk)
    _check(shipment, user)
    if shipment.status not in COMPLETABLE:
        raise DomainError(
            f"{shipment.name} is {shipment.get_status_display().lower()}: its samples are not at the facility.",
            code="not_at_facility",
        )
    if shipment.mailin_completed_at is not None:
        raise DomainError(
            f"The work on {shipment.name} was completed on {timezone.localtime(shipment.mailin_completed_at):%Y-%m-%d %H:%M}"
            ": issue a new version of the report instead.",
            code="already_complete",
        )
    shipment.mailin_completed_at = timezone.now()
    shipment.save(update_fields=["mailin_completed_at"])
    report_deliver_after_commit(shipment, user, "")
    return shipment


def report_reissue(*, shipment: Shipment, user, note: str) -> None:
    """A change of results after delivery: a new version, with the reason, delivered once committed."""
    shipment = Shipment.objects.select_related("proposal").get(pk=shipment.pk)
    _check(shipment, user)
    if shipment.mailin_completed_at is None:
        raise DomainError("Complete the work on the shipment first: that delivers version 1.", code="not_complete")
    note = (note or "").strip()
    if not note:
        raise DomainError("Say what changed: the client reads it with the new version.", code="note_required")
    report_deliver_after_commit(shipment, user, note[:255])


def report_deliver_after_commit(shipment: Shipment, user, note: str) -> None:
    """Queue the report's email in the outbox (``Notification.objects.enqueue``), like every email to users: once
    committed, ``deliver_report`` issues the version and sends it; a broker down then loses nothing."""
    Notification.objects.enqueue(reason=NotificationReason.REPORT, shipment=shipment, note=note, requested_by=user)


def report_message(notification: Notification) -> EmailMultiAlternatives:
    """The email of a report notification: issues the version the first time, the same one on a retry or
    a re-send (the version links to its notification), so that an outage does not issue several."""
    report = ShipmentReport.objects.filter(notification=notification).first()
    if report is None:
        report = report_issue(
            shipment=notification.shipment,
            user=notification.requested_by,
            note=notification.note,
            notification=notification,
        )
    shipment = Shipment.objects.select_related("proposal", "sending_contact", "return_contact").get(
        pk=notification.shipment_id
    )
    report.shipment = shipment
    return build_message(report, recipients_for(shipment))


def report_issue(
    *, shipment: Shipment, user, note: str = "", notification: Notification | None = None
) -> ShipmentReport:
    """Render the report now and store it as the shipment's next version; earlier versions are kept."""
    pdf = render_report(shipment)
    for _ in range(3):  # two issues at once: the unique (shipment, version) refuses one, which tries again
        try:
            with transaction.atomic():
                last = ShipmentReport.objects.filter(shipment=shipment).aggregate(v=Max("version"))["v"] or 0
                report = ShipmentReport(
                    shipment_id=shipment.pk,
                    version=last + 1,
                    size=len(pdf),
                    created_by=user if getattr(user, "pk", None) else None,
                    note=note or "",
                    notification=notification,
                )
                name = f"{shipment.proposal.name}_{shipment.name}_report_v{last + 1}.pdf".replace(" ", "_")
                report.pdf.save(name, ContentFile(pdf), save=False)
                report.save()
                return report
        except IntegrityError:
            continue
    raise DomainError("Another version of this report was being issued: try again.", code="conflict")


def recipients_for(shipment: Shipment) -> list[str]:
    """The sending and return lab contacts' addresses and the proposal's members', each once."""
    cards = [shipment.sending_contact, shipment.return_contact]
    members = shipment.proposal.memberships.select_related("user").order_by("id")
    seen, result = set(), []
    for address in [c.email for c in cards if c is not None] + [m.user.email for m in members]:
        address = (address or "").strip()
        if address and address.casefold() not in seen:
            seen.add(address.casefold())
            result.append(address)
    return result


def download_url(report: ShipmentReport) -> str:
    return urljoin(settings.SITE_URL + "/", reverse("mailin:download", args=[report.pk]).lstrip("/"))


def build_message(report: ShipmentReport, recipients: list[str]) -> EmailMultiAlternatives:
    shipment = report.shipment
    context = {
        "facility_name": settings.FACILITY_NAME,
        "shipment": shipment,
        "proposal": shipment.proposal,
        "report": report,
        "url": download_url(report),
        "attached": report.size < ATTACH_LIMIT,
    }
    message = EmailMultiAlternatives(
        subject=f"[{settings.FACILITY_NAME}] Mail-in report v{report.version}: {shipment.name} ({shipment.proposal})",
        body=render_to_string("email/report_ready.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(render_to_string("email/report_ready.html", context), "text/html")
    if context["attached"]:
        report.pdf.open("rb")
        try:
            message.attach(report.pdf.name.rsplit("/", 1)[-1], report.pdf.read(), "application/pdf")
        finally:
            report.pdf.close()
    return message
