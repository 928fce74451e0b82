"""The facility's code rules: what a scanner sends, made into a code, and whether the code is well formed.

Four kinds of code travel on things:

    pin       the SPINE code on a pin cap          PIN_CODE_PATTERN       default ^[A-Z0-9]{10}$
    puck      the DataMatrix on a puck              PUCK_CODE_PATTERN      default ^[A-Z0-9-]{1,20}$
    location  a stores shelf, a beamline, ...       LOCATION_CODE_PATTERN  default ^[A-Z0-9-]{1,40}$
    dewar     the facility's dewar barcode          DEWAR_BARCODE_PREFIX + DEWAR_BARCODE_DIGITS digits

A scanner (keyboard wedge or camera) sends more than the code: an AIM symbology identifier
("]d2" for DataMatrix), a CR/LF or tab that the scanner is set to append, sometimes lower case.
``normalise`` removes all of that, so the same code compares equal however it was read.

Every ``validate_*`` normalises, checks, and returns the code, or raises a django ValidationError whose
message says what is wrong with the code ("AB1234567 has 9 characters; a pin code has 10"). Patterns of
the simple shape ``^[class]{n}$`` or ``^[class]{m,n}$`` (the defaults, and most facilities' own) get
these precise messages; any other pattern gets a message that quotes it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

KINDS = ("pin", "puck", "location", "dewar")

# An AIM symbology identifier (ISO/IEC 15424): "]", a symbology letter, a modifier character.
AIM_PREFIX = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
# The shape of pattern whose rule can be explained character by character.
SIMPLE_PATTERN = re.compile(r"^\^\[(?P<cls>[^\]]+)\]\{(?P<min>\d+)(?:,(?P<max>\d+))?\}\$$")

LABELS = {"pin": "a pin code", "puck": "a puck code", "location": "a location code", "dewar": "a dewar barcode"}


def code_part(name: str) -> str:
    """A name as it may appear in a code: upper case, letters, digits and hyphens ("id23-1 eh2" → "ID23-1-EH2")."""
    return re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-")


def normalise(raw: str) -> str:
    """What a scanner or camera sent, as a code: trimmed, without control characters or AIM prefix, upper-case.

    Control characters are removed wherever they are (not only at the ends) because scanners insert
    them: a GS (FNC1) inside a GS1 DataMatrix, a CR/LF or tab as suffix, an STX/ETX around the data.
    """
    if raw is None:
        return ""
    text = "".join(ch for ch in str(raw) if unicodedata.category(ch) not in ("Cc", "Cf")).strip()
    text = AIM_PREFIX.sub("", text, count=1).strip()
    return text.upper()


@dataclass(frozen=True)
class Rule:
    """A kind's pattern, and when it has the simple shape, its characters and lengths to explain it."""

    kind: str
    pattern: str
    chars: str | None = None  # the character class as written, e.g. "A-Z0-9-"
    min_len: int = 0
    max_len: int = 0

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    def allows(self, ch: str) -> bool:
        return re.fullmatch(f"[{self.chars}]", ch) is not None

    def describe_chars(self) -> str:
        """The character class in words: "A-Z and 0-9", "A-Z, 0-9 and '-'"."""
        parts = re.findall(r"\\.|.-(?:\\.|.)|.", self.chars)
        words = [p if len(p) == 3 and p[1] == "-" else repr(p[-1]) for p in parts]
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]

    def describe_length(self) -> str:
        if self.min_len == self.max_len:
            return f"{self.max_len}"
        return f"{self.min_len} to {self.max_len}"


@lru_cache(maxsize=32)
def _rule(kind: str, pattern: str) -> Rule:
    match = SIMPLE_PATTERN.match(pattern)
    if not match:
        return Rule(kind, pattern)
    low = int(match["min"])
    high = int(match["max"]) if match["max"] else low
    try:
        re.compile(f"[{match['cls']}]")
    except re.error:
        return Rule(kind, pattern)
    return Rule(kind, pattern, match["cls"], low, high)


def rule(kind: str) -> Rule:
    """The facility's rule for ``kind`` (read from the settings each time, so tests may change them)."""
    if kind == "dewar":
        prefix, digits = dewar_prefix(), settings.DEWAR_BARCODE_DIGITS
        return Rule(kind, rf"^{re.escape(prefix)}(?:\d{{{digits}}}|[1-9]\d{{{digits},}})$")
    pattern = {
        "pin": settings.PIN_CODE_PATTERN,
        "puck": settings.PUCK_CODE_PATTERN,
        "location": settings.LOCATION_CODE_PATTERN,
    }.get(kind)
    if pattern is None:
        raise ValueError(f"Unknown kind of code {kind!r}; one of {', '.join(KINDS)}.")
    return _rule(kind, pattern)


def problem(kind: str, code: str) -> str | None:
    """What is wrong with ``code`` (taken as it is, not normalised) as a code of ``kind``; None if nothing."""
    r = rule(kind)
    if re.fullmatch(r.pattern, code):
        return None
    if not code:
        return f"The code is empty; {r.label} is expected."
    if kind == "dewar":
        return _dewar_problem(code)
    if r.chars is None:
        return f"{code} is not {r.label} of this facility (pattern {r.pattern})."
    bad = next((ch for ch in code if not r.allows(ch)), None)
    if bad is not None:
        return f"{code} contains {bad!r}; {r.label} uses only {r.describe_chars()}."
    n = len(code)
    return f"{code} has {n} character{'s' if n != 1 else ''}; {r.label} has {r.describe_length()}."


def _dewar_problem(code: str) -> str:
    prefix, digits = dewar_prefix(), settings.DEWAR_BARCODE_DIGITS
    shape = f"a dewar barcode is {prefix} followed by {digits} digits, e.g. {dewar_barcode(42)}"
    if not code.startswith(prefix):
        return f"{code} does not start with {prefix}; {shape}."
    number = code[len(prefix) :]
    bad = next((ch for ch in number if not ch.isdigit() or not ch.isascii()), None)
    if bad is not None:
        return f"{code} contains {bad!r} after {prefix}; {shape}."
    return f"{code} has {len(number)} digits after {prefix}; {shape}."


def validate_code(kind: str, raw: str, *, normalised: bool = True) -> str:
    """The code of ``kind`` in ``raw``, normalised first (unless ``normalised=False``); ValidationError if bad."""
    code = normalise(raw) if normalised else raw
    message = problem(kind, code)
    if message:
        raise ValidationError(message, code=f"invalid_{kind}_code")
    return code


def validate_pin_code(raw: str) -> str:
    """A SPINE pin code, normalised: 10 characters A-Z/0-9 by default (``PIN_CODE_PATTERN``)."""
    return validate_code("pin", raw)


def validate_puck_code(raw: str) -> str:
    """A puck (container) code, normalised (``PUCK_CODE_PATTERN``)."""
    return validate_code("puck", raw)


def validate_location_code(raw: str) -> str:
    """A location code (stores shelf, beamline, ...), normalised (``LOCATION_CODE_PATTERN``)."""
    return validate_code("location", raw)


def validate_dewar_barcode(raw: str) -> str:
    """A facility dewar barcode, normalised: ``DEWAR_BARCODE_PREFIX`` + ``DEWAR_BARCODE_DIGITS`` digits."""
    return validate_code("dewar", raw)


@deconstructible
class StoredCodeValidator:
    """A model field validator: the stored value must be a code of ``kind`` exactly as normalise() leaves it.

    It does not normalise: a stored " up-1\\n" would never equal the "UP-1" a scanner sends, so the
    services normalise before saving and this validator refuses what they did not.
    """

    def __init__(self, kind: str):
        self.kind = kind

    def __call__(self, value: str) -> None:
        if value:
            validate_code(self.kind, value, normalised=False)

    def __eq__(self, other) -> bool:
        return isinstance(other, StoredCodeValidator) and other.kind == self.kind

    def __hash__(self) -> int:
        return hash(self.kind)


def dewar_prefix() -> str:
    """The prefix of the facility's dewar barcodes (``DEWAR_BARCODE_PREFIX``, by default ``FACILITY_CODE``)."""
    return (getattr(settings, "DEWAR_BARCODE_PREFIX", "") or settings.FACILITY_CODE).upper()


def dewar_barcode(number: int) -> str:
    """The facility barcode of the dewar with database id ``number`` (ids are never reused, so nor are barcodes).

    Numbers beyond the digits grow the barcode rather than wrap: DS999999 is followed by DS1000000.
    """
    return f"{dewar_prefix()}{number:0{settings.DEWAR_BARCODE_DIGITS}d}"


def is_dewar_barcode(code: str) -> bool:
    """Whether ``code`` (as a scanner sent it) is one of this facility's dewar barcodes."""
    return problem("dewar", normalise(code)) is None
