"""Space groups and unit cells as users write them, read through gemmi (the CCP4/Global Phasing library).

Users write a space group many ways: "P 21 21 21", "P212121", "P2(1)2(1)2(1)", "p21", "I4(1)22", "P 1". Each is
one of the 230 space groups (gemmi's table, not a hand list), stored as its short Hermann–Mauguin symbol
("P212121", "P21", "I4122", "C2", "H3" for R3 in hexagonal axes). Anything else ("P99", "banana") is refused.
A cell is all six values or none: lengths above 0 Å, angles strictly between 0° and 180°.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

CELL_LENGTHS = ("cell_a", "cell_b", "cell_c")
CELL_ANGLES = ("cell_alpha", "cell_beta", "cell_gamma")
# "2(1)" → "21": the screw axes as some programs print them.
_SUBSCRIPT = re.compile(r"(\d)\((\d)\)")
NOT_A_SPACE_GROUP = "{value!r} is none of the 230 space groups (e.g. P212121, P 21 21 21, C2, I4(1)22)."


def space_group(text: str) -> str:
    """The standard short symbol of the space group ``text`` names; "" for a blank; ValidationError otherwise."""
    import gemmi  # imported where used: the pages that never read a space group do not load it

    value = (text or "").strip()
    if not value:
        return ""
    spelled = _SUBSCRIPT.sub(r"\1\2", value)
    found = None
    if spelled.isdigit():  # the group's number, as XDS and CCP4 write it
        found = gemmi.find_spacegroup_by_number(int(spelled)) if 1 <= int(spelled) <= 230 else None
    elif len(spelled) <= 30:
        try:
            found = gemmi.find_spacegroup_by_name(spelled)
        except (ValueError, RuntimeError):
            found = None
    if found is None:
        raise ValidationError(NOT_A_SPACE_GROUP.format(value=value), code="space_group")
    return found.short_name()


def validate_angle(value) -> None:
    if value is not None and not 0 < value < 180:
        raise ValidationError("An angle is between 0° and 180°.", code="angle")


def cell_errors(values: dict) -> dict[str, str]:
    """What is wrong with a cell (``cell_a`` .. ``cell_gamma`` of ``values``): all six or none."""
    given = [name for name in (*CELL_LENGTHS, *CELL_ANGLES) if values.get(name) is not None]
    if not given or len(given) == 6:
        return {}
    missing = [name for name in (*CELL_LENGTHS, *CELL_ANGLES) if values.get(name) is None]
    return {name: "A cell needs all six values (a, b, c, α, β, γ)." for name in missing}


def complete_cell(values: list[float], group: str) -> tuple[float, ...] | None:
    """Six cell values from the fewer a user may write when the space group fixes the rest: a, b, c for an
    orthorhombic, tetragonal or cubic group (angles 90°) or a hexagonal-axes trigonal or hexagonal one (90°, 90°,
    120°); a, b, c, β for a monoclinic group (α = γ = 90°). None when the values do not make a cell."""
    import gemmi

    if len(values) == 6:
        return tuple(values)
    if not group:
        return None
    found = gemmi.find_spacegroup_by_name(group)
    system = found.crystal_system_str()
    if len(values) == 3 and system in ("orthorhombic", "tetragonal", "cubic"):
        return (*values, 90.0, 90.0, 90.0)
    if len(values) == 3 and system in ("hexagonal", "trigonal") and found.ext != "R":
        return (*values, 90.0, 90.0, 120.0)
    if len(values) == 4 and system == "monoclinic":
        a, b, c, beta = values
        return (a, b, c, 90.0, beta, 90.0)
    return None
