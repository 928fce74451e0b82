"""The blank sheets users download and fill in."""

from __future__ import annotations

import csv
import io

from ..choices import ExperimentKind
from .base import _BY_KEY, COLUMNS, HEADERS, MAILIN_REQUEST_WORDS, MAX_ROWS

# --- templates ------------------------------------------------------------------------------------------

# The request columns (mail-in proposals only) are left empty: a mail-in sample without a request is
# screened, and a sheet of any proposal imports as it is.
_EXAMPLES = (
    ("Dewar-1", "Puck-1", "UniPuck", 1, "LYS", "lys-01", "", "P43212", 79.1, 79.1, 37.9, 90, 90, 90, "MXPressE", 1.8,
     "Example row: replace it with yours", "", "", "", "", "", ""),
    ("Dewar-1", "Puck-1", "UniPuck", 2, "LYS", "lys-02", "", "", "", "", "", "", "", "", "OSC", "", "",
     "", "", "", "", "", ""),
)  # fmt: skip
assert all(len(row) == len(HEADERS) for row in _EXAMPLES)


def template_csv() -> bytes:
    """A CSV sample sheet with the header and two example rows (UTF-8, comma-separated)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(_EXAMPLES)
    return out.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    """An Excel sample sheet: bold header, sized columns, drop-down lists for the container type, the
    experiment kind and the mail-in request, and two example rows."""
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
        "mailin_request": list(MAILIN_REQUEST_WORDS),
        "mailin_dataset_kind": ["native", "SAD", "MAD"],
        "mailin_priority": ["1", "2", "3", "4", "5"],
    }
    for key, values in lists.items():
        letter = get_column_letter(HEADERS.index(_BY_KEY[key].header) + 1)
        validation = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True)
        validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        sheet.add_data_validation(validation)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
