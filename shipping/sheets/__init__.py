"""Sample-sheet import (CSV and XLSX), the blank templates users fill in, and a shipment's samples as sheets.

    import_sheet(*, shipment, user, uploaded_file) -> ImportResult   # raises SheetError, Frozen
    template_csv() -> bytes
    template_xlsx() -> bytes
    shipment_ispyb_csv(shipment) -> bytes   # ISPyB's shipping CSV (EXI, py-ispyb-ui); imports back unchanged
    shipment_xlsx(shipment) -> bytes        # this LIMS's sheet, every column; imports back unchanged
    export_filename(shipment, extension) -> str

The sheet has one row per sample (pin) in the columns ISPyB users know (``COLUMNS``). The import reads
every row and collects every problem with its line and column; then it merges the rows into what the
shipment already holds (dewars and containers by name, a row for an occupied position replaces that
sample) and writes the whole tree with ``shipping.services.shipment_update``, whose validation errors
are mapped back to the lines and columns they came from. All or nothing: with any problem, nothing is
saved and ``SheetError`` lists them all.
"""

from .base import COLUMNS, HEADERS, MAX_BYTES, MAX_ROWS, ImportResult, SheetError, SheetProblem
from .export import XLSX_CONTENT_TYPE, export_filename, shipment_ispyb_csv, shipment_xlsx
from .merging import import_sheet
from .templates import template_csv, template_xlsx

__all__ = [
    "COLUMNS",
    "HEADERS",
    "MAX_BYTES",
    "MAX_ROWS",
    "ImportResult",
    "SheetError",
    "SheetProblem",
    "XLSX_CONTENT_TYPE",
    "export_filename",
    "import_sheet",
    "shipment_ispyb_csv",
    "shipment_xlsx",
    "template_csv",
    "template_xlsx",
]
