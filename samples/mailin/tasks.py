"""Celery task of the mail-in reports: render, store a new version, email the client (retried like shipping's)."""

import logging
import random

from celery import shared_task
from django.contrib.auth import get_user_model

from samples.models import ShipmentReport
from shipping.models import Shipment
from shipping.tasks import MAIL_ERRORS, MAX_RETRIES

from .delivery import build_message, recipients_for, report_issue

log = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def deliver_report(self, shipment_id: int, user_id: int | None, note: str = "", report_id: int | None = None) -> str:
    """Issue a new version of the shipment's report and email its contacts a link (the PDF when small).

    A retry (the mail server was down) sends the version already issued rather than a new one: its id
    travels in the retried call. ``emailed_to`` records who got it. Returns "sent", "nobody" or "failed".
    """
    try:
        shipment = Shipment.objects.select_related("proposal", "sending_contact", "return_contact").get(pk=shipment_id)
    except Shipment.DoesNotExist:
        log.warning("mail-in report: shipment %s no longer exists", shipment_id)
        return "missing"
    if report_id is None:
        user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
        report = report_issue(shipment=shipment, user=user, note=note)
    else:
        report = ShipmentReport.objects.select_related("shipment__proposal").get(pk=report_id)
    recipients = recipients_for(shipment)
    if not recipients:
        log.warning("mail-in report v%s of %s: nobody to email", report.version, shipment)
        return "nobody"
    message = build_message(report, recipients)
    try:
        message.send()
    except MAIL_ERRORS as exc:
        final = self.request.is_eager or self.request.retries >= self.max_retries
        if not final:
            # Like shipping's notifications: 60 s, 2 min, 4 min... at most an hour, with jitter. The retry
            # carries the version already issued, so that a mail outage does not issue several.
            countdown = min(3600, 60 * 2**self.request.retries) + random.randint(0, 30)
            raise self.retry(
                exc=exc, args=(shipment_id, user_id, note), kwargs={"report_id": report.pk}, countdown=countdown
            ) from exc
        log.error("mail-in report v%s of %s: email failed for good: %s", report.version, shipment, exc)
        return "failed"
    ShipmentReport.objects.filter(pk=report.pk).update(emailed_to="\n".join(recipients))
    return "sent"
