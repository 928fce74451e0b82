"""Validators shared by every surface (forms, the REST API, sample sheets, the ISPyB-compatible API).

Input that a parser accepts but the rest of the stack cannot hold is refused here, as a field error, so that
it never reaches the database or a template as a 500.
"""

from __future__ import annotations

import unicodedata
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


# Characters that make a name display differently from what it is: control characters (Cc), invisible
# format characters (Cf: zero-width spaces and joiners U+200B..U+200D, U+2060, U+FEFF, the bidi embeddings,
# overrides and isolates U+202A..U+202E, U+2066..U+2069, ...) and line/paragraph separators. A name with
# "\u202e" shows reversed on a label or a page; a zero-width space makes two names look the same.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
HIDDEN_CHARACTERS = "Use no control, invisible (zero-width) or text-direction characters."


def validate_name(value: str) -> None:
    """Refuse a user-facing name or code with characters that hide or disguise what it says."""
    for char in value:
        if unicodedata.category(char) in _HIDDEN_CATEGORIES:
            raise ValidationError(
                f"{HIDDEN_CHARACTERS} (found U+{ord(char):04X})", code="hidden_characters", params={"value": value}
            )
