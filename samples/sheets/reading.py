"""Reading an uploaded file (CSV or XLSX) into rows of values, with every problem by line and column."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import math
import re
import zipfile
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from shipping.models import Dewar

from ..choices import MAX_OTHER_CAPACITY, ExperimentKind
from ..models import Container, Protein, Sample
from .base import (
    _BY_KEY,
    _DATASET_KINDS,
    _EXPERIMENT_KINDS,
    _HEADER_KEYS,
    _MAILIN_REQUESTS,
    COLUMNS,
    HEADERS,
    INTEGER_KEYS,
    MAILIN_REQUEST_WORDS,
    MAX_BYTES,
    MAX_ROWS,
    MAX_SCANNED_ROWS,
    MAX_XLSX_MEMBERS,
    MAX_XLSX_RATIO,
    MAX_XLSX_UNPACKED,
    NUMBER_KEYS,
    SAMPLE_KEYS,
    SheetError,
    SheetProblem,
    _container_type,
    _norm,
)

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


def _check_unpacked_size(archive: zipfile.ZipFile) -> None:
    """Refuse a zip bomb from the archive's directory alone. zipfile never unpacks a member past the size the
    directory gives, so these sizes bound what openpyxl can be made to read."""
    members = archive.infolist()
    bomb = "The workbook unpacks to far more than a sample sheet holds (a damaged or malicious file)."
    if len(members) > MAX_XLSX_MEMBERS:
        raise _fail(f"The workbook has more than {MAX_XLSX_MEMBERS} parts; save it again as a plain .xlsx or CSV.")
    if sum(m.file_size for m in members) > MAX_XLSX_UNPACKED:
        raise _fail(bomb)
    for m in members:
        if m.file_size > 1024 * 1024 and m.file_size > MAX_XLSX_RATIO * max(m.compress_size, 1):
            raise _fail(bomb)


def _read_xlsx(data: bytes) -> _Table:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_unpacked_size(archive)
            names = set(archive.namelist())
            opendocument = "mimetype" in names and b"opendocument" in archive.read("mimetype")
    except SheetError:
        raise
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

    texts = {
        key: _text(value)
        for key, value in values.items()
        if key not in NUMBER_KEYS and key not in INTEGER_KEYS and key != "position"
    }
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
        elif key in INTEGER_KEYS:
            try:
                number = _number(values[key])
            except ValueError:
                number = math.nan
            if number is not None and not number.is_integer():
                problem(key, f'"{_text(values[key])}" is not a whole number: give 1 (most urgent) to 5.')
                continue
            sample[key] = None if number is None else int(number)
        elif key == "mailin_request":
            text = texts[key]
            request, kind = _MAILIN_REQUESTS.get(_norm(text), (None, None)) if text else ("", None)
            if request is None:
                problem(key, f'Unknown request "{text}": use one of {", ".join(MAILIN_REQUEST_WORDS)}.')
                continue
            sample[key] = request
            if kind is not None:
                # "SAD" in the request column asks for a SAD data set; a "Data set" cell must agree.
                given = _DATASET_KINDS.get(_norm(texts.get("mailin_dataset_kind") or ""))
                if given is not None and given != kind:
                    problem(key, f'The request "{text}" and the data set "{texts["mailin_dataset_kind"]}" disagree.')
                    continue
                sample["mailin_dataset_kind"] = kind
        elif key == "mailin_dataset_kind":
            text = texts[key]
            if "mailin_dataset_kind" in sample and not text:
                continue  # set from the request ("SAD")
            kind = _DATASET_KINDS.get(_norm(text)) if text else ""
            if kind is None:
                problem(key, f'Unknown data set "{text}": use native, SAD or MAD.')
                continue
            sample[key] = sample.get(key) or kind
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
