"""Celery task of the mail-in reports: issue a new version and email the client, through the outbox."""

from celery import shared_task

from lims import outbox
from lims.after_commit import MAX_RETRIES
from samples.models import ShipmentReport
from shipping.choices import NotificationStatus
from shipping.models import Notification

from .delivery import report_message


@shared_task(bind=True, max_retries=MAX_RETRIES)
def deliver_report(self, notification_id: int) -> str:
    """Issue a new version of the shipment's report and email its contacts a link (the PDF when small).

    Claimed, sent, retried and recorded by ``lims.outbox.deliver``, like the transport emails; a retry
    or a re-send sends the version already issued. ``emailed_to`` records who got it. Returns the
    notification's status.
    """
    status = outbox.deliver(
        self, Notification.objects.select_related("shipment", "requested_by"), notification_id, report_message
    )
    if status == NotificationStatus.SENT:
        notification = Notification.objects.get(pk=notification_id)
        ShipmentReport.objects.filter(notification=notification).update(
            emailed_to="\n".join(notification.recipients + notification.cc)
        )
    return status
