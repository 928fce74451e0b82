"""The outbox: every email to users is a ``Notification`` row first, and a Celery task second.

    notification_enqueue(*, reason, event=None, shipment=None, ...)   in the caller's transaction
    deliver(task, notification_id, build)                             the body of every sending task
    notifications_resend_stale(*, older_than=...)                     run by Celery beat every minute
    failed_count() / stuck_count()                                    what the staff dashboard shows

The row commits with what caused it (a scan, a completed mail-in shipment); the task is handed to the
broker after commit. When the broker is down then, the hand-over fails (logged, never raised into the
scan) and the row stays queued: the periodic re-send hands it over again once it is a minute overdue.

Exactly once: the task claims its row (queued -> sending, one UPDATE with the status in its WHERE) before
it sends, so that of a task arriving late and its re-send, or two re-sends, only one sends; the others
find the row claimed and stop. A worker lost between the claim and the send leaves the row "sending":
it is not sent again blindly (the mail may have gone), it shows as stuck on the dashboard for staff.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F, Q
from django.utils import timezone

from lims import after_commit

from .choices import NotificationReason, NotificationStatus
from .models import Notification

log = logging.getLogger(__name__)

# What a mail server that is down, slow or refusing raises: worth trying again later. ConnectionError and
# socket timeouts are OSErrors.
MAIL_ERRORS = (smtplib.SMTPException, OSError)
MAX_RETRIES = after_commit.MAX_RETRIES
# A queued row this long past its due time was never handed to a worker (or its task was lost).
RESEND_AFTER = timedelta(minutes=1)
RESEND_BATCH = 500

# The task that delivers each kind of notification; it takes the notification's id.
TASKS = {
    NotificationReason.ARRIVAL: "shipping.tasks.notify_dewar_event",
    NotificationReason.DISPATCH: "shipping.tasks.notify_dewar_event",
    NotificationReason.INCIDENT: "shipping.tasks.notify_dewar_event",
    NotificationReason.REPORT: "samples.mailin.tasks.deliver_report",
}


def dispatch(notification_id: int, reason: str) -> None:
    """Hand the notification to its task (to the broker, or run in-process when there is none)."""
    after_commit.send(TASKS[reason], notification_id)


def dispatch_after_commit(notification_id: int, reason: str) -> None:
    """``dispatch`` once the transaction commits (``lims.after_commit``): a broker that is down then is logged,
    never raised; the row stays queued for the periodic re-send."""
    after_commit.on_commit(dispatch, notification_id, reason)


def notification_enqueue(*, reason: str, event=None, shipment=None, note: str = "", requested_by=None) -> Notification:
    """Record a queued notification and hand it to its task once the transaction has committed."""
    notification = Notification.objects.create(
        reason=reason,
        event=event,
        shipment=shipment,
        note=note,
        requested_by=requested_by if getattr(requested_by, "pk", None) else None,
    )
    dispatch_after_commit(notification.pk, reason)
    return notification


retry_countdown = after_commit.retry_countdown  # the one retry policy of work sent after commit


def _update(notification_id: int, **fields) -> None:
    Notification.objects.filter(pk=notification_id).update(**fields)


def claim(notification_id: int) -> bool:
    """Take the queued row for this attempt: True for one caller only, however many tasks arrive."""
    return bool(
        Notification.objects.filter(pk=notification_id, status=NotificationStatus.QUEUED).update(
            status=NotificationStatus.SENDING, attempts=F("attempts") + 1, due_at=timezone.now()
        )
    )


def deliver(task, notification_id: int, build: Callable[[Notification], EmailMessage]) -> str:
    """Claim the notification, build its message, send it and record the outcome; returns the status.

    ``build`` makes the email (it may do work first: the report task issues the report's version). A mail
    error is retried by a worker after ``retry_countdown``; the last attempt, and the only one when the
    task runs in-process (no broker: the scan's request is waiting), marks the notification failed and
    returns: what caused it has committed and must not fail for a mail server. A task that finds the row
    not queued (sent, failed, or another task sending it) returns its status and sends nothing.
    """
    if not claim(notification_id):
        status = Notification.objects.filter(pk=notification_id).values_list("status", flat=True).first()
        return status or "missing"
    notification = Notification.objects.select_related("event", "shipment", "requested_by").get(pk=notification_id)
    try:
        message = build(notification)
    except Exception as exc:
        # A fault of ours, not the mail server's: recorded for staff and left loud.
        _update(notification_id, status=NotificationStatus.FAILED, last_error=f"{type(exc).__name__}: {exc}")
        raise
    _update(notification_id, recipients=message.to, cc=message.cc, subject=message.subject[:255])
    if not (message.to or message.cc):
        _update(
            notification_id,
            status=NotificationStatus.FAILED,
            last_error="Nobody to tell: no e-mail address on the lab contacts, the members or the local contact.",
        )
        return NotificationStatus.FAILED
    try:
        message.send()
    except Exception as exc:
        retryable = isinstance(exc, MAIL_ERRORS)
        final = not retryable or after_commit.is_final_attempt(task)
        error = f"{type(exc).__name__}: {exc}"
        if final:
            _update(notification_id, status=NotificationStatus.FAILED, last_error=error)
            if not retryable:
                raise
            log.error("notification %s (%s) failed for good: %s", notification_id, notification.reason, exc)
            return NotificationStatus.FAILED
        countdown = retry_countdown(task.request.retries)
        # Queued again, due when the retry is: the re-send leaves it to the retry unless that is lost too.
        _update(
            notification_id,
            status=NotificationStatus.QUEUED,
            last_error=error,
            due_at=timezone.now() + timedelta(seconds=countdown),
        )
        raise task.retry(exc=exc, countdown=countdown) from exc
    _update(notification_id, status=NotificationStatus.SENT, sent_at=timezone.now(), last_error="")
    return NotificationStatus.SENT


def notifications_resend_stale(*, older_than: timedelta = RESEND_AFTER) -> int:
    """Hand every queued notification overdue by ``older_than`` to its task again, once; returns how many.

    Run every minute by Celery beat (``CELERY_BEAT_SCHEDULE``). Each row is taken by one UPDATE that
    checks the due time it was read with and moves it to now: of two runs at once (two beats, a slow run
    overlapping the next) only one takes a row, on PostgreSQL (the second UPDATE waits for the first's row
    lock, then finds the due time changed) as on SQLite (writes one at a time). Each UPDATE commits on its
    own, so that a row taken is handed over at once and the other run is not kept waiting on a long lock.
    The task claims the row again before sending: the original task arriving late and the re-sent one do
    not both send.
    """
    now = timezone.now()
    stale = list(
        Notification.objects.filter(status=NotificationStatus.QUEUED, due_at__lt=now - older_than)
        .order_by("due_at", "id")
        .values_list("pk", "due_at", "reason")[:RESEND_BATCH]
    )
    handed = 0
    for pk, due_at, reason in stale:
        taken = Notification.objects.filter(pk=pk, status=NotificationStatus.QUEUED, due_at=due_at).update(due_at=now)
        if taken:
            dispatch_after_commit(pk, reason)
            handed += 1
    if handed:
        log.warning("re-sent %s queued notification(s) that no worker had taken", handed)
    return handed


def failed_count() -> int:
    """How many notifications failed for good: shown to staff on the dashboard."""
    return Notification.objects.filter(status=NotificationStatus.FAILED).count()


def stuck_filter(now=None) -> Q:
    """Queued or being sent, and overdue by ``NOTIFICATION_STUCK_MINUTES``: the re-send has not helped
    (broker or workers down for long), or a worker was lost while sending."""
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.NOTIFICATION_STUCK_MINUTES)
    return Q(status__in=[NotificationStatus.QUEUED, NotificationStatus.SENDING], due_at__lt=cutoff)


def stuck_count() -> int:
    """How many notifications are stuck: shown to staff on the dashboard beside the failed ones."""
    return Notification.objects.filter(stuck_filter()).count()
