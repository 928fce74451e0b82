"""Celery tasks of the core: the user office's periodic sync (Celery beat, every USER_OFFICE_SYNC_MINUTES)."""

from celery import shared_task


@shared_task(name="lims.tasks.sync_user_office", ignore_result=True)
def sync_user_office(dry_run: bool = False, user_id: int | None = None, trigger: str = "task") -> int | None:
    """Sync proposals, members and sessions from USER_OFFICE_FEED; the id of the run's ``UserOfficeSync``
    record (None when no feed is configured). A refused feed is recorded (and logged), not raised."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from .user_office import sync

    if not settings.USER_OFFICE_FEED:
        return None
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return sync.run(dry_run=dry_run, trigger=trigger, user=user).pk
