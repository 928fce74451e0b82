"""What users do to collections afterwards: flags, tags, moves between groups, comments.

The one place for a user's edits of collections. Each service is atomic and writes one audit entry per
collection it changed, on the DataCollection: those entries are the change log the collection page shows
(``collection_change_log``). A collection that already was as asked gets no entry.

Scope: members change their proposals' collections, facility staff any (``lims.access.scope``); a batch
with a single collection out of reach is refused whole, so nothing is ever half-saved. The pages pass
only collections the user sees (others are ignored there, before the service).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from lims import access, audit
from lims.access import scope
from lims.choices import AuditAction
from lims.errors import DomainError
from lims.models import AuditEntry

from .choices import Flag
from .ingest import search_text
from .models import DataCollection, DataCollectionGroup, Tag

TAG_RE = re.compile(r"^[a-z0-9_-]{1,40}$")


class NotYours(DomainError):
    """A collection or group out of the user's reach: they may change only their proposals' data."""

    code = "not_yours"


def editable_by(user) -> QuerySet[DataCollection]:
    """The collections ``user`` may change: their proposals', or every one for facility staff; none for tokens
    (``lims.access.may_annotate_collections``)."""
    if not access.may_annotate_collections(user):
        return DataCollection.objects.none()
    return scope(DataCollection.objects.all(), user, "proposal")


def _ids(collections) -> list[int]:
    if isinstance(collections, QuerySet):
        return list(collections.values_list("pk", flat=True))
    return sorted({c.pk if isinstance(c, DataCollection) else int(c) for c in collections})


def _lock(user, collections) -> list[DataCollection]:
    """The collections, locked in id order, all of them editable by ``user`` or a ``NotYours`` refusal.

    Locked because flags are a bit mask read, changed and written back: two people flagging the same
    collection at once must not lose one of the flags. Id order, so that two bulk edits never deadlock.
    """
    ids = _ids(collections)
    locked = list(editable_by(user).filter(pk__in=ids).select_for_update().order_by("pk"))
    if len(locked) != len(set(ids)):
        raise NotYours("You may change only the collections of your proposals.")
    return locked


def _save(user, changed: list[tuple[DataCollection, dict, dict]], fields: list[str], message: str) -> None:
    """Write the changed collections' ``fields`` in one statement and one audit entry per collection."""
    if not changed:
        return
    now = timezone.now()
    for collection, _, _ in changed:
        collection.updated_at = now
    DataCollection.objects.bulk_update([c for c, _, _ in changed], [*fields, "updated_at"], batch_size=500)
    audit.record_many(
        audit.entry(user=user, action=AuditAction.UPDATE, obj=c, before=before, after=after, message=message)
        for c, before, after in changed
    )


def collections_flag(*, user, collections: Iterable, flag: int, on: bool = True) -> list[DataCollection]:
    """Set (``on``) or clear a flag on collections; returns those that changed."""
    try:
        flag = Flag(int(flag))
    except (TypeError, ValueError):
        raise ValidationError({"flag": f"Unknown flag {flag!r}."}) from None
    with transaction.atomic():
        changed = []
        for collection in _lock(user, collections):
            before = collection.flags
            after = before | flag if on else before & ~flag
            if after != before:
                collection.flags = after
                changed.append((collection, {"flags": before}, {"flags": after}))
        message = f"{'Flagged' if on else 'Unflagged'} {flag.label.lower()}"
        _save(user, changed, ["flags"], message)
    return [c for c, _, _ in changed]


def tag_name(text: str) -> str:
    """A tag as stored: lower case, 1–40 of a–z, 0–9, "_" and "-"; a ``ValidationError`` otherwise."""
    name = (text or "").strip().lower()
    if not TAG_RE.match(name):
        raise ValidationError({"tag": "A tag is 1 to 40 letters, digits, “_” or “-”, without spaces."})
    return name


def collections_tag(*, user, collections: Iterable, tag: str, on: bool = True) -> list[DataCollection]:
    """Put (``on``) or take off a tag on collections; returns those that changed."""
    name = tag_name(tag)
    Through = DataCollection.tags.through
    with transaction.atomic():
        locked = _lock(user, collections)
        tag_obj = Tag.objects.get_or_create(name=name)[0] if on else Tag.objects.filter(name=name).first()
        if tag_obj is None:
            return []
        by_id = {c.pk: c for c in locked}
        current: dict[int, set[str]] = {pk: set() for pk in by_id}
        for collection_id, other in Through.objects.filter(datacollection_id__in=by_id).values_list(
            "datacollection_id", "tag__name"
        ):
            current[collection_id].add(other)
        targets = [pk for pk, names in current.items() if (name in names) != on]
        if on:
            Through.objects.bulk_create([Through(datacollection_id=pk, tag=tag_obj) for pk in targets])
        else:
            Through.objects.filter(datacollection_id__in=targets, tag=tag_obj).delete()
        changed = []
        for pk in targets:
            before = sorted(current[pk])
            after = sorted(current[pk] | {name}) if on else sorted(current[pk] - {name})
            changed.append((by_id[pk], {"tags": before}, {"tags": after}))
        _save(user, changed, [], f"{'Tagged' if on else 'Untagged'} {name}")
    return [c for c, _, _ in changed]


# What a move changes: the group and what the collection copies from it; the audit shows all but the search text.
MOVE_ATTNAMES = ("group_id", "session_id", "sample_id", "protein_id", "experiment_type")
MOVE_FIELDS = ["group", "session", "sample", "protein", "experiment_type", "search_text"]


def collections_move(*, user, collections: Iterable, group: DataCollectionGroup) -> list[DataCollection]:
    """Move collections into another group of the same proposal (and beamline): the session, sample (and so
    the protein) and experiment type follow the group. Returns those that moved."""
    with transaction.atomic():
        locked = _lock(user, collections)
        target = (
            scope(DataCollectionGroup.objects.select_related("sample__protein"), user, "proposal")
            .filter(pk=getattr(group, "pk", group))
            .first()
        )
        if target is None:
            raise NotYours("You may move collections only into a group of your proposals.")
        for collection in locked:
            if collection.proposal_id != target.proposal_id:
                raise DomainError(
                    f"Collection {collection.pk} belongs to another proposal than the group: "
                    "collections move only between groups of their own proposal.",
                    code="other_proposal",
                )
            if collection.beamline_id != target.beamline_id:
                raise DomainError(
                    f"Collection {collection.pk} was recorded on another beamline than the group's.",
                    code="other_beamline",
                )
        sample = target.sample
        changed = []
        for collection in locked:
            if collection.group_id == target.pk:
                continue
            before = {a: getattr(collection, a) for a in MOVE_ATTNAMES}
            collection.group = target
            collection.session_id = target.session_id
            collection.sample = sample
            collection.protein_id = sample.protein_id if sample else None
            collection.experiment_type = target.experiment_type
            collection.search_text = search_text(
                sample_name=sample.name if sample else "",
                protein_acronym=sample.protein.acronym if sample else "",
                directory=collection.directory,
                file_template=collection.file_template,
            )
            after = {a: getattr(collection, a) for a in MOVE_ATTNAMES}
            changed.append((collection, before, after))
        _save(user, changed, MOVE_FIELDS, f"Moved to group {target.pk} ({target})")
    return [c for c, _, _ in changed]


def collection_comment(*, user, collection: DataCollection, comments: str) -> DataCollection:
    """Replace a collection's comments."""
    comments = (comments or "").strip()
    with transaction.atomic():
        (locked,) = _lock(user, [collection])
        if locked.comments != comments:
            before = locked.comments
            locked.comments = comments
            _save(user, [(locked, {"comments": before}, {"comments": comments})], ["comments"], "Comment changed")
    return locked


def collection_change_log(collection: DataCollection) -> QuerySet[AuditEntry]:
    """The collection's change log, newest first: every audit entry written on it (ingest's included)."""
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(DataCollection), object_id=str(collection.pk)
    ).select_related("user")
