"""Celery tasks of the shipping app: they take primary keys and are sent after the transaction commits."""

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task
def notify_dewar_event(event_id: int, reason: str) -> None:
    """Tell the people of a shipment about a transport event ("arrival", "dispatch", "incident")."""
    log.info("notification %s for dewar event %s (mail not written yet)", reason, event_id)
