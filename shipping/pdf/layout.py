"""Page sizes and the grids of label sheets, read from the settings and checked against the page.

A sheet of label stock is a grid: ``columns`` × ``rows`` labels of ``width`` × ``height`` mm, the first one
``margin_left`` and ``margin_top`` mm from the page's top-left corner, ``gap_x``/``gap_y`` mm between them.
The facility sets each figure (``PIN_LABEL_*``, ``PUCK_LABEL_*``, see README.md); a grid that does not fit
its page would print across the labels' edges, so it is refused with a message that names the settings.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from reportlab.lib.pagesizes import A4, A5, letter
from reportlab.lib.units import mm

PAGE_SIZES = {"A4": A4, "A5": A5, "LETTER": letter}
PAGE_NAMES = {"A4": "A4", "A5": "A5", "LETTER": "Letter"}
SHEET_PAGE_SIZES = ("A4", "LETTER")  # label stock comes in these; A5 is for dewar labels only
MIN_DATAMATRIX_MM = 5  # below this an office printer's dots blur the modules of a 14×14 symbol
QUIET_ZONE = 0.2  # of the symbol's side: one module on each side of a symbol of 10 modules or more
MIN_TEXT_BESIDE_MM = 12  # room beside the symbol for the code in clear; else it goes below
MIN_TEXT_BELOW_MM = 3.5  # one line of small text
TOLERANCE_MM = 0.01  # sheets are specified to the hundredth of a millimetre


class LabelLayoutError(ImproperlyConfigured):
    """The facility's label settings do not make a printable sheet; the message names the settings."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def page_key(name: str) -> str:
    """``"a4"``, ``"Letter"``... as a key of PAGE_SIZES; raises ValueError for a size we do not print on."""
    key = str(name).strip().upper()
    if key not in PAGE_SIZES:
        raise ValueError(f"Choose one of: {', '.join(PAGE_NAMES.values())}.")
    return key


@dataclass(frozen=True)
class SheetLayout:
    """The grid of one kind of label sheet (pins or pucks), all lengths in millimetres."""

    kind: str  # "PIN" or "PUCK": the prefix of its settings
    page: str  # a key of PAGE_SIZES
    width: float
    height: float
    columns: int
    rows: int
    margin_left: float
    margin_top: float
    gap_x: float
    gap_y: float
    datamatrix: float

    @classmethod
    def from_settings(cls, kind: str) -> SheetLayout:
        """The layout the facility configured for ``kind``; raises LabelLayoutError if it does not fit."""
        names = cls.setting_names(kind)
        values = {}
        problems = []
        for field in fields(cls):
            if field.name not in names:
                continue
            raw = getattr(settings, names[field.name])
            try:
                values[field.name] = int(raw) if field.name in ("columns", "rows") else float(raw)
            except (TypeError, ValueError):
                problems.append(f"{names[field.name]} must be a number, not {raw!r}.")
        page = str(settings.LABEL_PAGE_SIZE).strip().upper()
        if page not in SHEET_PAGE_SIZES:
            problems.append(f"LABEL_PAGE_SIZE must be A4 or Letter, not {settings.LABEL_PAGE_SIZE!r}.")
        if problems:
            raise LabelLayoutError(" ".join(problems))
        layout = cls(kind=kind, page=page, **values)
        problems = layout.problems()
        if problems:
            raise LabelLayoutError(" ".join(problems))
        return layout

    @staticmethod
    def setting_names(kind: str) -> dict[str, str]:
        """Field name → setting name, e.g. ``"gap_x"`` → ``"PIN_LABEL_GAP_X_MM"``."""
        names = {
            name: f"{kind}_LABEL_{name.upper()}_MM"
            for name in ("width", "height", "margin_left", "margin_top", "gap_x", "gap_y")
        }
        names |= {"columns": f"{kind}_LABEL_COLUMNS", "rows": f"{kind}_LABEL_ROWS"}
        names["datamatrix"] = f"{kind}_DATAMATRIX_MM"
        return names

    def problems(self) -> list[str]:
        """What makes this grid unprintable, each problem a sentence naming the settings to change."""
        n = self.setting_names(self.kind)
        problems = []
        for name in ("columns", "rows", "width", "height", "datamatrix"):
            if getattr(self, name) <= 0:
                problems.append(f"{n[name]} must be more than 0.")
        for name in ("margin_left", "margin_top", "gap_x", "gap_y"):
            if getattr(self, name) < 0:
                problems.append(f"{n[name]} cannot be negative.")
        if problems:
            return problems
        page_w, page_h = (side / mm for side in PAGE_SIZES[self.page])
        need_w = self.margin_left + self.columns * self.width + (self.columns - 1) * self.gap_x
        need_h = self.margin_top + self.rows * self.height + (self.rows - 1) * self.gap_y
        page = PAGE_NAMES[self.page]
        if need_w > page_w + TOLERANCE_MM:
            problems.append(
                f"{self.kind.capitalize()} labels: {self.columns} columns of {self.width:g} mm with {self.gap_x:g} mm gaps from "
                f"{self.margin_left:g} mm need {need_w:.1f} mm, wider than the {page} page ({page_w:.1f} mm); "
                f"change {n['columns']}, {n['width']}, {n['gap_x']} or {n['margin_left']}."
            )
        if need_h > page_h + TOLERANCE_MM:
            problems.append(
                f"{self.kind.capitalize()} labels: {self.rows} rows of {self.height:g} mm with {self.gap_y:g} mm gaps from "
                f"{self.margin_top:g} mm need {need_h:.1f} mm, taller than the {page} page ({page_h:.1f} mm); "
                f"change {n['rows']}, {n['height']}, {n['gap_y']} or {n['margin_top']}."
            )
        with_quiet_zone = self.datamatrix * (1 + QUIET_ZONE)
        if self.datamatrix < MIN_DATAMATRIX_MM:
            problems.append(
                f"{n['datamatrix']} is {self.datamatrix:g} mm: a DataMatrix smaller than {MIN_DATAMATRIX_MM} mm "
                "does not print readably on an office printer."
            )
        elif with_quiet_zone > min(self.width, self.height) + TOLERANCE_MM:
            problems.append(
                f"{n['datamatrix']} is {self.datamatrix:g} mm: with its quiet zone ({with_quiet_zone:.1f} mm) it does "
                f"not fit a label of {self.width:g} × {self.height:g} mm."
            )
        elif self.text_place() is None:
            problems.append(
                f"{self.kind.capitalize()} labels of {self.width:g} × {self.height:g} mm leave no room for the code in clear "
                f"beside or below a DataMatrix of {self.datamatrix:g} mm; make {n['datamatrix']} smaller."
            )
        return problems

    def text_place(self) -> str | None:
        """Where the text goes: "beside" the symbol, "below" it, or None if there is no room."""
        if self.width - self.datamatrix * (1 + QUIET_ZONE) >= MIN_TEXT_BESIDE_MM:
            return "beside"
        if self.height - self.datamatrix * (1 + QUIET_ZONE) >= MIN_TEXT_BELOW_MM:
            return "below"
        return None

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def pagesize(self) -> tuple[float, float]:
        return PAGE_SIZES[self.page]

    def origin(self, index: int) -> tuple[float, float]:
        """Lower-left corner, in points, of the ``index``-th label of a page (row by row from the top left)."""
        row, column = divmod(index % self.per_page, self.columns)
        x = (self.margin_left + column * (self.width + self.gap_x)) * mm
        top = (self.margin_top + row * (self.height + self.gap_y)) * mm
        return x, self.pagesize[1] - top - self.height * mm


def layout_problems() -> list[str]:
    """Every problem of the configured sheets, for the system check."""
    problems = []
    for kind in ("PIN", "PUCK"):
        try:
            SheetLayout.from_settings(kind)
        except LabelLayoutError as exc:
            if exc.message not in problems:  # a bad LABEL_PAGE_SIZE is the same problem for both sheets
                problems.append(exc.message)
    return problems
