"""A shipment's samples as sheets that import back unchanged: ISPyB's shipping CSV and this LIMS's own XLSX.

    shipment_ispyb_csv(shipment) -> bytes   # EXI's and py-ispyb-ui's CSV: a "#" line naming the 28 fields, no header
    shipment_xlsx(shipment) -> bytes        # the native sheet: every column of ``COLUMNS``, bold header
    export_filename(shipment, extension) -> str

One row per sample, by dewar, container and position. Each value is written as the import reads it back
(parsing.py): numbers as numbers, choices as their stored values. The mail-in request is written only for a
mail-in proposal's samples: other proposals' sheets leave those columns empty, as the import wants them.
"""

from __future__ import annotations

import csv
import io
import re

from samples.choices import MAILIN_REQUEST_FIELDS, ContainerType
from samples.models import Sample

from .base import COLUMNS, HEADERS
from .profiles import ISPYB

# The container types as py-ispyb-ui names them (src/legacy/helpers/mx/shipping/shippingcsv.ts).
ISPYB_CONTAINER_TYPES = {
    ContainerType.SPINE: "Spinepuck",
    ContainerType.UNIPUCK: "Unipuck",
    ContainerType.OTHER: "OTHER",
}
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _samples(shipment) -> list[Sample]:
    """The shipment's samples in one query, with their container, dewar and protein."""
    return list(
        Sample.objects.filter(container__shipment=shipment)
        .select_related("container__dewar", "protein")
        .order_by("container__dewar_id", "container_id", "position", "id")
    )


def _value(sample: Sample, key: str, *, mail_in: bool):
    """The stored value a sheet column ``key`` shows for ``sample`` (None: empty)."""
    container = sample.container
    if key == "dewar":
        return container.dewar.name
    if key == "container":
        return container.name
    if key == "container_type":
        return container.container_type
    if key == "protein_acronym":
        return sample.protein.acronym
    if key == "protein_name":
        return sample.protein.name
    if key in MAILIN_REQUEST_FIELDS and not mail_in:
        return None  # other proposals' samples carry no request (the priority's default 3 included)
    return getattr(sample, key)


def _csv_text(value) -> str:
    """A value as a CSV field: empty for None, floats as Python writes them (which read back equal), whole
    floats without ".0"."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = repr(value)
        return text.removesuffix(".0")
    return str(value)


def shipment_ispyb_csv(shipment) -> bytes:
    """The shipment's samples as ISPyB's shipping CSV (UTF-8, comma-separated, CRLF): a "#" line naming the
    28 fields as EXI's example file does, then one row per sample in ``ISPYB.keys`` order, no header row."""
    out = io.StringIO(newline="")
    out.write("#" + ", ".join(titles[0] for titles in ISPYB.titles) + "\r\n")
    writer = csv.writer(out, lineterminator="\r\n")
    for sample in _samples(shipment):
        row = []
        for key in ISPYB.keys:
            if key == "container_type":
                row.append(ISPYB_CONTAINER_TYPES.get(sample.container.container_type, "OTHER"))
            else:
                row.append(_csv_text(_value(sample, key, mail_in=False)))
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def _xlsx_cell(value):
    """A value as an XLSX cell: None for empty text, without the control characters XLSX cannot hold."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        return value or None
    return value


def shipment_xlsx(shipment) -> bytes:
    """The shipment's samples as this LIMS's sheet: sheet "Samples", a bold header of every column, one row
    per sample with every column filled (numbers as numbers, choices as their stored values)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    mail_in = shipment.proposal.mail_in
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Samples"
    sheet.append(HEADERS)
    for index, column in enumerate(COLUMNS, start=1):
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    for sample in _samples(shipment):
        sheet.append([_xlsx_cell(_value(sample, column.key, mail_in=mail_in)) for column in COLUMNS])
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":
                cell.data_type = "s"  # text that starts with "=" is text, not a formula
            elif isinstance(cell.value, float) and float(f"{cell.value:.16g}") != cell.value:
                # openpyxl writes 16 significant digits; a float that needs 17 (1.2000000000000002) is
                # written as Python writes it, still a number cell, so that it reads back equal.
                cell._value = repr(cell.value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_filename(shipment, extension: str) -> str:
    """``<shipment name>-samples.<extension>``, the name reduced to letters, digits, "_" and "-"."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", shipment.name).strip("_") or "shipment"
    return f"{name}-samples.{extension}"
