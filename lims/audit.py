"""The audit log: every write leaves who, when, what, and the changed fields before and after."""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .choices import AuditAction
from .models import AuditEntry


def _plain(value):
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(obj: models.Model) -> dict:
    """The concrete field values of ``obj`` (foreign keys as ids), to diff before and after a write."""
    return {f.attname: _plain(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def diff(before: dict | None, after: dict | None) -> dict:
    before, after = before or {}, after or {}
    keys = before.keys() | after.keys()
    return {k: [before.get(k), after.get(k)] for k in sorted(keys) if before.get(k) != after.get(k)}


def entry(*, user, action: str, obj: models.Model, before=None, after=None, message: str = "") -> AuditEntry:
    """An unsaved audit entry; ``before``/``after`` are snapshots (None for create/delete)."""
    if after is None and action != AuditAction.DELETE:
        after = snapshot(obj)
    return AuditEntry(
        user=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        message=message[:255],
        changes=diff(before, after),
    )


def record(*, user, action: str, obj: models.Model, before=None, after=None, message: str = "") -> AuditEntry:
    """Write one audit entry."""
    e = entry(user=user, action=action, obj=obj, before=before, after=after, message=message)
    e.save()
    return e


def record_many(entries: Iterable[AuditEntry]) -> None:
    AuditEntry.objects.bulk_create(list(entries), batch_size=500)
