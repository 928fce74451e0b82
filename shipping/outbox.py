"""The outbox of every email to users: a ``Notification`` row first (``Notification.objects.enqueue``, in the
caller's transaction), a Celery task second. The mechanics (claim, send, retry, re-send) are the core's
(``lims.outbox``); here is what this outbox's rows are and what the staff dashboard counts.

    deliver(task, notification_id, build)       the body of every sending task
    notifications_resend_stale(*, older_than=)  run by Celery beat every minute
    failed_count() / stuck_count()              what the staff dashboard shows
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.mail import EmailMessage

from lims import outbox
from lims.choices import OutboxStatus

from .models import Notification


def rows():
    """The notifications, with what their messages read."""
    return Notification.objects.select_related("event", "shipment", "requested_by")


def claim(notification_id: int) -> bool:
    return outbox.claim(Notification.objects.all(), notification_id)


def deliver(task, notification_id: int, build: Callable[[Notification], EmailMessage]) -> str:
    return outbox.deliver(task, rows(), notification_id, build)


def notifications_resend_stale(*, older_than=outbox.RESEND_AFTER) -> int:
    return outbox.resend_stale(Notification.objects.all(), Notification.hand_over_after_commit, older_than=older_than)


def failed_count() -> int:
    """How many notifications failed for good: shown to staff on the dashboard."""
    return Notification.objects.filter(status=OutboxStatus.FAILED).count()


def stuck_count() -> int:
    """How many notifications are stuck: shown to staff on the dashboard beside the failed ones."""
    return Notification.objects.filter(outbox.stuck_filter()).count()
