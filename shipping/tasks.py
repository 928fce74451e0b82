"""Celery tasks of the shipping app: they take primary keys and are sent after the transaction commits."""

from celery import shared_task

from lims.after_commit import MAX_RETRIES

from .notifications import dewar_message
from .outbox import deliver, notifications_resend_stale


@shared_task(bind=True, max_retries=MAX_RETRIES)
def notify_dewar_event(self, notification_id: int) -> str:
    """Tell the people of a shipment about a transport event (the notification's reason: arrival,
    dispatch, incident). Claimed, sent, retried and recorded by ``shipping.outbox.deliver``; returns the
    notification's status."""
    return deliver(self, notification_id, dewar_message)


@shared_task
def resend_stale_notifications() -> int:
    """Celery beat, every minute: hand queued notifications that no worker took to their task again."""
    return notifications_resend_stale()
