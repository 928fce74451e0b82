"""Turning a file's rows into sample rows: the format and its columns (profiles.py), then each cell checked
and converted, every problem kept with its line and column."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from lims.crystals import CELL_ANGLES, CELL_LENGTHS, complete_cell, space_group
from samples.choices import MAX_OTHER_CAPACITY, CentringMethod, CollectionMode, ExperimentKind, ScreeningMethod
from samples.models import Container, Protein, Sample
from shipping.models import Dewar

from .base import (
    _DATASET_KINDS,
    _EXPERIMENT_KINDS,
    _MAILIN_REQUESTS,
    HEADERS,
    INTEGER_KEYS,
    MAILIN_REQUEST_WORDS,
    NUMBER_KEYS,
    SAMPLE_KEYS,
    SheetError,
    SheetProblem,
    _container_type,
    _norm,
    _text,
)
from .profiles import (
    CELL,
    CHECKED_KEYS,
    FACILITY,
    Layout,
    any_shape,
    find_header,
    header_layout,
    is_comment,
    shape_layout,
)


def _number(value) -> float | None:
    """A number from a cell; text may use a decimal comma ("1,8"). Raises ValueError when it is none."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _text(value).replace(" ", "")
        if not text:
            return None
        if "," in text and "." not in text and text.count(",") == 1:
            text = text.replace(",", ".")
        number = float(text)
    if not math.isfinite(number):
        raise ValueError
    return number


def _blank(cells: list) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


# Choices as sheets write them: the stored value, the label, and SynchWeb's and IMCA's words.
def _choice_words(choices, extra: dict[str, str]) -> dict[str, str]:
    words = {_norm(word): value for value, label in choices for word in (value, label)}
    return words | {_norm(word): value for word, value in extra.items()}


_CHOICES = {
    "centring_method": _choice_words(CentringMethod.choices, {"centering": CentringMethod.OPTICAL}),
    "collection_mode": _choice_words(CollectionMode.choices, {"automatic": CollectionMode.AUTO}),
    "screening_method": _choice_words(ScreeningMethod.choices, {}),
}
# SynchWeb's radiation sensitivity words (client/src/js/utils/radiationsensitivity.js).
_SENSITIVITY_WORDS = {"low": 0.0, "medium": 50.0, "high": 100.0}
_RANGE = re.compile(r"^\s*\d+(?:[.,]\d+)?\s*[-–]\s*\d+(?:[.,]\d+)?\s*$")
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9:+_-]+")


@dataclass
class _Row:
    """A sample row of the sheet, parsed."""

    line: int
    dewar: str | None  # None: the format has no dewar; the rows go into the shipment's dewar (merging.py)
    container: str
    container_type: str | None  # None when the cell is empty
    position: int
    sample: dict  # fields for shipment_update, only for the columns the sheet has
    protein_name: str = ""
    checks: dict = field(default_factory=dict)  # proposal, visit and shipment the row names (CHECKED_KEYS)


def _field_errors(model, name: str, value) -> list[str]:
    """The messages of the model field's own validation (length, characters, range) for ``value``."""
    try:
        model._meta.get_field(name).clean(value, None)
    except ValidationError as exc:
        return list(exc.messages)
    return []


def _cell_values(text: str) -> list[float]:
    """The numbers of a one-column cell: "143.7, 67.1, 76.9, 90, 110.45, 90", "140 65 75 90 110 90",
    "57;57;149" or with decimal commas "57,2 57,2 149,1". Raises ValueError on anything else."""
    parts = re.split(r"[\s;/]+|,\s+", text.strip()) if ("." in text or re.search(r",\s", text)) else text.split()
    if len(parts) == 1 and "," in parts[0]:
        parts = parts[0].split(",")
    numbers = [_number(p) for p in parts if p]
    if any(n is None for n in numbers):
        raise ValueError
    return numbers


def _parse_row(line: int, values: dict, layout: Layout, problems: list[SheetProblem]) -> _Row | None:
    """One sample row from its cells by key; appends its problems and returns None if it has any."""
    found: list[SheetProblem] = []
    profile = layout.profile

    def problem(key: str, message: str) -> None:
        found.append(SheetProblem(line, layout.title(key), message))

    texts = {
        key: _text(value)
        for key, value in values.items()
        if key not in NUMBER_KEYS and key not in INTEGER_KEYS and key != "position"
    }
    if profile.names_samples and not texts.get("name") and texts.get("container") and _text(values.get("position")):
        # IMCA's sheet names no sample: each is named after its puck and pin ("Blue53-1").
        texts["name"] = values["name"] = _NOT_IN_NAME.sub("-", f"{texts['container']}-{_text(values['position'])}")
    for key, what in (
        ("dewar", "the dewar's name"),
        ("container", "the container's (puck's) name"),
        ("protein_acronym", "the protein acronym"),
        ("name", "the sample name"),
    ):
        if not texts.get(key) and (key != "dewar" or key in profile.required):
            problem(key, f"Give {what}.")
    for key, model, name in (
        ("dewar", Dewar, "name"),
        ("container", Container, "name"),
        ("protein_acronym", Protein, "acronym"),
        ("protein_name", Protein, "name"),
    ):
        if texts.get(key):
            for message in _field_errors(model, name, texts[key]):
                problem(key, message)
    for key in CHECKED_KEYS:
        if texts.get(key) and key != "shipping_name" and not re.fullmatch(r"[A-Za-z0-9]{1,10}", texts[key]):
            problem(key, f'"{texts[key]}" is not a {layout.title(key).lower()}.')

    container_type = None
    if texts.get("container_type"):
        container_type = _container_type(texts["container_type"])
        if container_type is None:
            problem(
                "container_type", f'Unknown container type "{texts["container_type"]}": use SPINE, UniPuck or other.'
            )

    position = None
    raw = values.get("position")
    try:
        number = _number(raw)
    except ValueError:
        problem("position", f'"{_text(raw)}" is not a position: give a whole number, e.g. 3.')
    else:
        if number is None:
            problem("position", "Give the sample's position in the container (1, 2, ...).")
        elif not number.is_integer():
            problem("position", f"{_text(raw)} is not a position: give a whole number, e.g. 3.")
        elif not 1 <= number <= MAX_OTHER_CAPACITY:
            problem("position", f"Positions go from 1 to {MAX_OTHER_CAPACITY} at most; {int(number)} is not one.")
        else:
            position = int(number)

    sample: dict = {}
    for key in SAMPLE_KEYS:
        if key not in values or key == "protein_name":
            continue  # the sheet has no such column: the sample keeps what it had
        if not _parse_value(key, values, texts, sample, problem):
            continue
        if key != "protein_acronym" and sample[key] not in (None, ""):
            for message in _field_errors(Sample, key, sample[key]):
                problem(key, message)
    if CELL in values and _text(values[CELL]):
        _parse_cell(values, sample, problem)

    problems.extend(found)
    if found:
        return None
    return _Row(
        line,
        texts.get("dewar") or None,
        texts["container"],
        container_type,
        position,
        sample,
        texts.get("protein_name", ""),
        {key: texts[key] for key in CHECKED_KEYS if texts.get(key)},
    )


def _parse_value(key: str, values: dict, texts: dict, sample: dict, problem) -> bool:
    """Put the value of ``key`` in ``sample``; False (with a problem) when it cannot be read."""
    if key == "radiation_sensitivity":
        text = _text(values[key])
        try:
            sample[key] = (
                _SENSITIVITY_WORDS.get(text.casefold()) if text.casefold() in _SENSITIVITY_WORDS else _number(text)
            )
        except ValueError:
            problem(key, f'"{text}" is not a radiation sensitivity: give a number or low, medium, high.')
            return False
    elif key in NUMBER_KEYS:
        try:
            sample[key] = _number(values[key])
        except ValueError:
            text = _text(values[key])
            if _RANGE.match(text):
                problem(key, f'"{text}" is a range: give one value (the resolution you aim at, e.g. the best).')
            else:
                problem(key, f'"{text}" is not a number.')
            return False
    elif key in INTEGER_KEYS:
        try:
            number = _number(values[key])
        except ValueError:
            number = math.nan
        if number is not None and not number.is_integer():
            hint = "1 (most urgent) to 5" if key == "mailin_priority" else "e.g. 3"
            problem(key, f'"{_text(values[key])}" is not a whole number: give {hint}.')
            return False
        sample[key] = None if number is None else int(number)
    elif key in _CHOICES:
        text = texts[key]
        sample[key] = _CHOICES[key].get(_norm(text), None) if text else ""
        if sample[key] is None:
            words = ", ".join(v for v in dict.fromkeys(_CHOICES[key].values()))
            problem(key, f'Unknown value "{text}": use one of {words}.')
            return False
    elif key == "mailin_request":
        text = texts[key]
        request, kind = _MAILIN_REQUESTS.get(_norm(text), (None, None)) if text else ("", None)
        if request is None:
            problem(key, f'Unknown request "{text}": use one of {", ".join(MAILIN_REQUEST_WORDS)}.')
            return False
        sample[key] = request
        if kind is not None:
            # "SAD" in the request column asks for a SAD data set; a "Data set" cell must agree.
            given = _DATASET_KINDS.get(_norm(texts.get("mailin_dataset_kind") or ""))
            if given is not None and given != kind:
                problem(key, f'The request "{text}" and the data set "{texts["mailin_dataset_kind"]}" disagree.')
                return False
            sample["mailin_dataset_kind"] = kind
    elif key == "mailin_dataset_kind":
        text = texts[key]
        if "mailin_dataset_kind" in sample and not text:
            return False  # set from the request ("SAD")
        kind = _DATASET_KINDS.get(_norm(text)) if text else ""
        if kind is None:
            problem(key, f'Unknown data set "{text}": use native, SAD or MAD.')
            return False
        sample[key] = sample.get(key) or kind
    elif key == "experiment_kind":
        text = texts[key]
        sample[key] = _EXPERIMENT_KINDS.get(_norm(text)) if text else ExperimentKind.DEFAULT
        if sample[key] is None:
            problem(key, f'Unknown experiment kind "{text}": use one of {", ".join(ExperimentKind.values)}.')
            return False
    elif key == "pin_code":
        sample[key] = texts[key].upper() or None
    else:
        sample[key] = texts[key]
    return True


def _parse_cell(values: dict, sample: dict, problem) -> None:
    """IMCA's one-column cell, into the six cell fields (which must not also be given)."""
    text = _text(values[CELL])
    try:
        numbers = _cell_values(text)
    except ValueError:
        problem(CELL, f'"{text}" is not a cell: give a, b, c, α, β, γ separated by commas or spaces.')
        return
    try:
        group = space_group(_text(values.get("space_group")))
    except ValidationError:
        group = ""  # reported on the space group's own column
    cell = complete_cell(numbers, group)
    if cell is None:
        problem(
            CELL,
            f'"{text}" has {len(numbers)} values: give all six (a, b, c, α, β, γ); three (a, b, c) do for an '
            "orthorhombic, tetragonal, cubic or hexagonal space group, four (a, b, c, β) for a monoclinic one.",
        )
        return
    sample.update(zip((*CELL_LENGTHS, *CELL_ANGLES), cell, strict=True))


def parse(table_rows: list[tuple[int, list]]) -> tuple[Layout, list[_Row], list[SheetProblem]]:
    """The format of the sheet, its sample rows and every problem of its header and cells."""
    rows = [(line, cells) for line, cells in table_rows if not is_comment(cells)]
    commented = {line: cells for line, cells in table_rows if is_comment(cells)}
    if not rows:
        # Only comment-like lines: a headerless file whose every dewar is named "#..." still has its shape.
        rows = [(line, cells) for line, cells in commented.items() if any_shape(cells)]
    if not rows:
        raise SheetError([SheetProblem(None, None, "The file is empty (or has only comment lines).")])
    problems: list[SheetProblem] = []
    found = find_header(rows)
    if found is not None:
        index, profile = found
        header_line, header = rows[index]
        for line, cells in rows[:index]:
            if sum(1 for c in cells if not _blank([c])) > 2:
                problems.append(
                    SheetProblem(
                        line,
                        None,
                        f"Line {line} is above the header (line {header_line}) and would not be read: "
                        "remove it or move it below the header.",
                    )
                )
        layout = header_layout(profile, header_line, header, problems)
        data = rows[index + 1 :]
    else:
        layout = shape_layout(rows)
        if layout is None:
            raise SheetError(
                [
                    SheetProblem(
                        rows[0][0],
                        None,
                        "The first line must be the header (" + ", ".join(HEADERS[:6]) + ", ...), separated by "
                        "commas, semicolons or tabs; or the file must be an ISPyB shipping CSV or a SynchWeb CSV "
                        "(Diamond or IMCA profile), which may come without header.",
                    )
                ]
            )
        data = rows
    if problems:
        raise SheetError(problems)
    # Lines that start like a comment but are sample rows of this format (a dewar named "#1") are read.
    first = layout.header_line or 0
    taken = {line for line, _cells in data}
    data = sorted(data + [(n, c) for n, c in commented.items() if n > first and n not in taken and layout.is_sample(c)])
    if not data:
        raise SheetError([SheetProblem(None, None, "The sheet has a header but no samples.")])

    parsed: list[_Row] = []
    reported: set[int] = set()
    width = len(layout.profile.keys)
    for line, cells in data:
        values: dict = dict.fromkeys(layout.keys.values())
        joined: dict[str, list[str]] = {}
        for index, cell in enumerate(cells):
            key = layout.keys.get(index)
            if key is None:
                if not _blank([cell]) and index not in reported:
                    # Only once per column: the user fixes the header, not every row.
                    reported.add(index)
                    where = "no header" if layout.header_line else f"{layout.profile.name} has {width} columns"
                    problems.append(
                        SheetProblem(line, None, f"Column {index + 1} has a value ({_text(cell)!r}) but {where}.")
                    )
            elif key == FACILITY:
                if not _blank([cell]):
                    title = layout.column_titles.get(index, f"Column {index + 1}")
                    problems.append(
                        SheetProblem(line, title, f'"{title}" is filled in by the facility: leave it empty.')
                    )
            elif key in layout.profile.joined:
                if not _blank([cell]):
                    joined.setdefault(key, []).append(_text(cell))
            else:
                values[key] = cell
        for key, parts in joined.items():
            values[key] = " | ".join(parts)
        values.pop(FACILITY, None)
        row = _parse_row(line, values, layout, problems)
        if row is not None:
            parsed.append(row)
    return layout, parsed, problems
