"""Screening and processing results, attached to their collection (see the package docstring)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Least

from ..choices import Shell
from ..models import (
    DataCollection,
    ProcessingResult,
    ProcessingShell,
    ScreeningResult,
    ScreeningStrategy,
)
from ..selectors import collection_writable_by
from .collections import _beamlines
from .values import MAX_BATCH, REQUIRED, BatchError, _beamline_ref, _boolean, _choice, _float, _id, _int, _text

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
            collection_writable_by(principal).filter(query).order_by().values_list("pk", "beamline_id", "external_id")
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
