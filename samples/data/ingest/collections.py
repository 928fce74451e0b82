"""Collections: validated in a batch, linked in bulk, written in one upsert (see the package docstring)."""

from __future__ import annotations

import contextlib
import functools
from datetime import datetime

import orjson
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.base import ModelState
from django.http import Http404
from django.utils import timezone

from lims.models import Beamline
from lims.selectors import session_visible_to
from samples.selectors import sample_visible_to

from ..models import (
    DataCollection,
    DataCollectionGroup,
)
from .values import (
    COLLECTION_FIELDS,
    DEFAULTS,
    MAX_BATCH,
    STORED,
    STORED_TEXT,
    UPSERT_FIELDS,
    WHOSE,
    BatchError,
    _read_item,
    search_text,
)

# --- collections --------------------------------------------------------------------------------------------


def ingest_collections(*, principal, items: list, partial: bool = False) -> list[DataCollection]:
    """Create or update the collections of ``items`` (see the module docstring); returns them in order.

    ``partial`` (running updates): an item changes the fields it gives of a stored collection, which must
    exist; nothing is required but ``external_id``. Raises ``BatchError``; ``ValidationError`` for a batch
    that is no list of 1 to 1,000 items.
    """
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise ValidationError({"items": [f"Give a list of 1 to {MAX_BATCH} items."]})
    machine = getattr(principal, "is_machine", False)
    token = principal.token if machine else None

    errors: dict[int, dict[str, list[str]]] = {}
    parsed = []
    for index, raw in enumerate(items):
        values, links, item_errors = _read_item(raw, partial)
        if item_errors:
            errors[index] = item_errors
        parsed.append((values, links))

    beamline_of_item = _beamlines(principal, parsed, errors)
    samples = _samples(principal, parsed, errors)
    sessions, running = _sessions(principal, parsed, beamline_of_item, errors)

    # The beamline of items naming only a session is the session's.
    for index, (_values, links) in enumerate(parsed):
        if beamline_of_item[index] is None and index not in errors:
            session = sessions.get(links.get("session"))
            if session is not None:
                beamline_of_item[index] = session["beamline_id"]
            else:
                errors.setdefault(index, {})["beamline"] = ["Give the beamline (its id or name) or the session."]

    seen: dict[tuple, int] = {}
    for index, (_values, links) in enumerate(parsed):
        key = (beamline_of_item[index], links.get("external_id"))
        if key[1] is not None and key in seen:
            errors.setdefault(index, {})["external_id"] = [f"Sent twice in this batch (item {seen[key]} too)."]
        seen.setdefault(key, index)

    stored = _stored(parsed, beamline_of_item, errors)
    rows = []
    for index, (values, links) in enumerate(parsed):
        if index in errors:
            rows.append(None)
            continue
        beamline_id = beamline_of_item[index]
        existing = stored.get((beamline_id, links["external_id"]))
        if partial and existing is None:
            errors[index] = {"external_id": ["No data collection with this external id on this beamline."]}
            rows.append(None)
            continue
        row = _link(values, links, existing, beamline_id, samples, sessions, running, errors.setdefault(index, {}))
        if not errors[index]:
            del errors[index]
        rows.append(row)
    if errors:
        raise BatchError(errors)

    groups, new_groups = _groups(rows, errors)
    if errors:
        raise BatchError(errors)
    # One statement needs no transaction of its own; new groups and the collections in them go together.
    with transaction.atomic() if new_groups else contextlib.nullcontext():
        if new_groups:
            # A group another request makes at the same moment: the conflict is an update, its id returned.
            DataCollectionGroup.objects.bulk_create(
                list(new_groups.values()),
                update_conflicts=True,
                unique_fields=["beamline", "external_id"],
                update_fields=["external_id"],
            )
            groups.update({key: group.pk for key, group in new_groups.items()})
        now = timezone.now()
        for row in rows:
            row["group_id"] = groups[row.pop("group_key")]
            row["token_id"] = token.pk if token is not None else None
            row["updated_at"] = now
        return _upsert(rows, now)


# Every column but the id, in the table's order: what a new row is inserted with.
INSERT_COLUMNS = [f for f in DataCollection._meta.concrete_fields if not f.primary_key]
# What a re-sent item overwrites: the pipeline's fields and the links; never the users' (flags, tags) nor
# the results' (best_resolution), nor created_at.
UPDATE_COLUMNS = [f for f in INSERT_COLUMNS if f.name in UPSERT_FIELDS]
INSERT_DEFAULTS = {"flags": 0, "best_resolution": None}
INSERT_NAMES = [f.attname for f in INSERT_COLUMNS]


def _upsert(rows: list[dict], now) -> list[DataCollection]:
    """One INSERT ... ON CONFLICT (beamline, external_id) DO UPDATE of every row; the collections, in order.

    On PostgreSQL the rows go as ONE parameter, a JSON array that ``jsonb_to_recordset`` turns into typed
    rows: the ORM's bulk_create spends ~0.3 s of Python per 1,000 rows preparing 38 values each (and the
    driver ~0.1 s quoting them), more than PostgreSQL takes to store them. The statement is otherwise the
    one bulk_create writes. Elsewhere (SQLite), bulk_create itself."""
    for row in rows:
        row["created_at"] = now
        row.update(INSERT_DEFAULTS)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _pg_upsert_sql(), [orjson.dumps([[row[name] for name in INSERT_NAMES] for row in rows]).decode()]
            )
            ids = [pk for (pk,) in cursor.fetchall()]
        return [_collection(row, pk) for row, pk in zip(rows, ids, strict=True)]
    objects = [DataCollection(**row) for row in rows]
    DataCollection.objects.bulk_create(
        objects, update_conflicts=True, unique_fields=["beamline", "external_id"], update_fields=UPSERT_FIELDS
    )
    return objects


@functools.cache
def _pg_upsert_sql() -> str:
    """The upsert of a JSON array of rows (each an array of INSERT_COLUMNS' values), kept in the array's order."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in INSERT_COLUMNS)
    values = ", ".join(
        f"(r ->> {n})::{f.db_type(connection)}" if f.get_internal_type() != "JSONField" else f"r -> {n}"
        for n, f in enumerate(INSERT_COLUMNS)
    )
    updates = ", ".join(f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in UPDATE_COLUMNS)
    return (
        f"INSERT INTO {quote(DataCollection._meta.db_table)} ({columns})"
        f" SELECT {values} FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS rows(r, n) ORDER BY n"
        f" ON CONFLICT ({quote('beamline_id')}, {quote('external_id')}) DO UPDATE SET {updates}"
        f" RETURNING {quote('id')}"
    )


def _collection(row: dict, pk: int) -> DataCollection:
    """The stored collection of ``row``, built without Model.__init__ (70 ms per 1,000 rows): every column
    is in ``row``, as ``from_db`` would set them."""
    collection = DataCollection.__new__(DataCollection)
    collection.__dict__.update(row)
    collection.id = pk
    collection._state = ModelState()
    collection._state.adding = False
    collection._state.db = connection.alias
    return collection


def _beamlines(principal, parsed, errors) -> list[int | None]:
    """The beamline of each item: a token's own (another one named is refused), else the one named."""
    if getattr(principal, "is_machine", False):
        own = principal.beamline
        result = []
        for index, (_values, links) in enumerate(parsed):
            named = links.get("beamline")
            if named is not None and named != own.pk and str(named).lower() != own.name.lower():
                errors.setdefault(index, {})["beamline"] = ["This token writes its own beamline's data only."]
            result.append(own.pk)
        return result
    named = {links["beamline"] for _values, links in parsed if links.get("beamline") is not None}
    known = {}
    if named:
        query = Q(pk__in=[n for n in named if isinstance(n, int)])
        for name in (n for n in named if isinstance(n, str)):
            query |= Q(name__iexact=name)
        for pk, name in Beamline.objects.filter(query).order_by().values_list("pk", "name"):
            known[pk] = pk
            known[name.lower()] = pk
    result = []
    for index, (_values, links) in enumerate(parsed):
        named = links.get("beamline")
        if named is None:
            result.append(None)
            continue
        pk = known.get(named.lower() if isinstance(named, str) else named)
        if pk is None:
            errors.setdefault(index, {})["beamline"] = ["No such beamline."]
        result.append(pk)
    return result


SAMPLE_COLUMNS = ("id", "pin_code", "name", "protein_id", "protein__acronym", "container__shipment__proposal_id")


def _samples(principal, parsed, errors) -> dict:
    """The samples named by id or pin barcode among those the principal sees: {("id", x) | ("pin", x): row}."""
    ids = {links["sample"] for _values, links in parsed if links.get("sample") is not None}
    codes = {links["pin_code"] for _values, links in parsed if links.get("pin_code") is not None}
    found: dict = {}
    if ids or codes:
        query = Q(pk__in=ids) | Q(pin_code__in=codes, retired_at__isnull=True)
        for row in sample_visible_to(principal).filter(query).order_by().values(*SAMPLE_COLUMNS):
            sample = {
                "id": row["id"],
                "name": row["name"],
                "protein_id": row["protein_id"],
                "protein_acronym": row["protein__acronym"],
                "proposal_id": row["container__shipment__proposal_id"],
            }
            if row["id"] in ids:
                found["id", row["id"]] = sample
            if row["pin_code"] in codes:
                found["pin", row["pin_code"]] = sample
    for index, (_values, links) in enumerate(parsed):
        by_id = by_code = None
        if links.get("sample") is not None:
            by_id = found.get(("id", links["sample"]))
            if by_id is None:
                errors.setdefault(index, {})["sample"] = ["No such sample."]
        if links.get("pin_code") is not None:
            by_code = found.get(("pin", links["pin_code"]))
            if by_code is None:
                errors.setdefault(index, {})["pin_code"] = ["No sample with this pin barcode."]
        if by_id and by_code and by_id["id"] != by_code["id"]:
            errors.setdefault(index, {})["pin_code"] = ["This pin barcode is on another sample."]
        links["_sample"] = by_id or by_code
    return found


SESSION_COLUMNS = ("id", "beamline_id", "proposal_id", "start", "end")


def _sessions(principal, parsed, beamline_of_item, errors) -> tuple[dict, dict]:
    """Sessions named by id (among those the principal sees), and those running on each item's beamline
    at its start time: ({id: row}, {beamline_id: [rows]}). One query."""
    ids = {links["session"] for _values, links in parsed if links.get("session") is not None}
    spans: dict[int, list[datetime]] = {}
    for index, (values, links) in enumerate(parsed):
        start = values.get("start_time")
        if links.get("session") is None and beamline_of_item[index] is not None and start is not None:
            spans.setdefault(beamline_of_item[index], []).append(start)
    query = Q(pk__in=ids)
    for beamline_id, starts in spans.items():
        query |= Q(beamline_id=beamline_id, start__lte=max(starts), end__gt=min(starts))
    named, running = {}, {}
    if ids or spans:
        for row in session_visible_to(principal).filter(query).order_by("start").values(*SESSION_COLUMNS):
            if row["id"] in ids:
                named[row["id"]] = row
            running.setdefault(row["beamline_id"], []).append(row)
    for index, (_values, links) in enumerate(parsed):
        session_id = links.get("session")
        if session_id is None:
            continue
        session = named.get(session_id)
        if session is None:
            errors.setdefault(index, {})["session"] = ["No such session."]
        elif beamline_of_item[index] is not None and session["beamline_id"] != beamline_of_item[index]:
            errors.setdefault(index, {})["session"] = ["This session is on another beamline."]
    return named, running


def _stored(parsed, beamline_of_item, errors) -> dict:
    """The stored collections the items name, by (beamline, external id). One query."""
    keys: dict[int, list[str]] = {}
    for index, (_values, links) in enumerate(parsed):
        if index not in errors and beamline_of_item[index] is not None:
            keys.setdefault(beamline_of_item[index], []).append(links["external_id"])
    if not keys:
        return {}
    query = Q()
    for beamline_id, external_ids in keys.items():
        query |= Q(beamline_id=beamline_id, external_id__in=external_ids)
    rows = DataCollection.objects.filter(query).order_by().values("beamline_id", "external_id", *STORED, *STORED_TEXT)
    return {(row["beamline_id"], row["external_id"]): row for row in rows}


def _link(values, links, existing, beamline_id, samples, sessions, running, errors) -> dict | None:
    """The row of one item: its values over the stored ones (or the defaults), its links resolved."""
    if existing is not None:
        row = {name: existing[name] for name in COLLECTION_FIELDS}
        row.update(values)
    else:
        row = {**DEFAULTS, **values}
        row["metadata"] = dict(row["metadata"]) if "metadata" not in values else row["metadata"]
    if row["start_time"] and row["end_time"] and row["end_time"] < row["start_time"]:
        errors["end_time"] = ["The end is before the start."]

    sample = links.get("_sample")
    session = sessions.get(links.get("session")) if links.get("session") is not None else None
    if sample is not None and session is not None and sample["proposal_id"] != session["proposal_id"]:
        errors["session"] = ["This session is another proposal's than the sample's."]
        return None
    if session is None and links.get("session") is None:
        if existing is not None and existing["session_id"] and sample is None:
            session = {"id": existing["session_id"], "proposal_id": existing["proposal_id"]}
        else:
            session = _running_session(running.get(beamline_id, ()), row["start_time"], sample, errors)
            if errors:
                return None
    if sample is None and existing is not None and existing["sample_id"] and links.get("session") is None:
        sample = {
            "id": existing["sample_id"],
            "name": existing["sample__name"] or "",
            "protein_id": existing["protein_id"],
            "protein_acronym": existing["protein__acronym"] or "",
            "proposal_id": existing["proposal_id"],
        }
    if sample is None and session is None:
        errors["non_field_errors"] = [WHOSE]
        return None
    proposal_id = sample["proposal_id"] if sample is not None else session["proposal_id"]
    sample_id = sample["id"] if sample is not None else None
    session_id = session["id"] if session is not None else None

    if links.get("group") is not None:
        group_key = (beamline_id, links["group"])
    elif existing is not None and (existing["sample_id"], existing["session_id"], existing["experiment_type"]) == (
        sample_id,
        session_id,
        row["experiment_type"],
    ):
        group_key = ("id", existing["group_id"])  # kept, wherever it is (users may have moved it)
    else:
        group_key = (beamline_id, f"~auto:{sample_id or 0}:{session_id or 0}:{row['experiment_type']}")
    row.update(
        external_id=links["external_id"],
        beamline_id=beamline_id,
        proposal_id=proposal_id,
        session_id=session_id,
        sample_id=sample_id,
        protein_id=sample["protein_id"] if sample is not None else None,
        search_text=search_text(
            sample_name=sample["name"] if sample is not None else "",
            protein_acronym=sample["protein_acronym"] if sample is not None else "",
            directory=row["directory"],
            file_template=row["file_template"],
        ),
        group_key=group_key,
    )
    return row


def _running_session(candidates, start, sample, errors) -> dict | None:
    """The session running on the beamline at ``start``: the sample's proposal's if a sample is known."""
    if start is None:
        return None
    now_running = [s for s in candidates if s["start"] <= start < s["end"]]
    if sample is not None:
        return next((s for s in now_running if s["proposal_id"] == sample["proposal_id"]), None)
    if len(now_running) > 1:
        errors["session"] = ["Several sessions run on this beamline at the start time: give the session."]
        return None
    return now_running[0] if now_running else None


def _groups(rows, errors) -> tuple[dict, dict]:
    """The groups of the rows: ({key: id} of those stored, {key: unsaved group} of the new ones), one per
    (beamline, external group id). One query."""
    keys = {row["group_key"] for row in rows if row["group_key"][0] != "id"}
    found = {row["group_key"]: row["group_key"][1] for row in rows if row["group_key"][0] == "id"}
    owner: dict = {}
    if keys:
        query = Q()
        by_beamline: dict[int, list[str]] = {}
        for beamline_id, external_id in keys:
            by_beamline.setdefault(beamline_id, []).append(external_id)
        for beamline_id, external_ids in by_beamline.items():
            query |= Q(beamline_id=beamline_id, external_id__in=external_ids)
        for pk, beamline_id, external_id, proposal_id in (
            DataCollectionGroup.objects.filter(query)
            .order_by()
            .values_list("pk", "beamline_id", "external_id", "proposal_id")
        ):
            found[beamline_id, external_id] = pk
            owner[beamline_id, external_id] = proposal_id
    new = {}
    for index, row in enumerate(rows):
        key = row["group_key"]
        if key in owner and owner[key] != row["proposal_id"]:
            errors[index] = {"group": ["This group holds another proposal's data."]}
        elif key not in found and key not in new:
            new[key] = DataCollectionGroup(
                beamline_id=key[0],
                external_id=key[1],
                proposal_id=row["proposal_id"],
                session_id=row["session_id"],
                sample_id=row["sample_id"],
                experiment_type=row["experiment_type"],
            )
    return found, new


def collection_update(*, principal, external_id: str, changes: dict, beamline=None) -> DataCollection:
    """A running collection's update (image count, status, end time...): only the fields given change.
    ``beamline`` (id or name) for people; a token's is its own. Http404 when there is no such collection."""
    if not isinstance(changes, dict):
        raise ValidationError({"non_field_errors": ["Give a JSON object."]})
    item = {**changes, "external_id": external_id}
    if beamline is not None:
        item["beamline"] = beamline
    try:
        (collection,) = ingest_collections(principal=principal, items=[item], partial=True)
    except BatchError as exc:
        item_errors = exc.errors[0]
        if "external_id" in item_errors and item_errors["external_id"][0].startswith("No data collection"):
            raise Http404("No data collection with this external id.") from None
        raise ValidationError(item_errors) from None
    return collection
