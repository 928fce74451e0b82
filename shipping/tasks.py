"""Celery tasks of the shipping app: they take primary keys and are sent after the transaction commits."""

import logging
import smtplib

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from .choices import NotificationStatus
from .models import DewarEvent, Notification
from .notifications import build_message, load_event, recipients_for

log = logging.getLogger(__name__)

# What a mail server that is down, slow or refusing raises: worth trying again later. ConnectionError and
# socket timeouts are OSErrors.
MAIL_ERRORS = (smtplib.SMTPException, OSError)
MAX_RETRIES = 5


def _update(notification: Notification, **fields) -> None:
    Notification.objects.filter(pk=notification.pk).update(**fields)


@shared_task(
    bind=True,
    autoretry_for=MAIL_ERRORS,
    # 60 s, 2 min, 4 min... at most an hour, with jitter so that a mail server coming back is not hit by
    # every waiting notification at once: five retries cover an outage of about half an hour.
    retry_backoff=60,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def notify_dewar_event(self, event_id: int, reason: str) -> str:
    """Tell the people of a shipment about a transport event ("arrival", "dispatch", "incident").

    Every attempt is written on the event's ``Notification``: recipients, attempts, the last error and,
    in the end, "sent" or "failed". A mail error is retried with exponential backoff by a worker; the last
    attempt, and the only one when the task runs in-process (no broker: the scan's request is waiting),
    marks the notification failed and returns: the scan has committed and must not fail for a mail server.
    Returns the notification's status.
    """
    try:
        event = load_event(event_id)
    except DewarEvent.DoesNotExist:
        log.warning("notification %s: dewar event %s no longer exists", reason, event_id)
        return "missing"
    notification, _ = Notification.objects.get_or_create(event=event, reason=reason)
    if notification.status == NotificationStatus.SENT:
        # Delivered twice (a worker lost after sending, acks_late): the users have had their email.
        return notification.status
    recipients = recipients_for(event.dewar)
    message = build_message(event, reason, recipients)
    _update(
        notification,
        recipients=recipients.to,
        cc=recipients.cc,
        subject=message.subject,
        attempts=F("attempts") + 1,
    )
    if not recipients:
        _update(
            notification,
            status=NotificationStatus.FAILED,
            last_error="Nobody to tell: no e-mail address on the lab contacts, the members or the local contact.",
        )
        return NotificationStatus.FAILED
    try:
        message.send()
    except Exception as exc:
        retryable = isinstance(exc, MAIL_ERRORS)
        final = not retryable or self.request.is_eager or self.request.retries >= self.max_retries
        _update(
            notification,
            status=NotificationStatus.FAILED if final else NotificationStatus.QUEUED,
            last_error=f"{type(exc).__name__}: {exc}",
        )
        if not final:
            raise  # autoretry_for schedules the next attempt
        if not retryable:
            raise  # not the mail server: a fault of ours, recorded and left loud
        log.error("notification %s of dewar event %s failed for good: %s", reason, event_id, exc)
        return NotificationStatus.FAILED
    _update(notification, status=NotificationStatus.SENT, sent_at=timezone.now(), last_error="")
    return NotificationStatus.SENT
