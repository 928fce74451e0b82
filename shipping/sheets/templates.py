"""The blank sheets users download and fill in."""

from __future__ import annotations

import csv
import io

from samples.choices import CentringMethod, CollectionMode, ExperimentKind, ScreeningMethod

from .base import _BY_KEY, COLUMNS, HEADERS, MAILIN_REQUEST_WORDS, MAX_ROWS

# --- templates ------------------------------------------------------------------------------------------

# The request columns (mail-in proposals only) are left empty: a mail-in sample without a request is
# screened, and a sheet of any proposal imports as it is.
_EXAMPLE_VALUES = (
    {"dewar": "Dewar-1", "container": "Puck-1", "container_type": "UniPuck", "position": 1, "protein_acronym": "LYS",
     "name": "lys-01", "space_group": "P43212", "cell_a": 79.1, "cell_b": 79.1, "cell_c": 37.9, "cell_alpha": 90,
     "cell_beta": 90, "cell_gamma": 90, "experiment_kind": "MXPressE", "required_resolution": 1.8,
     "comments": "Example row: replace it with yours"},
    {"dewar": "Dewar-1", "container": "Puck-1", "container_type": "UniPuck", "position": 2, "protein_acronym": "LYS",
     "name": "lys-02", "experiment_kind": "OSC"},
)  # fmt: skip
_EXAMPLES = tuple(tuple(values.get(c.key, "") for c in COLUMNS) for values in _EXAMPLE_VALUES)


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
        "centring_method": list(CentringMethod.values),
        "collection_mode": list(CollectionMode.values),
        "screening_method": list(ScreeningMethod.values),
    }
    for key, values in lists.items():
        letter = get_column_letter(HEADERS.index(_BY_KEY[key].header) + 1)
        validation = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True)
        validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        sheet.add_data_validation(validation)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
