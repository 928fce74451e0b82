"""Reading MXCuBE's values (numbers may come as text, ids as -1 or null) into the project's."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError

from ..data import records
from .http import parse_id, parse_reference

MM_TO_UM = 1000.0


def number(data: dict, key: str, errors: dict, *, scale: float = 1.0, field: str | None = None) -> float | None:
    """A finite number (or a number written as text) times ``scale``; None when absent or blank."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, dict) and "upper" in value:  # MXCuBE's resolution may come as {"upper": ...}
        value = value["upper"]
    result = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        result = float(value)
    elif isinstance(value, str) and len(value) < 40:
        try:
            result = float(value)
        except ValueError:
            result = None
    if result is None or not math.isfinite(result):
        errors[field or key] = ["Give a number."]
        return None
    return result * scale


def text(data: dict, key: str, errors: dict, *, max_length: int = 255, field: str | None = None) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        errors[field or key] = ["Give a text."]
        return ""
    value = str(value).strip()
    if len(value) > max_length:
        errors[field or key] = [f"At most {max_length} characters."]
        return ""
    return value


def sample_id(data: dict) -> int | None:
    """The sample as MXCuBE names it: ``sample_reference.blSampleId`` or ``blSampleId``; -1, 0 or null: none."""
    reference = data.get("sample_reference")
    raw = reference.get("blSampleId") if isinstance(reference, dict) else None
    if raw is None:
        raw = data.get("blSampleId")
    found = parse_reference(raw)
    return found if found is not None and found > 0 else None


def owner(principal, data: dict, errors: dict) -> records.Owner | None:
    session_id = parse_id(data.get("sessionId"), "sessionId", errors)
    if errors:
        return None
    try:
        return records.record_owner(principal, session=session_id, sample=sample_id(data))
    except ValidationError as exc:
        errors.update(
            {{"session": "sessionId", "sample": "blSampleId"}.get(k, k): v for k, v in exc.message_dict.items()}
        )
        return None
