"""Sample-sheet import (CSV and XLSX) and the blank templates users fill in.

    import_sheet(*, shipment, user, uploaded_file) -> ImportResult   # raises SheetError, Frozen
    template_csv() -> bytes
    template_xlsx() -> bytes

The sheet has one row per sample (pin) in the columns ISPyB users know (``COLUMNS``). The import reads
every row and collects every problem with its line and column; then it merges the rows into what the
shipment already holds (dewars and containers by name, a row for an occupied position replaces that
sample) and writes the whole tree with ``shipping.services.shipment_update``, whose validation errors
are mapped back to the lines and columns they came from. All or nothing: with any problem, nothing is
saved and ``SheetError`` lists them all.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from shipping.models import Dewar, Shipment
from shipping.services import shipment_check_editable, shipment_update

from .choices import MAX_OTHER_CAPACITY, ContainerType, ExperimentKind
from .models import Container, Protein, Sample


@dataclass
class SheetProblem:
    line: int | None  # 1-based line/row number in the file (the header is line 1); None for the whole file
    column: str | None  # the column's header as in the template, e.g. "Sample name"
    message: str


class SheetError(Exception):
    """A sheet that cannot be imported; every problem found, by line and column. Nothing was saved."""

    def __init__(self, problems: list[SheetProblem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass
class ImportResult:
    """What an import wrote: the dewars and containers the sheet's rows are in (new or already in the
    shipment), the samples it created or replaced, and a summary for the user."""

    dewars: int = 0
    containers: int = 0
    samples: int = 0
    messages: list[str] = field(default_factory=list)


# --- the columns --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of the sheet: its header in the template, the key it fills, the other headers accepted."""

    header: str
    key: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    width: int = 12


COLUMNS: tuple[Column, ...] = (
    Column("Dewar", "dewar", ("dewar name",), required=True),
    Column("Container", "container", ("container name", "puck", "puck name"), required=True),
    Column("Container type", "container_type", ("puck type", "type of container"), width=15),
    Column("Position", "position", ("sample position", "pin position", "sample location", "pos"), required=True),
    Column("Protein acronym", "protein_acronym", ("protein", "acronym"), required=True, width=16),
    Column("Sample name", "name", ("sample", "name", "crystal name"), required=True, width=16),
    Column("Pin barcode", "pin_code", ("pin code", "barcode", "pin", "sample barcode", "pin barcodes"), width=14),
    Column("Space group", "space_group", ("spacegroup", "sg", "forced space group"), width=12),
    Column("a", "cell_a", ("cell a", "unit cell a"), width=8),
    Column("b", "cell_b", ("cell b", "unit cell b"), width=8),
    Column("c", "cell_c", ("cell c", "unit cell c"), width=8),
    Column("alpha", "cell_alpha", ("α", "cell alpha", "cell α", "unit cell alpha"), width=8),
    Column("beta", "cell_beta", ("β", "cell beta", "cell β", "unit cell beta"), width=8),
    Column("gamma", "cell_gamma", ("γ", "cell gamma", "cell γ", "unit cell gamma"), width=8),
    Column("Experiment kind", "experiment_kind", ("experiment type", "experiment", "kind of experiment"), width=18),
    Column("Required resolution", "required_resolution", ("resolution", "req resolution"), width=19),
    Column("Comments", "comments", ("comment", "remarks", "notes"), width=30),
)
HEADERS = tuple(c.header for c in COLUMNS)
_BY_KEY = {c.key: c for c in COLUMNS}
SAMPLE_KEYS = tuple(c.key for c in COLUMNS if c.key not in ("dewar", "container", "container_type", "position"))
NUMBER_KEYS = ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma", "required_resolution")

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
# Formatting can make a spreadsheet carry many empty rows; past this many we stop reading at all.
MAX_SCANNED_ROWS = 20 * MAX_ROWS


def _norm(text: str) -> str:
    """A header or choice as compared: case-folded, without units in brackets, spaces or punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"\(.*?\)|\[.*?\]", "", text)
    return "".join(ch for ch in text if ch.isalnum())


_HEADER_KEYS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases):
        _HEADER_KEYS[_norm(_name)] = _column.key

# "SPINE", "Spine puck", "SPINE puck (10)", "unipuck", "Uni-Puck", "UniPuck (16)", "other" ...
_CONTAINER_TYPES = {
    "spine": ContainerType.SPINE,
    "spine10": ContainerType.SPINE,
    "uni": ContainerType.UNIPUCK,
    "uni16": ContainerType.UNIPUCK,
    "other": ContainerType.OTHER,
    "others": ContainerType.OTHER,
}
_EXPERIMENT_KINDS: dict[str, str] = {}
for _value, _label in ExperimentKind.choices:
    for _name in (_value, _label):
        _EXPERIMENT_KINDS[_norm(_name)] = _value


def _container_type(text: str) -> str | None:
    key = re.sub(r"[^a-z0-9]", "", text.casefold()).replace("puck", "")
    return _CONTAINER_TYPES.get(key)


# --- reading the file into rows of cells -----------------------------------------------------------


@dataclass
class _Table:
    """The file's non-blank rows as (line, cells), the first one being the header."""

    rows: list[tuple[int, list]]


def _fail(message: str) -> SheetError:
    return SheetError([SheetProblem(None, None, message)])


def _read_bytes(uploaded_file) -> bytes:
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > MAX_BYTES:
        raise _fail(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into several sheets.")
    with contextlib.suppress(AttributeError, OSError, ValueError):
        uploaded_file.seek(0)
    data = uploaded_file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _fail(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into several sheets.")
    if not data.strip():
        raise _fail("The file is empty.")
    return data


def _read_table(data: bytes, filename: str) -> _Table:
    """Dispatch on what the bytes are (not on the file name, which users get wrong)."""
    lower = filename.lower()
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _fail(
            "This is an old-style Excel (.xls) or a password-protected workbook. "
            "Save it as an Excel workbook (.xlsx) or as CSV and upload it again."
        )
    if lower.endswith((".xlsx", ".xlsm")):
        raise _fail("The file is called .xlsx but is not an Excel workbook: it may be corrupted.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export: UTF-16 with a BOM, tab-separated.
        try:
            return _read_csv(data.decode("utf-16"))
        except UnicodeDecodeError:
            raise _fail("The file could not be read as text.") from None
    if re.search(rb"[\x00-\x08\x0e-\x1f]", data[:8192]):
        raise _fail("This is not a sample sheet: upload a CSV file or an Excel workbook (.xlsx).")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return _read_csv(text)
    raise _fail("The file could not be read as text.")  # pragma: no cover - latin-1 decodes any byte


def _blank(cells: list) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _append(rows: list, line: int, cells: list) -> None:
    if _blank(cells):
        return
    if len(rows) > MAX_ROWS:  # the header plus MAX_ROWS samples are already there
        raise _fail(f"The sheet has more than {MAX_ROWS} rows; split it into several sheets.")
    rows.append((line, cells))


def _read_csv(text: str) -> _Table:
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise _fail("The file is empty.")
    header = lines[first]
    skip = 0
    hint = re.fullmatch(r'\s*"?sep=(.)"?\s*', header)
    if hint:
        # Excel writes "sep=;" above the header when asked to keep the separator with the file.
        delimiter, skip = hint.group(1), first + 1
    else:
        # The header holds at least the required columns, so its most frequent separator is the one.
        counts = {d: header.count(d) for d in (",", ";", "\t")}
        delimiter = max(counts, key=counts.get)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list]] = []
    try:
        start = 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if line > skip:
                _append(rows, line, cells)
    except csv.Error as exc:
        raise _fail(f"Line {reader.line_num} could not be read as CSV ({exc}).") from None
    return _Table(rows)


def _read_xlsx(data: bytes) -> _Table:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            opendocument = "mimetype" in names and b"opendocument" in archive.read("mimetype")
    except Exception:  # zipfile raises several kinds of errors on a damaged archive
        raise _fail("The file looks like an Excel workbook but is corrupted; save it again and retry.") from None
    if opendocument:
        raise _fail("This is an OpenDocument spreadsheet: save it as .xlsx or CSV and upload it again.")
    if "xl/workbook.xml" not in names:
        raise _fail("This is a zip archive, not a sample sheet: upload a CSV file or an Excel workbook (.xlsx).")
    rows: list[tuple[int, list]] = []
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            if not workbook.worksheets:
                raise _fail("The workbook has no worksheet.")
            sheet = workbook.worksheets[0]
            for line, cells in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
                if line > MAX_SCANNED_ROWS:
                    raise _fail(f"The first worksheet has more than {MAX_SCANNED_ROWS} rows; remove the empty ones.")
                _append(rows, line, list(cells))
        finally:
            workbook.close()
    except SheetError:
        raise
    except Exception:  # openpyxl raises all kinds of errors on a damaged file; none may be a 500
        raise _fail("The Excel workbook could not be read: it may be corrupted. Save it again and retry.") from None
    return _Table(rows)


# --- turning cells into values --------------------------------------------------------------------------


def _text(value) -> str:
    """A cell as text: Excel turns "0012" into 12 and "10" into 10.0, so integral numbers lose the ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).replace("\u00a0", " ").strip()


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


@dataclass
class _Row:
    """A sample row of the sheet, parsed."""

    line: int
    dewar: str
    container: str
    container_type: str | None  # None when the cell is empty
    position: int
    sample: dict  # fields for shipment_update, only for the columns the sheet has


def _field_errors(model, name: str, value) -> list[str]:
    """The messages of the model field's own validation (length, characters, range) for ``value``."""
    try:
        model._meta.get_field(name).clean(value, None)
    except ValidationError as exc:
        return list(exc.messages)
    return []


def _parse_row(line: int, values: dict, problems: list[SheetProblem]) -> _Row | None:
    """One sample row from its cells by key; appends its problems and returns None if it has any."""
    found: list[SheetProblem] = []

    def problem(key: str, message: str) -> None:
        found.append(SheetProblem(line, _BY_KEY[key].header, message))

    texts = {key: _text(value) for key, value in values.items() if key not in NUMBER_KEYS and key != "position"}
    for key, what in (
        ("dewar", "the dewar's name"),
        ("container", "the container's (puck's) name"),
        ("protein_acronym", "the protein acronym"),
        ("name", "the sample name"),
    ):
        if not texts.get(key):
            problem(key, f"Give {what}.")
    if texts.get("dewar"):
        for message in _field_errors(Dewar, "name", texts["dewar"]):
            problem("dewar", message)
    if texts.get("container"):
        for message in _field_errors(Container, "name", texts["container"]):
            problem("container", message)
    if texts.get("protein_acronym"):
        for message in _field_errors(Protein, "acronym", texts["protein_acronym"]):
            problem("protein_acronym", message)

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
        if key not in values:
            continue  # the sheet has no such column: the sample keeps what it had
        if key in NUMBER_KEYS:
            try:
                sample[key] = _number(values[key])
            except ValueError:
                problem(key, f'"{_text(values[key])}" is not a number.')
                continue
        elif key == "experiment_kind":
            text = texts[key]
            sample[key] = _EXPERIMENT_KINDS.get(_norm(text)) if text else ExperimentKind.DEFAULT
            if sample[key] is None:
                problem(key, f'Unknown experiment kind "{text}": use one of {", ".join(ExperimentKind.values)}.')
                continue
        elif key == "pin_code":
            sample[key] = texts[key].upper() or None
        else:
            sample[key] = texts[key]
        if key != "protein_acronym" and sample[key] not in (None, ""):
            for message in _field_errors(Sample, key, sample[key]):
                problem(key, message)

    problems.extend(found)
    if found:
        return None
    return _Row(line, texts["dewar"], texts["container"], container_type, position, sample)


def _parse(table: _Table) -> tuple[list[_Row], list[SheetProblem]]:
    """The sample rows of the sheet and every problem of its header and cells."""
    if not table.rows:
        raise _fail("The file is empty.")
    header_line, header = table.rows[0]
    problems: list[SheetProblem] = []
    keys: dict[int, str] = {}
    unnamed: set[int] = set()
    seen: dict[str, str] = {}
    for index, cell in enumerate(header):
        title = _text(cell)
        if not title:
            unnamed.add(index)
            continue
        key = _HEADER_KEYS.get(_norm(title))
        if key is None:
            problems.append(
                SheetProblem(
                    header_line,
                    title,
                    f'Unknown column "{title}". Remove it or use a known header: {", ".join(HEADERS)}.',
                )
            )
        elif key in seen:
            problems.append(
                SheetProblem(
                    header_line,
                    _BY_KEY[key].header,
                    f'Columns "{seen[key]}" and "{title}" are both {_BY_KEY[key].header}; keep one.',
                )
            )
        else:
            keys[index], seen[key] = key, title
    missing = [c.header for c in COLUMNS if c.required and c.key not in seen]
    for header_name in missing:
        problems.append(SheetProblem(header_line, header_name, f'The required column "{header_name}" is missing.'))
    if len(keys) <= 1 and missing:
        problems.append(
            SheetProblem(
                header_line,
                None,
                "The first line must be the header (" + ", ".join(HEADERS) + "), "
                "separated by commas, semicolons or tabs.",
            )
        )
    if problems:
        raise SheetError(problems)
    if len(table.rows) == 1:
        raise _fail("The sheet has a header but no samples.")

    rows: list[_Row] = []
    reported_unnamed: set[int] = set()
    for line, cells in table.rows[1:]:
        values = dict.fromkeys(keys.values())
        for index, cell in enumerate(cells):
            if index in keys:
                values[keys[index]] = cell
            elif not _blank([cell]) and index not in reported_unnamed:
                # Only once per column: the user fixes the header, not every row.
                reported_unnamed.add(index)
                problems.append(
                    SheetProblem(line, None, f"Column {index + 1} has a value ({_text(cell)!r}) but no header.")
                )
        row = _parse_row(line, values, problems)
        if row is not None:
            rows.append(row)
    return rows, problems


# --- merging into the shipment's contents -----------------------------------------------------------------


@dataclass
class _SampleNode:
    obj: Sample | None
    row: _Row | None


@dataclass
class _ContainerNode:
    obj: Container | None
    name: str
    rows: list[_Row] = field(default_factory=list)
    samples: dict[int, _SampleNode] = field(default_factory=dict)  # by position


@dataclass
class _DewarNode:
    obj: Dewar | None
    name: str
    rows: list[_Row] = field(default_factory=list)
    containers: dict[str, _ContainerNode] = field(default_factory=dict)  # by name


def _check_rows(rows: list[_Row], problems: list[SheetProblem]) -> list[_Row]:
    """Rules between rows: one sample per position, one dewar and one type per container."""
    slots: dict[tuple, int] = {}
    dewar_of: dict[str, _Row] = {}
    type_of: dict[str, _Row] = {}
    good = []
    for row in rows:
        first = dewar_of.setdefault(row.container, row)
        if first.dewar != row.dewar:
            problems.append(
                SheetProblem(
                    row.line,
                    "Container",
                    f"Container {row.container} is in dewar {first.dewar} on line {first.line}; "
                    "a container can only be in one dewar.",
                )
            )
            continue
        slot = (row.dewar, row.container, row.position)
        if slot in slots:
            problems.append(
                SheetProblem(
                    row.line,
                    "Position",
                    f"Position {row.position} of container {row.container} is already taken by line {slots[slot]}.",
                )
            )
            continue
        slots[slot] = row.line
        if row.container_type:
            typed = type_of.setdefault(row.container, row)
            if typed.container_type != row.container_type:
                problems.append(
                    SheetProblem(
                        row.line,
                        "Container type",
                        f"Container {row.container} is a {ContainerType(typed.container_type).label} "
                        f"on line {typed.line}; give the same type on every row of a container.",
                    )
                )
                continue
        good.append(row)
    return good


def _merge(shipment: Shipment, rows: list[_Row], problems: list[SheetProblem]) -> list[_DewarNode]:
    """The shipment's contents as in the database with the sheet's rows merged in."""
    dewars: dict[str, _DewarNode] = {}
    containers: dict[str, _ContainerNode] = {}
    container_dewar: dict[str, str] = {}
    for dewar in Dewar.objects.filter(shipment=shipment).order_by("id"):
        dewars[dewar.name] = _DewarNode(dewar, dewar.name)
    by_pk = {d.obj.pk: d for d in dewars.values()}
    for container in Container.objects.filter(shipment=shipment).order_by("id"):
        node = _ContainerNode(container, container.name)
        by_pk[container.dewar_id].containers[container.name] = node
        containers[container.name] = node
        container_dewar[container.name] = by_pk[container.dewar_id].name
    samples = Sample.objects.filter(container__shipment=shipment).select_related("container")
    for sample in samples.order_by("container_id", "position"):
        containers[sample.container.name].samples[sample.position] = _SampleNode(sample, None)

    for row in rows:
        held_by = container_dewar.get(row.container)
        if held_by is not None and held_by != row.dewar and containers[row.container].obj is not None:
            problems.append(
                SheetProblem(
                    row.line,
                    "Container",
                    f"Container {row.container} is already in dewar {held_by} of this shipment; "
                    "give that dewar, or another name for a new container.",
                )
            )
            continue
        dewar = dewars.setdefault(row.dewar, _DewarNode(None, row.dewar))
        container = dewar.containers.get(row.container)
        if container is None:
            container = dewar.containers[row.container] = containers[row.container] = _ContainerNode(
                None, row.container
            )
            container_dewar[row.container] = row.dewar
        dewar.rows.append(row)
        container.rows.append(row)
        node = container.samples.get(row.position)
        if node is None:
            container.samples[row.position] = _SampleNode(None, row)
        else:
            node.row = row
    return list(dewars.values())


def _container_type_of(node: _ContainerNode) -> str | None:
    typed = next((r.container_type for r in node.rows if r.container_type), None)
    return typed or (node.obj.container_type if node.obj else ContainerType.UNIPUCK)


def _describe(shipment: Shipment, dewars: list[_DewarNode], messages: list[str]) -> tuple[dict, dict]:
    """The data for shipment_update, and where each of its paths came from (node by path prefix)."""
    # The service tells two samples of one protein apart by the protein *object*: every sample, kept or
    # from a row, gets its protein from this one map. Acronyms match as the service matches them
    # (exactly, else case-insensitively); an unknown one is left to the service to create.
    proteins = {p.pk: p for p in Protein.objects.filter(proposal_id=shipment.proposal_id).order_by("acronym")}
    exact = {p.acronym: p for p in proteins.values()}
    folded = {p.acronym.lower(): p for p in proteins.values()}
    origin: dict[str, object] = {}
    data = []
    for i, dewar in enumerate(dewars):
        d_item: dict = {"id": dewar.obj.pk} if dewar.obj else {"name": dewar.name}
        origin[f"dewars.{i}"] = dewar
        d_item["containers"] = []
        for j, container in enumerate(dewar.containers.values()):
            c_item: dict = {"id": container.obj.pk} if container.obj else {"name": container.name}
            origin[f"dewars.{i}.containers.{j}"] = container
            if container.rows:
                kind = _container_type_of(container)
                c_item["container_type"] = kind
                if kind == ContainerType.OTHER:
                    # A free-form container has no fixed size: make it as large as the positions used.
                    used = max(container.samples)
                    capacity = max(used, container.obj.capacity if container.obj else 0)
                    c_item["capacity"] = capacity
                    if not container.obj or container.obj.capacity != capacity:
                        messages.append(
                            f"Container {container.name} (type other) has {capacity} positions, "
                            "the largest position used."
                        )
            c_item["samples"] = []
            for k, sample in enumerate(container.samples.values()):
                origin[f"dewars.{i}.containers.{j}.samples.{k}"] = sample
                s_item: dict = {"id": sample.obj.pk} if sample.obj else {}
                if sample.row is None:
                    s_item["protein"] = proteins[sample.obj.protein_id]
                else:
                    s_item.update(sample.row.sample, position=sample.row.position)
                    acronym = s_item["protein_acronym"]
                    protein = exact.get(acronym) or folded.get(acronym.lower())
                    if protein is not None:
                        s_item["protein"] = protein
                c_item["samples"].append(s_item)
            d_item["containers"].append(c_item)
        data.append(d_item)
    return {"dewars": data}, origin


_SERVICE_COLUMNS = {
    "dewar": {"name": "Dewar", "id": "Dewar"},
    "container": {
        "name": "Container",
        "id": "Container",
        "container_type": "Container type",
        "capacity": "Container type",
    },
    "sample": {
        **{c.key: c.header for c in COLUMNS if c.key in SAMPLE_KEYS},
        "position": "Position",
        "protein": "Protein acronym",
        "id": "Position",
    },
}
_PATH = re.compile(r"^(dewars\.\d+(?:\.containers\.\d+(?:\.samples\.\d+)?)?)(?:\.(\w+))?$")


def _map_errors(exc: ValidationError, origin: dict) -> list[SheetProblem]:
    """The service's errors, keyed by path, as problems on the lines that described those objects."""
    problems = []
    for path, messages in exc.message_dict.items():
        match = _PATH.match(path)
        node = origin.get(match.group(1)) if match else None
        if node is None:
            problems += [SheetProblem(None, None, m) for m in messages]
            continue
        name = match.group(2) or ""
        if isinstance(node, _SampleNode):
            column = _SERVICE_COLUMNS["sample"].get(name)
            lines = [node.row.line] if node.row else []
            what = (
                f"Sample {node.obj.name} (position {node.obj.position} of {node.obj.container.name})"
                if node.obj
                else ""
            )
        elif isinstance(node, _ContainerNode):
            column = _SERVICE_COLUMNS["container"].get(name)
            lines = [r.line for r in node.rows]
            what = f"Container {node.name}"
        else:
            column = _SERVICE_COLUMNS["dewar"].get(name)
            lines = [r.line for r in node.rows]
            what = f"Dewar {node.name}"
        for message in messages:
            if lines:
                problems += [SheetProblem(line, column, message) for line in lines]
            else:
                # An object already in the shipment that no row touches, in conflict with one that does.
                problems.append(SheetProblem(None, column, f"{what}, already in the shipment: {message}"))
    return problems


def _summary(dewars: list[_DewarNode]) -> ImportResult:
    used_dewars = [d for d in dewars if d.rows]
    used_containers = [c for d in dewars for c in d.containers.values() if c.rows]
    rows = [s for c in used_containers for s in c.samples.values() if s.row]
    replaced = sum(1 for s in rows if s.obj is not None)

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    new_dewars = sum(1 for d in used_dewars if d.obj is None)
    new_containers = sum(1 for c in used_containers if c.obj is None)
    messages = [
        f"Imported {plural(len(rows), 'sample')} ({len(rows) - replaced} new, {replaced} replaced) "
        f"in {plural(len(used_containers), 'container')} ({new_containers} new) "
        f"and {plural(len(used_dewars), 'dewar')} ({new_dewars} new)."
    ]
    return ImportResult(len(used_dewars), len(used_containers), len(rows), messages)


def _sort_key(problem: SheetProblem):
    order = HEADERS.index(problem.column) if problem.column in HEADERS else len(HEADERS)
    return (problem.line or 0, order)


def import_sheet(*, shipment, user, uploaded_file) -> ImportResult:
    """Import a sample sheet into ``shipment``, merging its rows into what the shipment already holds.

    Raises ``SheetError`` with every problem (nothing saved), ``Frozen`` when the shipment cannot change.
    """
    # Checked first so that nobody is asked to fix a sheet for a shipment that cannot take it.
    shipment_check_editable(shipment=Shipment.objects.get(pk=shipment.pk), user=user)
    data = _read_bytes(uploaded_file)
    table = _read_table(data, getattr(uploaded_file, "name", "") or "")
    rows, problems = _parse(table)
    rows = _check_rows(rows, problems)

    with transaction.atomic():
        # The contents are read, merged and written back whole: lock the shipment so that no other
        # change lands in between (it would be deleted as "not described any more").
        locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
        dewars = _merge(locked, rows, problems)
        messages: list[str] = []
        tree, origin = _describe(locked, dewars, messages)
        # Written even when rows had problems, so that the service's checks report on the good rows too;
        # the SheetError raised below rolls it all back.
        try:
            shipment_update(shipment=locked, user=user, data=tree)
        except ValidationError as exc:
            problems += _map_errors(exc, origin)
        if problems:
            raise SheetError(sorted(problems, key=_sort_key))
    result = _summary(dewars)
    result.messages += messages
    return result


# --- templates ------------------------------------------------------------------------------------------

_EXAMPLES = (
    ("Dewar-1", "Puck-1", "UniPuck", 1, "LYS", "lys-01", "", "P43212", 79.1, 79.1, 37.9, 90, 90, 90, "MXPressE", 1.8,
     "Example row: replace it with yours"),
    ("Dewar-1", "Puck-1", "UniPuck", 2, "LYS", "lys-02", "", "", "", "", "", "", "", "", "OSC", "", ""),
)  # fmt: skip


def template_csv() -> bytes:
    """A CSV sample sheet with the header and two example rows (UTF-8, comma-separated)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(_EXAMPLES)
    return out.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    """An Excel sample sheet: bold header, sized columns, drop-down lists for the container type and the
    experiment kind, and two example rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Samples"
    sheet.append(HEADERS)
    for row in _EXAMPLES:
        sheet.append([None if cell == "" else cell for cell in row])
    for index, column in enumerate(COLUMNS, start=1):
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    lists = {
        "container_type": ["SPINE", "UniPuck", "other"],
        "experiment_kind": list(ExperimentKind.values),
    }
    for key, values in lists.items():
        letter = get_column_letter(HEADERS.index(_BY_KEY[key].header) + 1)
        validation = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True)
        validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        sheet.add_data_validation(validation)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
