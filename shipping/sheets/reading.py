"""Reading an uploaded file (CSV or XLSX) into rows of values, with every problem by line and column."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import statistics
import zipfile
from dataclasses import dataclass

from .base import (
    MAX_BYTES,
    MAX_ROWS,
    MAX_SCANNED_ROWS,
    MAX_XLSX_MEMBERS,
    MAX_XLSX_RATIO,
    MAX_XLSX_UNPACKED,
    SheetError,
    SheetProblem,
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
    skip = 0
    hint = re.fullmatch(r'\s*"?sep=(.)"?\s*', lines[first])
    if hint:
        # Excel writes "sep=;" above the header when asked to keep the separator with the file.
        delimiter, skip = hint.group(1), first + 1
    else:
        delimiter = _delimiter(lines)
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


def _delimiter(lines: list[str]) -> str:
    """The separator most lines use most: comment lines (``#``, ``!``) and a title row above the header do not
    decide it, nor do the decimal commas of a file separated by semicolons."""
    sample = [line for line in lines[:50] if line.strip() and not line.lstrip().startswith(("#", "!"))] or lines[:1]
    medians = {d: statistics.median_low(line.count(d) for line in sample) for d in (",", ";", "\t")}
    best = max(medians, key=medians.get)
    return best if medians[best] else max((",", ";", "\t"), key=lambda d: sum(line.count(d) for line in sample))


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
