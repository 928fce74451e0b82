"""Drawing helpers shared by the label renderers: canvases, text that fits, symbols, notes."""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import registerFont, stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from lims.barcodes import datamatrix

CODE_FONT = "Courier-Bold"  # codes in clear: a monospaced font tells 0 from O and 1 from I
FONT = "Helvetica"
BOLD = "Helvetica-Bold"
PRINTER_MARGIN = 4 * mm  # office printers do not print closer than this to the paper's edge
# The PDF standard fonts know only Western European letters: "Łódź" on a return address would print as
# boxes. Text outside cp1252 is set in DejaVu (Debian: fonts-dejavu-core) when it is installed; everything
# else stays in the standard fonts, which need no embedding and keep the label sheets fast.
UNICODE_FONTS = {FONT: "DejaVuSans", BOLD: "DejaVuSans-Bold", CODE_FONT: "DejaVuSansMono-Bold"}
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts")


@cache
def _unicode_font(font: str) -> str | None:
    name = UNICODE_FONTS.get(font)
    for directory in FONT_DIRS if name else ():
        path = Path(directory) / f"{name}.ttf"
        if path.is_file():
            registerFont(TTFont(name, str(path)))
            return name
    return None


def font_for(text: str, font: str) -> str:
    """``font``, or its Unicode stand-in when ``text`` has letters the standard fonts cannot print."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return _unicode_font(font) or font
    return font


def new_canvas(pagesize, title: str, author: str = "") -> tuple[Canvas, BytesIO]:
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=pagesize, pageCompression=1)
    canvas.setTitle(title)
    if author:
        canvas.setAuthor(author)
    canvas.setCreator("MX LIMS")
    return canvas, buffer


def fitted_size(text: str, font: str, size: float, width: float, min_size: float) -> float:
    """The largest size up to ``size`` at which ``text`` fits ``width`` (never below ``min_size``)."""
    natural = stringWidth(text, font, size)
    if natural <= width or natural == 0:
        return size
    # A hair under the exact ratio: at exactly ``width`` rounding could make ``ellipsize`` cut the last letter.
    return max(min_size, size * width / natural * 0.999)


def ellipsize(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis so that it fits ``width``."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…" if text else ""


def fit(text: str, font: str, size: float, width: float, min_size: float | None = None) -> tuple[str, float]:
    """Shrink ``text`` to ``min_size`` (default: 80 % of ``size``) to fit ``width``, then cut it."""
    size = fitted_size(text, font, size, width, size * 0.8 if min_size is None else min_size)
    return ellipsize(text, font, size, width), size


def draw_text(canvas, x: float, y: float, text: str, font: str, size: float, width: float, align: str = "left", **kw):
    """One line of text fitted to ``width``; codes pass ``min_size`` low and are shrunk rather than cut."""
    font = font_for(text, font)
    text, size = fit(text, font, size, width, **kw)
    canvas.setFont(font, size)
    if align == "centre":
        canvas.drawCentredString(x + width / 2, y, text)
    elif align == "right":
        canvas.drawRightString(x + width, y, text)
    else:
        canvas.drawString(x, y, text)
    return size


def draw_block(canvas, lines: list[tuple[str, str, float, bool]], x: float, y: float, width: float, height: float):
    """Lines ``(text, font, size, is_code)`` centred vertically in the box (x, y, width, height).

    A code is shrunk to fit its width, never cut (it must read as printed); other lines are cut with an
    ellipsis. Lines that do not fit the height are left out from the last one up: the code is first.
    """
    fitted = []
    for text, font, size, is_code in lines:
        font = font_for(text, font)
        if is_code:
            size = fitted_size(text, font, size, width, 4)
        else:
            text = ellipsize(text, font, size, width)
        fitted.append((text, font, size))
    while len(fitted) > 1 and sum(size * 1.2 for _, _, size in fitted) > height:
        fitted.pop()
    total = sum(size * 1.2 for _, _, size in fitted)
    baseline = y + (height + total) / 2
    for text, font, size in fitted:
        baseline -= size * 1.2
        canvas.setFont(font, size)
        canvas.drawString(x, baseline + size * 0.22, text)


def draw_symbol(canvas, code: str, x: float, y: float, size: float) -> None:
    """The DataMatrix of ``code``, lower-left (x, y), side ``size`` points (quiet zone left to the caller)."""
    datamatrix.draw(canvas, code, x, y, size)


def draw_no_symbol(canvas, x: float, y: float, size: float, text: str = "no barcode") -> None:
    """A dashed square where a DataMatrix would be, saying why there is none."""
    canvas.saveState()
    canvas.setDash(2, 2)
    canvas.setLineWidth(0.5)
    canvas.setStrokeGray(0.4)
    canvas.rect(x, y, size, size, stroke=1, fill=0)
    canvas.setFillGray(0.3)
    font_size = fitted_size(text, FONT, 7, size * 0.9, 4)
    canvas.setFont(FONT, font_size)
    canvas.drawCentredString(x + size / 2, y + size / 2 - font_size / 3, text)
    canvas.restoreState()


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    return simpleSplit(text, font_for(text, font), size, width)


def numbered_canvas(footer):
    """A canvas class that holds its pages back until the end, so that ``footer(canvas, number, total)`` can
    print "page n of m" (and whatever else goes on every page) on each; the canvas state is saved around it."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._held = []

        def showPage(self):
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._held)
            for number, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                self.saveState()
                footer(self, number, total)
                self.restoreState()
                super().showPage()
            super().save()

    return NumberedCanvas
