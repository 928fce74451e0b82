"""Values people read on the data pages: a change log in words, large numbers as powers of ten."""

from django import template

from samples.data.choices import Flag
from samples.data.models import DataCollection

register = template.Library()

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@register.filter
def powers_of_ten(value):
    """3.2e12 → "3.2 × 10¹²" (values of 100,000 and more; smaller ones as they are)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or abs(value) < 1e5:
        return value
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def _label(field: str) -> str:
    try:
        return str(DataCollection._meta.get_field(field).verbose_name)
    except Exception:
        return field.replace("_", " ")


def _flags(mask) -> set[str]:
    return {flag.label for flag in Flag if isinstance(mask, int) and mask & flag.value}


@register.filter
def change_words(changes) -> list[str]:
    """An audit entry's ``{field: [before, after]}`` as sentences: "tag ligand-soak added", "flag Bad set",
    "comments changed from "a" to "b"", "resolution set to 1.8"."""
    words = []
    for field, values in (changes or {}).items():
        if not isinstance(values, list | tuple) or len(values) != 2:
            continue
        before, after = values
        if isinstance(before, list) or isinstance(after, list):
            old, new = set(before or []), set(after or [])
            noun = "tag" if field == "tags" else _label(field)
            words += [f"{noun} {name} added" for name in sorted(new - old)]
            words += [f"{noun} {name} removed" for name in sorted(old - new)]
        elif field == "flags":
            old, new = _flags(before), _flags(after)
            words += [f"flag {name} set" for name in sorted(new - old)]
            words += [f"flag {name} cleared" for name in sorted(old - new)]
        elif before in (None, ""):
            words.append(f'{_label(field)} set to "{after}"')
        elif after in (None, ""):
            words.append(f'{_label(field)} cleared (was "{before}")')
        else:
            words.append(f'{_label(field)} changed from "{before}" to "{after}"')
    return words
