"""Reading one item's values by hand (a batch of 1,000 must cost little more than its SQL); the fields."""

from __future__ import annotations

import math
from datetime import datetime

from django.utils import timezone

from lims.validators import DATETIME_OUT_OF_RANGE, datetime_in_range

from ..choices import CollectionStatus, ExperimentType
from ..models import (
    DataCollection,
)

MAX_BATCH = 1000
MAX_INT = 2**31 - 1
REQUIRED = "This field is required."
WHOSE = "Cannot tell whose data this is: give the sample (sample or pin_code) or the session."


class BatchError(Exception):
    """Bad items of a batch: ``errors`` is ``{index: {field: [messages]}}``. Nothing of the batch was saved."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]):
        super().__init__(f"{len(errors)} invalid item(s)")
        self.errors = dict(sorted(errors.items()))


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
    if not datetime_in_range(parsed):
        errors[field] = [DATETIME_OUT_OF_RANGE]
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
    "end_time_estimated": _boolean,
    "directory": _text(255, blank=False),
    "file_template": _text(255, blank=False),
    "first_image": _int(),
    "number_of_images": _int(),
    "wavelength": _float(0, 100, above=True),
    "exposure_time": _float(0),
    "scan_axis": _text(30),
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
