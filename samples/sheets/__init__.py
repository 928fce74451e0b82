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

from .base import COLUMNS, HEADERS, MAX_BYTES, MAX_ROWS, ImportResult, SheetError, SheetProblem
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
    "import_sheet",
    "template_csv",
    "template_xlsx",
]
