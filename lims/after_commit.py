"""Work that leaves after the caller's transaction commits (an email, a tar to build), and its one retry policy.

    send_on_commit("app.tasks.name", *args)     the task, by name, handed to Celery once the transaction commits
    MAX_RETRIES, retry_countdown(retries)       how every such task tries again

By name: the service that asks for the task never imports the task's module (which imports the service): no
service-task import cycle. ``robust``: the caller's work has committed by then, so a broker that is down is
logged, never raised into the request; what must not be lost is recorded first (the notification outbox's row,
the cart's "queued" status) and handed over again later. Without a broker the task runs in-process.

One policy for every such task: up to ``MAX_RETRIES`` more attempts, after 60 s, 2 min, 4 min... (at most an
hour), with jitter so that a mail server coming back is not hit by every waiting task at once: about half an
hour in all. The last attempt, and the only one when the task runs in-process, records the failure for staff.
"""

from __future__ import annotations

import random

from django.db import transaction
from django.utils.module_loading import import_string

MAX_RETRIES = 5


def retry_countdown(retries: int) -> int:
    """Seconds before the next attempt after ``retries`` failed ones."""
    return min(3600, 60 * 2**retries) + random.randint(0, 30)


def send(task_name: str, *args) -> None:
    """Hand the task to the broker now (or run it in-process when there is none)."""
    import_string(task_name).delay(*args)


def on_commit(handover, *args) -> None:
    """``handover(*args)`` once the transaction commits; an error then is logged, never raised (``robust``)."""
    transaction.on_commit(lambda: handover(*args), robust=True)


def send_on_commit(task_name: str, *args) -> None:
    on_commit(send, task_name, *args)


def is_final_attempt(task) -> bool:
    """The attempt after which nothing will try again: the last retry, or the only one in-process."""
    return task.request.is_eager or task.request.retries >= task.max_retries
