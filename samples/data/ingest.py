"""Ingest: the one place that writes data collections, screening and processing results from the pipelines.

    ingest_collections(*, principal, items, partial=False) -> [DataCollection]     1..1000 items, one upsert
    collection_update(*, principal, external_id, changes, beamline=None) -> DataCollection   a running update
    ingest_screenings(*, principal, items) -> [ScreeningResult]
    ingest_processings(*, principal, items) -> [ProcessingResult]
    search_text(...) -> str        the catalogue's lower-cased search column (use it wherever a collection changes)
    may_ingest(principal) -> bool  a beamline's API token, beamline staff, admins

Every item is validated by hand first (types, ranges, choices, times): a serializer or ``full_clean`` per item
would cost more than the whole database work of a batch. Links are then resolved in bulk (one query each:
beamlines, samples, sessions, the stored collections, groups), and any bad item raises one ``BatchError``
carrying ``{index: {field: [messages]}}``; nothing is written then. A good batch is written in one
``INSERT ... ON CONFLICT (beamline, external_id) DO UPDATE``, so a re-sent item updates its collection and
never makes a second one. Fields an item leaves out keep their stored values (defaults for a new one); the
links (group, session, sample) are resolved again from what the item names, and kept when it names none.

A token writes its own beamline's collections only: the beamline is part of the unique key, and another
beamline named in an item is refused. Who owns the data follows from the sample (by id or pin barcode,
among the samples the principal sees) or the session (named, or the one running on the beamline at the
start time); an item with neither is refused ("cannot tell whose data this is").

No AuditEntry is written per ingested item: a beamline writes thousands an hour, and the rows carry
their token and timestamps (``token``, ``created_at``, ``updated_at``). Users' later edits (flags, tags,
moves) are audited by their own services.
"""

from __future__ import annotations

import contextlib
import functools
import math
from datetime import datetime

import orjson
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Min, OuterRef, Q, Subquery
from django.db.models.base import ModelState
from django.db.models.functions import Coalesce, Least
from django.http import Http404
from django.utils import timezone

from lims.access import has_role
from lims.choices import FacilityRole
from lims.models import Beamline
from lims.selectors import session_visible_to
from samples.selectors import sample_visible_to

from .choices import CollectionStatus, ExperimentType, Shell
from .models import (
    DataCollection,
    DataCollectionGroup,
    ProcessingResult,
    ProcessingShell,
    ScreeningResult,
    ScreeningStrategy,
)
from .selectors import collection_visible_to

MAX_BATCH = 1000
MAX_INT = 2**31 - 1
INGEST_ROLES = (FacilityRole.BEAMLINE_STAFF, FacilityRole.ADMIN)
REQUIRED = "This field is required."
WHOSE = "Cannot tell whose data this is: give the sample (sample or pin_code) or the session."


class BatchError(Exception):
    """Bad items of a batch: ``errors`` is ``{index: {field: [messages]}}``. Nothing of the batch was saved."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]):
        super().__init__(f"{len(errors)} invalid item(s)")
        self.errors = dict(sorted(errors.items()))


def may_ingest(principal) -> bool:
    return getattr(principal, "is_machine", False) or has_role(principal, *INGEST_ROLES)


def search_text(
    *, sample_name: str = "", protein_acronym: str = "", directory: str = "", file_template: str = ""
) -> str:
    """The catalogue's search column: sample name, protein acronym, directory and file template, lower-cased."""
    return " ".join(part for part in (sample_name, protein_acronym, directory, file_template) if part).lower()


# --- reading one item's values (hand-written: a batch of 1,000 must cost little more than its SQL) ----------


def _float(lo=None, hi=None, *, above=False):
    """A finite number within [lo, hi] (``above``: strictly above lo); None (JSON null) clears it."""
    if lo is not None and hi is not None:
        wrong = f"Give a number from {lo} to {hi}."
    elif lo is not None:
        wrong = f"Give a number above {lo}." if above else f"Give a number of at least {lo}."
    else:
        wrong = "Give a number."

    def read(value, errors, field):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors[field] = [wrong]
            return None
        value = float(value)
        if (
            not math.isfinite(value)
            or (lo is not None and (value <= lo if above else value < lo))
            or (hi is not None and value > hi)
        ):
            errors[field] = [wrong]
            return None
        return value

    return read


def _int(lo=0, hi=MAX_INT, *, null=False):
    wrong = f"Give a whole number from {lo} to {hi}."

    def read(value, errors, field):
        if value is None and null:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            errors[field] = [wrong]
            return None
        return value

    return read


def _text(max_length: int | None, *, blank=True):
    def read(value, errors, field):
        if value is None and blank:
            return ""
        if not isinstance(value, str):
            errors[field] = ["Give a text."]
            return None
        value = value.strip()
        if not value and not blank:
            errors[field] = ["This field may not be blank."]
        elif max_length is not None and len(value) > max_length:
            errors[field] = [f"At most {max_length} characters."]
        elif "\x00" in value:
            errors[field] = ["Text may not contain NUL characters."]
        else:
            return value
        return None

    return read


def _choice(choices):
    values = frozenset(choices.values)
    wrong = "Give one of: " + ", ".join(choices.values) + "."

    def read(value, errors, field):
        if value not in values:
            errors[field] = [wrong]
            return None
        return value

    return read


def _time(value, errors, field):
    """ISO 8601 or "YYYY-MM-DD HH:MM:SS" (the facility's local time when no zone is given)."""
    if value is None:
        return None
    parsed = None
    if isinstance(value, str) and 10 < len(value) <= 40:
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
        except ValueError:
            parsed = None
    if parsed is None:
        errors[field] = ['Give a time as ISO 8601 or "YYYY-MM-DD HH:MM:SS" (local time).']
        return None
    return timezone.make_aware(parsed) if parsed.tzinfo is None else parsed


def _metadata(value, errors, field):
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors[field] = ["Give a JSON object."]
        return None
    if "\x00" in repr(value):
        errors[field] = ["Text may not contain NUL characters."]
        return None
    return value


def _boolean(value, errors, field):
    if not isinstance(value, bool):
        errors[field] = ["Give true or false."]
        return None
    return value


def _id(value, errors, field):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**63 - 1:
        errors[field] = ["Give an id (a positive whole number)."]
        return None
    return value


def _beamline_ref(value, errors, field):
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.strip() and len(value) <= 60:
        value = value.strip()
        return int(value) if value.isdigit() and len(value) < 19 else value  # a form's id comes as text
    errors[field] = ["Give the beamline's id or name."]
    return None


# The pipeline's fields of a collection: name -> reader. Links (sample, pin_code, session, group, beamline)
# and the key (external_id) are read apart.
COLLECTION_FIELDS = {
    "status": _choice(CollectionStatus),
    "experiment_type": _choice(ExperimentType),
    "start_time": _time,
    "end_time": _time,
    "directory": _text(255, blank=False),
    "file_template": _text(255, blank=False),
    "first_image": _int(),
    "number_of_images": _int(),
    "wavelength": _float(0, 100, above=True),
    "exposure_time": _float(0),
    "oscillation_start": _float(-100000, 100000),
    "oscillation_range": _float(-360, 360),
    "detector_distance": _float(0, above=True),
    "resolution": _float(0, above=True),
    "transmission": _float(0, 100),
    "beam_size_x": _float(0, above=True),
    "beam_size_y": _float(0, above=True),
    "flux": _float(0),
    "detector": _text(60),
    "beam_centre_x": _float(-1e6, 1e6),
    "beam_centre_y": _float(-1e6, 1e6),
    "snapshot_path": _text(255),
    "thumbnail_path": _text(255),
    "metadata": _metadata,
    "comments": _text(10000),
}
LINK_FIELDS = {
    "sample": _id,
    "pin_code": _text(20, blank=False),
    "session": _id,
    "group": _text(100, blank=False),
    "beamline": _beamline_ref,
}
REQUIRED_FIELDS = ("start_time", "directory", "file_template")
DEFAULTS = {
    field.name: field.get_default()
    for field in DataCollection._meta.concrete_fields
    if field.name in COLLECTION_FIELDS and field.name not in REQUIRED_FIELDS
}
# Written on every upsert besides the pipeline's fields: the links and what is denormalised from them.
DERIVED_FIELDS = ("group", "proposal", "session", "sample", "protein", "search_text", "token", "updated_at")
UPSERT_FIELDS = [*COLLECTION_FIELDS, *DERIVED_FIELDS]
STORED = ["id", "group_id", "session_id", "sample_id", "proposal_id", "protein_id", *COLLECTION_FIELDS]
STORED_TEXT = {"sample__name": "sample_name", "protein__acronym": "protein_acronym"}


def _read_item(raw, partial: bool) -> tuple[dict, dict, dict]:
    """(values of COLLECTION_FIELDS given, links, errors) of one item."""
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, dict):
        return {}, {}, {"non_field_errors": ["Give a JSON object."]}
    values, links = {}, {}
    for key, value in raw.items():
        reader = COLLECTION_FIELDS.get(key)
        if reader is not None:
            values[key] = reader(value, errors, key)
            continue
        reader = LINK_FIELDS.get(key)
        if reader is not None:
            if value is not None:
                links[key] = reader(value, errors, key)
        elif key != "external_id":
            errors[key] = ["Unknown field (free values go in metadata)."]
    external_id = _text(100, blank=False)(raw.get("external_id"), errors, "external_id")
    if raw.get("external_id") is None:
        errors["external_id"] = [REQUIRED]
    links["external_id"] = external_id
    if not partial:
        for key in REQUIRED_FIELDS:
            if values.get(key) is None and key not in errors:
                errors[key] = [REQUIRED]
    for key in ("status", "experiment_type", "first_image", "number_of_images"):
        if key in values and values[key] is None and key not in errors:
            errors[key] = ["This field may not be null."]
    start, end = values.get("start_time"), values.get("end_time")
    if start and end and end < start:
        errors["end_time"] = ["The end is before the start."]
    return values, links, errors


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


# --- screening and processing results -----------------------------------------------------------------------

CELL_READERS = {
    "space_group": _text(20),
    "cell_a": _float(0, above=True),
    "cell_b": _float(0, above=True),
    "cell_c": _float(0, above=True),
    "cell_alpha": _float(0, 180, above=True),
    "cell_beta": _float(0, 180, above=True),
    "cell_gamma": _float(0, 180, above=True),
}
SCREENING_FIELDS = {
    "indexing_success": _boolean,
    **CELL_READERS,
    "mosaicity": _float(0),
    "estimated_resolution": _float(0, above=True),
    "spots_found": _int(null=True),
    "ranking": _float(),
    "comments": _text(10000),
}
STRATEGY_FIELDS = {
    "phi_start": _float(-100000, 100000),
    "phi_end": _float(-100000, 100000),
    "oscillation": _float(-360, 360),
    "exposure_time": _float(0),
    "completeness": _float(0, 100),
    "multiplicity": _float(0),
    "resolution": _float(0, above=True),
}
PROCESSING_FIELDS = dict(CELL_READERS)
SHELL_FIELDS = {
    "shell": _choice(Shell),
    "resolution_low": _float(0, above=True),
    "resolution_high": _float(0, above=True),
    "completeness": _float(0, 100),
    "multiplicity": _float(0),
    "i_sigma": _float(-1e6, 1e6),
    "r_merge": _float(0),
    "cc_half": _float(-100, 100),
}
MAX_ROWS = 100


def _read_rows(raw, readers, errors, field) -> list[dict]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_ROWS or not all(isinstance(r, dict) for r in raw):
        errors[field] = [f"Give a list of at most {MAX_ROWS} objects."]
        return []
    rows = []
    for n, item in enumerate(raw):
        row = {}
        for key, value in item.items():
            reader = readers.get(key)
            if reader is None:
                errors[f"{field}.{n}.{key}"] = ["Unknown field."]
            else:
                row[key] = reader(value, errors, f"{field}.{n}.{key}")
        rows.append(row)
    return rows


def _read_result(raw, readers, rows_field, row_readers, principal) -> tuple[dict, dict, list, dict]:
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, dict):
        return {}, {}, [], {"non_field_errors": ["Give a JSON object."]}
    values, ref = {}, {}
    for key, value in raw.items():
        if key in readers:
            values[key] = readers[key](value, errors, key)
        elif key == "data_collection":
            ref["id"] = _id(value, errors, key)
        elif key == "external_id":
            ref["external_id"] = _text(100, blank=False)(value, errors, key)
        elif key == "beamline":
            ref["beamline"] = _beamline_ref(value, errors, key)
        elif key == "program":
            values["program"] = _text(45, blank=False)(value, errors, key)
        elif key != rows_field:
            errors[key] = ["Unknown field."]
    if raw.get("program") is None:
        errors["program"] = [REQUIRED]
    if "id" not in ref and "external_id" not in ref:
        errors["data_collection"] = ["Give the data collection (its id, or its external_id)."]
    rows = _read_rows(raw.get(rows_field), row_readers, errors, rows_field)
    return values, ref, rows, errors


def _collections_of(principal, refs, errors) -> list[int | None]:
    """The collection each result names, among those the principal sees (by id, or external id on the
    token's beamline or the one named). One query (two for people naming beamlines)."""
    machine = getattr(principal, "is_machine", False)
    named = [(i, ref) for i, ref in enumerate(refs) if ref is not None]
    beamlines = [None] * len(refs)
    if machine:
        beamlines = [principal.beamline_id] * len(refs)
        for index, ref in named:
            named_beamline = ref.get("beamline")
            if named_beamline is not None and str(named_beamline).lower() not in (
                str(principal.beamline_id),
                principal.beamline.name.lower(),
            ):
                errors.setdefault(index, {})["beamline"] = ["This token writes its own beamline's data only."]
    else:
        fake = [({}, {"beamline": ref.get("beamline")} if ref else {}) for ref in refs]
        beamlines = _beamlines(principal, fake, errors)
    ids, keys = set(), {}
    for index, ref in named:
        if "id" in ref:
            ids.add(ref["id"])
        elif beamlines[index] is None:
            errors.setdefault(index, {})["beamline"] = ["Give the beamline with an external_id."]
        else:
            keys.setdefault(beamlines[index], set()).add(ref["external_id"])
    query = Q(pk__in=ids)
    for beamline_id, external_ids in keys.items():
        query |= Q(beamline_id=beamline_id, external_id__in=external_ids)
    by_id, by_key = {}, {}
    if ids or keys:
        for pk, beamline_id, external_id in (
            collection_visible_to(principal).filter(query).order_by().values_list("pk", "beamline_id", "external_id")
        ):
            by_id[pk] = pk
            by_key[beamline_id, external_id] = pk
    result = []
    for index, ref in enumerate(refs):
        pk = None
        if ref is not None and index not in errors:
            pk = by_id.get(ref["id"]) if "id" in ref else by_key.get((beamlines[index], ref["external_id"]))
            if pk is None:
                errors.setdefault(index, {})["data_collection"] = ["No such data collection."]
        result.append(pk)
    return result


def _ingest_results(principal, items, model, readers, rows_field, row_model, row_readers, parent_field):
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise ValidationError({"items": [f"Give a list of 1 to {MAX_BATCH} items."]})
    errors: dict[int, dict] = {}
    parsed = []
    for index, raw in enumerate(items):
        values, ref, rows, item_errors = _read_result(raw, readers, rows_field, row_readers, principal)
        if item_errors:
            errors[index] = item_errors
        parsed.append((values, ref or None, rows))
    collections = _collections_of(principal, [ref for _v, ref, _r in parsed], errors)
    seen = {}
    for index, (values, _ref, rows) in enumerate(parsed):
        key = (collections[index], values.get("program"))
        if index not in errors and key in seen:
            errors[index] = {"program": [f"Sent twice for this collection in this batch (item {seen[key]} too)."]}
        seen.setdefault(key, index)
        if row_model is ProcessingShell and index not in errors:
            names = [row.get("shell") for row in rows]
            if None in names:
                errors.setdefault(index, {})["shells"] = ["Name each shell (overall, inner, outer)."]
            elif len(set(names)) != len(names):
                errors.setdefault(index, {})["shells"] = ["One row per shell."]
    if errors:
        raise BatchError(errors)
    field_names = list(readers)
    defaults = {f.name: f.get_default() for f in model._meta.concrete_fields if f.name in readers}
    objects = [
        model(data_collection_id=collections[index], **(defaults | values))
        for index, (values, _ref, _rows) in enumerate(parsed)
    ]
    with transaction.atomic():
        model.objects.bulk_create(
            objects,
            update_conflicts=True,
            unique_fields=["data_collection", "program"],
            update_fields=field_names,
        )
        # The rows are replaced as a whole: a re-sent result's strategy or shells are the new ones.
        row_model.objects.filter(**{f"{parent_field}_id__in": [o.pk for o in objects]}).delete()
        row_model.objects.bulk_create(
            [
                row_model(**{f"{parent_field}_id": obj.pk}, **row)
                for obj, (_v, _ref, rows) in zip(objects, parsed, strict=True)
                for row in rows
            ]
        )
        best_resolution_update(collection_ids={o.data_collection_id for o in objects})
    return objects


def ingest_screenings(*, principal, items: list) -> list[ScreeningResult]:
    """Create or replace screening results, one per (collection, program), with their strategy rows.

    An item: ``data_collection`` (id) or ``external_id`` (+ ``beamline`` for people), ``program``, the
    indexing fields and ``strategies`` ([{phi_start, phi_end, oscillation, exposure_time, completeness,
    multiplicity, resolution}]). A re-sent result replaces the stored one whole. Raises ``BatchError``.
    """
    return _ingest_results(
        principal,
        items,
        ScreeningResult,
        SCREENING_FIELDS,
        "strategies",
        ScreeningStrategy,
        STRATEGY_FIELDS,
        "screening",
    )


def ingest_processings(*, principal, items: list) -> list[ProcessingResult]:
    """Create or replace processing results, one per (collection, program), with their shells
    (``shells``: [{shell: overall|inner|outer, resolution_low, resolution_high, completeness, multiplicity,
    i_sigma, r_merge, cc_half}]). Raises ``BatchError``."""
    return _ingest_results(
        principal, items, ProcessingResult, PROCESSING_FIELDS, "shells", ProcessingShell, SHELL_FIELDS, "processing"
    )


def best_resolution_update(*, collection_ids) -> None:
    """A collection's best resolution: the best (smallest) of its screenings' estimates and its processings'
    high-resolution limits. One UPDATE."""
    screening = (
        ScreeningResult.objects.filter(data_collection=OuterRef("pk"))
        .order_by()
        .values("data_collection")
        .annotate(best=Min("estimated_resolution"))
        .values("best")
    )
    processing = (
        ProcessingShell.objects.filter(processing__data_collection=OuterRef("pk"))
        .order_by()
        .values("processing__data_collection")
        .annotate(best=Min("resolution_high"))
        .values("best")
    )
    s, p = Subquery(screening), Subquery(processing)
    # Least ignores NULLs on PostgreSQL only; the Coalesces make it do so everywhere.
    DataCollection.objects.filter(pk__in=list(collection_ids)).update(
        best_resolution=Least(Coalesce(s, p), Coalesce(p, s))
    )
