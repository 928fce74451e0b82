"""Labels as PDF (reportlab): renderers take plain data (``data``) and return the bytes of a PDF.

    dewar_labels(shipment) → render_dewar_labels(labels, page_size)      one page per dewar
    puck_labels(shipment)  → render_puck_labels(sheet)                   on PUCK_LABEL_* label stock
    pin_labels(shipment)   → render_pin_labels(sheet)                    on PIN_LABEL_* label stock
    location_sections(locations, beamlines) → render_location_sheets(sections)

The builders read a shipment fetched once by ``shipping.selectors.shipment_detail``; nothing here queries.
"""

from .data import (
    DewarLabel,
    LabelSheet,
    LocationLabel,
    LocationSection,
    PinLabel,
    PuckLabel,
    dewar_labels,
    location_sections,
    pin_labels,
    puck_labels,
    sample_changer_position_code,
)
from .dewar import REMOVE_OLD_LABELS, render_dewar_labels
from .layout import LabelLayoutError, SheetLayout, layout_problems, page_key
from .sheets import render_location_sheets, render_pin_labels, render_puck_labels

__all__ = [
    "REMOVE_OLD_LABELS",
    "DewarLabel",
    "LabelLayoutError",
    "LabelSheet",
    "LocationLabel",
    "LocationSection",
    "PinLabel",
    "PuckLabel",
    "SheetLayout",
    "dewar_labels",
    "layout_problems",
    "location_sections",
    "page_key",
    "pin_labels",
    "puck_labels",
    "render_dewar_labels",
    "render_location_sheets",
    "render_pin_labels",
    "render_puck_labels",
    "sample_changer_position_code",
]
