"""Sheets of labels: puck labels and pin-cap labels on label stock, location barcodes for the scan station."""

from __future__ import annotations

from django.conf import settings
from reportlab.lib.units import mm

from lims.pdf import (
    BOLD,
    CODE_FONT,
    FONT,
    PRINTER_MARGIN,
    draw_block,
    draw_no_symbol,
    draw_symbol,
    draw_text,
    font_for,
    new_canvas,
    wrap,
)

from .data import LabelSheet, LocationSection, PinLabel, PuckLabel
from .layout import PAGE_SIZES, QUIET_ZONE, LabelLayoutError, SheetLayout, page_key

NOTE_SIZE = 7
PAD = 1.5 * mm  # between a label's edge and what is printed on it: label stock is cut to ±0.5 mm


def _symbol_and_text_boxes(layout: SheetLayout, x: float, y: float):
    """Where the symbol goes on a label at (x, y), and the box left for the text: (sx, sy), (tx, ty, tw, th)."""
    w, h, side = layout.width * mm, layout.height * mm, layout.datamatrix * mm
    quiet = max(side * QUIET_ZONE / 2, PAD)
    if layout.text_place() == "beside":
        sx, sy = x + quiet, y + (h - side) / 2
        tx = sx + side + quiet
        return (sx, sy), (tx, y + PAD / 2, x + w - PAD - tx, h - PAD)
    sx, sy = x + (w - side) / 2, y + h - quiet - side
    return (sx, sy), (x + PAD, y + PAD / 3, w - 2 * PAD, sy - quiet / 2 - y - PAD / 3)


def _draw_pin(canvas, label: PinLabel, x: float, y: float, layout: SheetLayout, show_name: bool) -> None:
    (sx, sy), (tx, ty, tw, th) = _symbol_and_text_boxes(layout, x, y)
    draw_symbol(canvas, label.code, sx, sy, layout.datamatrix * mm)
    if layout.text_place() == "below":
        # A narrow label: only the code in clear, centred under its symbol.
        size = min(9, th / 1.2)
        draw_text(canvas, tx, ty + (th - size) / 2 + 1, label.code, CODE_FONT, size, tw, "centre", min_size=4)
        return
    lines = [(label.code, CODE_FONT, 9, True)]
    if show_name:
        lines.append((label.sample, FONT, 6.5, False))
    lines.append((f"{label.puck} #{label.position}", FONT, 5.5, False))
    draw_block(canvas, lines, tx, ty, tw, th)


def _draw_puck(canvas, label: PuckLabel, x: float, y: float, layout: SheetLayout) -> None:
    (sx, sy), (tx, ty, tw, th) = _symbol_and_text_boxes(layout, x, y)
    side = layout.datamatrix * mm
    if label.code:
        draw_symbol(canvas, label.code, sx, sy, side)
    else:
        draw_no_symbol(canvas, sx, sy, side)
    if layout.text_place() == "below":
        size = min(10, th / 1.2)
        draw_text(
            canvas, tx, ty + (th - size) / 2 + 1, label.code or label.name, CODE_FONT, size, tw, "centre", min_size=4
        )
        return
    lines = [
        (label.code, CODE_FONT, 11, True) if label.code else ("NO BARCODE", BOLD, 9, False),
        (label.name, BOLD, 9, False),
        (f"Proposal {label.proposal}", FONT, 7, False),
        (f"Shipment {label.shipment}", FONT, 7, False),
        (f"Dewar {label.dewar}", FONT, 7, False),
    ]
    draw_block(canvas, lines, tx, ty, tw, th)


def _render_sheet(sheet: LabelSheet, layout: SheetLayout, draw, title: str) -> bytes:
    """Labels in the grid of ``layout``, page after page; what is missing goes in the top margin or at the end."""
    canvas, buffer = new_canvas(layout.pagesize, title, settings.FACILITY_NAME)
    page_w, page_h = layout.pagesize
    per_page = layout.per_page
    labels = sheet.labels
    pages = max(1, -(-len(labels) // per_page))
    note = _note_lines(sheet, page_w - 2 * PRINTER_MARGIN)
    room = int((layout.margin_top * mm - PRINTER_MARGIN) // (NOTE_SIZE * 1.2))
    note_page = bool(note) and len(note) > room
    bottom = page_h - (layout.margin_top + layout.rows * (layout.height + layout.gap_y) - layout.gap_y) * mm
    for page in range(pages):
        if page:
            canvas.showPage()
        for index, label in enumerate(labels[page * per_page : (page + 1) * per_page]):
            x, y = layout.origin(index)
            draw(canvas, label, x, y, layout)
        if page == 0 and note:
            lines = note if not note_page else [f"{sheet.missing_title} {len(sheet.missing)}, listed on the last page."]
            _draw_note(canvas, lines[: max(room, 0)], PRINTER_MARGIN, page_h - PRINTER_MARGIN)
        if bottom - PRINTER_MARGIN >= NOTE_SIZE:
            footer = f"{title} · page {page + 1} of {pages + note_page}"
            canvas.setFont(font_for(footer, FONT), 6)
            canvas.setFillGray(0.4)
            canvas.drawString(PRINTER_MARGIN, PRINTER_MARGIN, footer)
            canvas.setFillGray(0)
    if note_page:
        canvas.showPage()
        canvas.setFont(font_for(title, BOLD), 11)
        canvas.drawString(15 * mm, page_h - 20 * mm, title)
        _draw_note(canvas, _note_lines(sheet, page_w - 30 * mm), 15 * mm, page_h - 26 * mm, size=10)
    canvas.save()
    return buffer.getvalue()


def _note_lines(sheet: LabelSheet, width: float, size: float = NOTE_SIZE) -> list[str]:
    if not sheet.missing:
        return []
    return wrap(f"{sheet.missing_title} {'; '.join(sheet.missing)}.", FONT, size, width)


def _draw_note(canvas, lines: list[str], x: float, top: float, size: float = NOTE_SIZE) -> None:
    canvas.setFillColorRGB(0.7, 0, 0)  # red: a note that labels are missing must not go unseen
    for i, line in enumerate(lines):
        canvas.setFont(font_for(line, FONT), size)
        canvas.drawString(x, top - (i + 1) * size * 1.2, line)
    canvas.setFillGray(0)


def render_pin_labels(sheet: LabelSheet, title: str = "Pin labels", layout: SheetLayout | None = None) -> bytes:
    """The pin-cap labels of ``sheet`` on the facility's label stock (``PIN_LABEL_*``) as PDF bytes."""
    layout = layout or SheetLayout.from_settings("PIN")
    show_name = bool(settings.PIN_LABEL_SHOW_NAME)
    return _render_sheet(sheet, layout, lambda c, label, x, y, lay: _draw_pin(c, label, x, y, lay, show_name), title)


def render_puck_labels(sheet: LabelSheet, title: str = "Puck labels", layout: SheetLayout | None = None) -> bytes:
    """The puck labels of ``sheet`` on the facility's label stock (``PUCK_LABEL_*``) as PDF bytes."""
    layout = layout or SheetLayout.from_settings("PUCK")
    return _render_sheet(sheet, layout, _draw_puck, title)


# Location sheets are cut from plain paper at the scan station: a fixed grid, large symbols, cut marks.
LOCATION_COLUMNS = 3
LOCATION_CELL_HEIGHT = 43 * mm
LOCATION_SYMBOL = 24 * mm
LOCATION_MARGIN = 12 * mm
LOCATION_HEADER = 12 * mm


def render_location_sheets(sections: list[LocationSection], title: str = "Location barcodes") -> bytes:
    """Every section's labels (code as DataMatrix, code in clear, name, kind), a section to a page or more."""
    try:
        pagesize = PAGE_SIZES[page_key(settings.LABEL_PAGE_SIZE)]
    except ValueError:
        raise LabelLayoutError(f"LABEL_PAGE_SIZE must be A4 or Letter, not {settings.LABEL_PAGE_SIZE!r}.") from None
    canvas, buffer = new_canvas(pagesize, title, settings.FACILITY_NAME)
    page_w, page_h = pagesize
    cell_w = (page_w - 2 * LOCATION_MARGIN) / LOCATION_COLUMNS
    rows = int((page_h - 2 * LOCATION_MARGIN - LOCATION_HEADER) // LOCATION_CELL_HEIGHT)
    per_page = LOCATION_COLUMNS * rows
    first = True
    for section in sections:
        chunks = [section.labels[i : i + per_page] for i in range(0, len(section.labels), per_page)] or [()]
        for n, chunk in enumerate(chunks):
            if not first:
                canvas.showPage()
            first = False
            heading = section.title + (f" (continued, page {n + 1} of {len(chunks)})" if n else "")
            draw_text(
                canvas, LOCATION_MARGIN, page_h - LOCATION_MARGIN - 12, heading, BOLD, 13, page_w - 2 * LOCATION_MARGIN
            )
            top = page_h - LOCATION_MARGIN - LOCATION_HEADER
            if section.missing and n == 0:
                lines = wrap(
                    f"No barcode, not printed: {', '.join(section.missing)}.", FONT, 8, page_w - 2 * LOCATION_MARGIN
                )
                _draw_note(canvas, lines[:3], LOCATION_MARGIN, top + 2, size=8)
                top -= 3 * 8 * 1.2
            if not chunk:
                canvas.setFont(FONT, 10)
                canvas.drawString(LOCATION_MARGIN, top - 14, "Nothing to print.")
            for i, label in enumerate(chunk):
                row, column = divmod(i, LOCATION_COLUMNS)
                x = LOCATION_MARGIN + column * cell_w
                y = top - (row + 1) * LOCATION_CELL_HEIGHT
                if y < LOCATION_MARGIN / 2:
                    break  # a note pushed the grid down: the last row would run off the paper
                _draw_location(canvas, label, x, y, cell_w)
    canvas.save()
    return buffer.getvalue()


def _draw_location(canvas, label, x: float, y: float, w: float) -> None:
    h = LOCATION_CELL_HEIGHT
    canvas.saveState()
    canvas.setDash(1, 3)
    canvas.setLineWidth(0.3)
    canvas.setStrokeGray(0.6)
    canvas.rect(x, y, w, h, stroke=1, fill=0)  # cut lines
    canvas.restoreState()
    draw_symbol(canvas, label.code, x + (w - LOCATION_SYMBOL) / 2, y + h - 4 * mm - LOCATION_SYMBOL, LOCATION_SYMBOL)
    inner = w - 6 * mm
    draw_text(canvas, x + 3 * mm, y + 11 * mm, label.code, CODE_FONT, 11, inner, "centre", min_size=5)
    draw_text(canvas, x + 3 * mm, y + 6.5 * mm, label.name, BOLD, 8.5, inner, "centre")
    canvas.setFillGray(0.35)
    draw_text(canvas, x + 3 * mm, y + 2.5 * mm, label.detail, FONT, 7, inner, "centre")
    canvas.setFillGray(0)
