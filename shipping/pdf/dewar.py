"""The dewar label: one page a dewar, designed on A4 and scaled to A5 (or Letter) for smaller printers."""

from __future__ import annotations

from django.conf import settings
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from lims.pdf import BOLD, CODE_FONT, FONT, draw_no_symbol, draw_symbol, draw_text, new_canvas

from .data import DewarLabel
from .layout import PAGE_SIZES, page_key

# Fill and text colour of the safety box; the level is also printed in words, for black-and-white printers.
SAFETY_COLOURS = {
    "green": ((0.18, 0.49, 0.20), (1, 1, 1)),
    "yellow": ((1.0, 0.80, 0.10), (0, 0, 0)),
    "red": ((0.78, 0.12, 0.12), (1, 1, 1)),
}
GREY = 0.35
LEFT = 14 * mm
LEFT_WIDTH = 118 * mm
RIGHT = 140 * mm
RIGHT_WIDTH = 56 * mm
FULL_WIDTH = 182 * mm
SYMBOL = 50 * mm
PUCK_COLUMNS = 4
PUCK_ROWS = 8
REMOVE_OLD_LABELS = "Remove all old labels from the dewar before sending it."


def render_dewar_labels(labels: list[DewarLabel], page_size: str = "A4") -> bytes:
    """One page per label on ``page_size`` (A4, A5 or Letter) as PDF bytes; raises ValueError for another size."""
    pagesize = PAGE_SIZES[page_key(page_size)]
    scale = min(pagesize[0] / A4[0], pagesize[1] / A4[1])
    canvas, buffer = new_canvas(pagesize, "Dewar labels", settings.FACILITY_NAME)
    if not labels:
        canvas.setFont(FONT, 12)
        canvas.drawString(20 * mm, pagesize[1] - 30 * mm, "This shipment has no dewar to label.")
    for index, label in enumerate(labels):
        if index:
            canvas.showPage()
        canvas.saveState()
        # The A4 design, scaled and centred: every size prints the same label, only smaller.
        canvas.translate((pagesize[0] - A4[0] * scale) / 2, (pagesize[1] - A4[1] * scale) / 2)
        canvas.scale(scale, scale)
        _draw_dewar(canvas, label)
        canvas.restoreState()
    canvas.save()
    return buffer.getvalue()


def _y(top_mm: float) -> float:
    """A baseline ``top_mm`` below the top of the A4 design, in points from its bottom."""
    return A4[1] - top_mm * mm


def _caption(canvas, x: float, top_mm: float, text: str) -> None:
    canvas.setFillGray(GREY)
    canvas.setFont(BOLD, 9)
    canvas.drawString(x, _y(top_mm), text.upper())
    canvas.setFillGray(0)


def _rule(canvas, top_mm: float) -> None:
    canvas.setStrokeGray(0.7)
    canvas.setLineWidth(0.6)
    canvas.line(LEFT, _y(top_mm), LEFT + FULL_WIDTH, _y(top_mm))
    canvas.setStrokeGray(0)


def _draw_dewar(canvas, label: DewarLabel) -> None:
    # Deliver to: the facility, and where in it.
    _caption(canvas, LEFT, 18, "Deliver to")
    draw_text(canvas, LEFT, _y(27), label.facility_name, BOLD, 20, LEFT_WIDTH)
    top = 34
    for line in label.facility_address[:5]:
        draw_text(canvas, LEFT, _y(top), line, FONT, 12, LEFT_WIDTH)
        top += 5.5
    canvas.setFillGray(0.9)
    canvas.rect(LEFT, _y(76), LEFT_WIDTH, 11 * mm, stroke=0, fill=1)
    canvas.setFillGray(0)
    where = label.deliver_to or "Stores (no delivery location chosen)"
    draw_text(canvas, LEFT + 3 * mm, _y(72.5), f"At the facility: {where}", BOLD, 15, LEFT_WIDTH - 6 * mm, min_size=9)

    # The dewar's barcode, large, and in clear under it.
    if label.barcode:
        draw_symbol(canvas, label.barcode, RIGHT + (RIGHT_WIDTH - SYMBOL) / 2, _y(16 + 50), SYMBOL)
        draw_text(canvas, RIGHT, _y(74), label.barcode, CODE_FONT, 20, RIGHT_WIDTH, "centre", min_size=8)
    else:
        draw_no_symbol(canvas, RIGHT + (RIGHT_WIDTH - SYMBOL) / 2, _y(16 + 50), SYMBOL, "no dewar barcode yet")
    canvas.setFillGray(GREY)
    draw_text(canvas, RIGHT, _y(79), "Dewar barcode", FONT, 8, RIGHT_WIDTH, "centre")
    canvas.setFillGray(0)
    _rule(canvas, 84)

    # Which dewar: name, n of m, proposal, shipment, experiment.
    _caption(canvas, LEFT, 91, "Dewar")
    draw_text(canvas, LEFT, _y(102), label.dewar, BOLD, 26, LEFT_WIDTH)
    draw_text(canvas, LEFT, _y(111), f"Dewar {label.number} of {label.count}", BOLD, 16, LEFT_WIDTH)
    draw_text(canvas, LEFT, _y(119), f"Proposal {label.proposal}", FONT, 12, LEFT_WIDTH)
    draw_text(canvas, LEFT, _y(125), f"Shipment {label.shipment}", FONT, 12, LEFT_WIDTH)
    if label.experiment:
        draw_text(canvas, LEFT, _y(131), f"Experiment: {label.experiment}", FONT, 11, LEFT_WIDTH)
    _draw_safety(canvas, label)
    _rule(canvas, 137)

    # Return address: the home-lab card.
    _caption(canvas, LEFT, 144, "Return to (home lab)")
    card = label.return_card
    if card is None:
        canvas.setFillColorRGB(0.7, 0, 0)
        draw_text(
            canvas, LEFT, _y(152), "No return address: add a home-lab card to the shipment.", BOLD, 12, FULL_WIDTH
        )
        canvas.setFillGray(0)
    else:
        draw_text(canvas, LEFT, _y(152), card.name, BOLD, 14, FULL_WIDTH)
        draw_text(canvas, LEFT, _y(158.5), card.lab_name, FONT, 12, FULL_WIDTH)
        top = 164.5
        for line in card.address[:5]:
            draw_text(canvas, LEFT, _y(top), line, FONT, 12, FULL_WIDTH)
            top += 5.5
        draw_text(canvas, LEFT, _y(top + 1), f"Tel. {card.telephone}", FONT, 11, FULL_WIDTH / 2)
        draw_text(canvas, LEFT + FULL_WIDTH / 2, _y(top + 1), f"Email {card.email}", FONT, 11, FULL_WIDTH / 2)
    _rule(canvas, 203)

    # What is inside.
    _caption(canvas, LEFT, 210, f"Pucks in this dewar ({len(label.pucks)})")
    _draw_pucks(canvas, label.pucks)
    _rule(canvas, 257)

    # The line every courier-stuck dewar needs.
    canvas.setLineWidth(2)
    canvas.rect(LEFT, _y(279), FULL_WIDTH, 18 * mm, stroke=1, fill=0)
    draw_text(canvas, LEFT + 4 * mm, _y(269), REMOVE_OLD_LABELS, BOLD, 14, FULL_WIDTH - 8 * mm)
    draw_text(
        canvas,
        LEFT + 4 * mm,
        _y(275),
        "Old labels and barcodes mislead the couriers and the facility's scan station.",
        FONT,
        10,
        FULL_WIDTH - 8 * mm,
    )
    canvas.setFillGray(GREY)
    draw_text(canvas, LEFT, _y(286), f"Printed {label.printed:%Y-%m-%d}", FONT, 8, FULL_WIDTH / 2)
    footer = f"{label.facility_name} · {label.shipment} · dewar {label.number} of {label.count}"
    draw_text(canvas, LEFT + FULL_WIDTH / 2, _y(286), footer, FONT, 8, FULL_WIDTH / 2, "right")
    canvas.setFillGray(0)


def _draw_safety(canvas, label: DewarLabel) -> None:
    fill, ink = SAFETY_COLOURS.get(label.safety_level, ((0.5, 0.5, 0.5), (1, 1, 1)))
    canvas.setFillColorRGB(*fill)
    canvas.setStrokeGray(0)
    canvas.setLineWidth(1)
    canvas.roundRect(RIGHT, _y(131), RIGHT_WIDTH, 40 * mm, 3 * mm, stroke=1, fill=1)
    canvas.setFillColorRGB(*ink)
    draw_text(canvas, RIGHT, _y(99), "SAFETY LEVEL", BOLD, 11, RIGHT_WIDTH, "centre")
    word, _, rest = label.safety_label.partition(" ")
    draw_text(canvas, RIGHT, _y(114), word.upper(), BOLD, 28, RIGHT_WIDTH - 4 * mm, "centre")
    if rest:
        draw_text(canvas, RIGHT + 2 * mm, _y(123), rest.strip("()"), FONT, 9, RIGHT_WIDTH - 4 * mm, "centre")
    canvas.setFillGray(0)


def _draw_pucks(canvas, pucks: tuple[str, ...]) -> None:
    if not pucks:
        canvas.setFont(FONT, 11)
        canvas.drawString(LEFT, _y(218), "No pucks registered in this dewar.")
        return
    cells = PUCK_COLUMNS * PUCK_ROWS
    shown = list(pucks) if len(pucks) <= cells else [*pucks[: cells - 1], f"+ {len(pucks) - cells + 1} more"]
    width = FULL_WIDTH / PUCK_COLUMNS
    for i, code in enumerate(shown):
        column, row = divmod(i, PUCK_ROWS)  # down the columns, as a list is read
        font = FONT if code.startswith("+ ") else CODE_FONT
        draw_text(canvas, LEFT + column * width, _y(218 + row * 5), code, font, 10.5, width - 3 * mm, min_size=6)
