"""Validators shared by every surface (forms, the REST API, sample sheets, the ISPyB-compatible API).

Input that a parser accepts but the rest of the stack cannot hold is refused here, as a field error, so that
it never reaches the database or a template as a 500.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError

# The real world's UTC offsets run from -12:00 to +14:00; Python accepts up to ±23:59 and PostgreSQL refuses
# anything past ±15:59 (a 500 had it reached the query).
MAX_UTC_OFFSET = timedelta(hours=14)
# A day inside Python's range (years 1 to 9999) on each side: a time there can be turned into UTC, and into
# the facility's local time for a page, without overflowing.
EARLIEST = datetime(1, 1, 2)
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999)
DATETIME_OUT_OF_RANGE = "Give a time between 0001-01-02 and 9999-12-30, with a UTC offset of at most ±14:00."


def validate_datetime(value: datetime) -> None:
    """Refuse a time that cannot be stored, compared in a query or shown: too large an offset, or too close to
    the ends of the calendar. A naive time is the facility's local time (at most 14 hours from UTC)."""
    offset = value.utcoffset() or timedelta(0)
    if abs(offset) > MAX_UTC_OFFSET:
        raise ValidationError(DATETIME_OUT_OF_RANGE, code="out_of_range")
    try:
        utc = value.replace(tzinfo=None) - offset
    except OverflowError:
        raise ValidationError(DATETIME_OUT_OF_RANGE, code="out_of_range") from None
    if not EARLIEST <= utc <= LATEST:
        raise ValidationError(DATETIME_OUT_OF_RANGE, code="out_of_range")


def datetime_in_range(value: datetime) -> bool:
    """``validate_datetime`` as a yes or no, for callers that collect their own messages."""
    try:
        validate_datetime(value)
    except ValidationError:
        return False
    return True
