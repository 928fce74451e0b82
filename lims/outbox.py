"""An outbox of emails: each email is a row first and a Celery task second; the row says what became of it.

    OutboxEmail                                   the abstract row: status, attempts, due time, recipients
    claim(rows, pk)                               queued -> sending, for one caller only
    deliver(task, rows, pk, build)                the body of every sending task
    resend_stale(rows, hand_over, older_than=)    run by Celery beat: rows no worker took, handed over again
    stuck_filter(now=None)                        queued or sending, and long overdue: shown to staff

The row commits with what caused it (a scan, a completed mail-in shipment); the task is handed to the broker
after commit (``lims.after_commit``). When the broker is down then, the hand-over fails (logged, never raised
into the request) and the row stays queued: the periodic re-send hands it over again once it is overdue.

Exactly once: the task claims its row (queued -> sending, one UPDATE with the status in its WHERE) before it
sends, so that of a task arriving late and its re-send, or two re-sends, only one sends; the others find the
row claimed and stop. A worker lost between the claim and the send leaves the row "sending": it is not sent
again blindly (the mail may have gone), it shows as stuck for staff.

``rows`` is the concrete model's queryset (``shipping.models.Notification``, with what its messages read
selected): the core knows the mechanics, the app knows what the email is about.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from . import after_commit
from .choices import OutboxStatus

log = logging.getLogger(__name__)

# What a mail server that is down, slow or refusing raises: worth trying again later. ConnectionError and
# socket timeouts are OSErrors.
MAIL_ERRORS = (smtplib.SMTPException, OSError)
# A queued row this long past its due time was never handed to a worker (or its task was lost).
RESEND_AFTER = timedelta(minutes=1)
RESEND_BATCH = 500


class OutboxEmail(models.Model):
    """One email and what became of it. The concrete model adds what the email is about."""

    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED)
    recipients = models.JSONField(default=list, blank=True, help_text="To addresses.")
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(
        default=timezone.now,
        help_text="When a worker should have it: handed over, claimed, or its next retry. "
        "Queued a minute past this, it is handed over again.",
    )
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


def claim(rows: models.QuerySet, pk: int) -> bool:
    """Take the queued row for this attempt: True for one caller only, however many tasks arrive."""
    return bool(
        rows.filter(pk=pk, status=OutboxStatus.QUEUED).update(
            status=OutboxStatus.SENDING, attempts=F("attempts") + 1, due_at=timezone.now()
        )
    )


def deliver(task, rows: models.QuerySet, pk: int, build: Callable[[OutboxEmail], EmailMessage]) -> str:
    """Claim the row, build its message, send it and record the outcome; returns the status.

    ``build`` makes the email (it may do work first: the report task issues the report's version). A mail
    error is retried by a worker after ``after_commit.retry_countdown``; the last attempt, and the only one
    when the task runs in-process (no broker: the request is waiting), marks the row failed and returns: what
    caused it has committed and must not fail for a mail server. A task that finds the row not queued (sent,
    failed, or another task sending it) returns its status and sends nothing.
    """

    def update(**fields) -> None:
        rows.filter(pk=pk).update(**fields)

    if not claim(rows, pk):
        return rows.filter(pk=pk).values_list("status", flat=True).first() or "missing"
    row = rows.get(pk=pk)
    try:
        message = build(row)
    except Exception as exc:
        # A fault of ours, not the mail server's: recorded for staff and left loud.
        update(status=OutboxStatus.FAILED, last_error=f"{type(exc).__name__}: {exc}")
        raise
    update(recipients=message.to, cc=message.cc, subject=message.subject[:255])
    if not (message.to or message.cc):
        update(
            status=OutboxStatus.FAILED,
            last_error="Nobody to tell: no e-mail address on the lab contacts, the members or the local contact.",
        )
        return OutboxStatus.FAILED
    try:
        message.send()
    except Exception as exc:
        retryable = isinstance(exc, MAIL_ERRORS)
        final = not retryable or after_commit.is_final_attempt(task)
        error = f"{type(exc).__name__}: {exc}"
        if final:
            update(status=OutboxStatus.FAILED, last_error=error)
            if not retryable:
                raise
            log.error("%s %s failed for good: %s", rows.model._meta.verbose_name, pk, exc)
            return OutboxStatus.FAILED
        countdown = after_commit.retry_countdown(task.request.retries)
        # Queued again, due when the retry is: the re-send leaves it to the retry unless that is lost too.
        update(status=OutboxStatus.QUEUED, last_error=error, due_at=timezone.now() + timedelta(seconds=countdown))
        raise task.retry(exc=exc, countdown=countdown) from exc
    update(status=OutboxStatus.SENT, sent_at=timezone.now(), last_error="")
    return OutboxStatus.SENT


def resend_stale(rows: models.QuerySet, hand_over: Callable[[OutboxEmail], None], *, older_than=RESEND_AFTER) -> int:
    """Hand every queued row overdue by ``older_than`` to its task again, once; returns how many.

    Run every minute by Celery beat. Each row is taken by one UPDATE that checks the due time it was read
    with and moves it to now: of two runs at once (two beats, a slow run overlapping the next) only one takes
    a row, on PostgreSQL (the second UPDATE waits for the first's row lock, then finds the due time changed)
    as on SQLite (writes one at a time). Each UPDATE commits on its own, so that a row taken is handed over at
    once and the other run is not kept waiting on a long lock. The task claims the row again before sending:
    the original task arriving late and the re-sent one do not both send.
    """
    now = timezone.now()
    stale = list(
        rows.filter(status=OutboxStatus.QUEUED, due_at__lt=now - older_than).order_by("due_at", "id")[:RESEND_BATCH]
    )
    handed = 0
    for row in stale:
        if rows.filter(pk=row.pk, status=OutboxStatus.QUEUED, due_at=row.due_at).update(due_at=now):
            hand_over(row)
            handed += 1
    if handed:
        log.warning("re-sent %s queued %s that no worker had taken", handed, rows.model._meta.verbose_name_plural)
    return handed


def stuck_filter(now=None) -> Q:
    """Queued or being sent, and overdue by ``NOTIFICATION_STUCK_MINUTES``: the re-send has not helped
    (broker or workers down for long), or a worker was lost while sending."""
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.NOTIFICATION_STUCK_MINUTES)
    return Q(status__in=[OutboxStatus.QUEUED, OutboxStatus.SENDING], due_at__lt=cutoff)
