"""Label stocks: the sheets of labels facilities buy, by name, for the pin-cap and puck labels (shipping/pdf).

Each is (page size, label width, label height, columns, rows, left margin, top margin, gap across, gap down),
lengths in mm, as the maker's template gives them. ``LABEL_STOCK`` picks the pin labels' stock and
``PUCK_LABEL_STOCK`` the puck labels'; any ``PIN_LABEL_*`` / ``PUCK_LABEL_*`` setting still overrides one figure.
"""

STOCKS: dict[str, tuple[str, float, float, int, int, float, float, float, float]] = {
    # Avery L7651 (A4): 65 labels of 38.1 × 21.2 mm.
    "avery-l7651": ("A4", 38.1, 21.2, 5, 13, 4.75, 10.7, 2.5, 0),
    # Avery L7160 (A4): 21 labels of 63.5 × 38.1 mm.
    "avery-l7160": ("A4", 63.5, 38.1, 3, 7, 7.2, 15.15, 2.5, 0),
    # Avery 5167 (Letter): 80 labels of 1¾ × ½ in.
    "avery-5167": ("LETTER", 44.45, 12.7, 4, 20, 7.14, 12.7, 7.94, 0),
    # Avery 5160 (Letter): 30 labels of 2⅝ × 1 in.
    "avery-5160": ("LETTER", 66.68, 25.4, 3, 10, 4.76, 12.7, 3.18, 0),
}
# The stock used when none is named, by page size.
DEFAULT_PIN_STOCK = {"A4": "avery-l7651", "LETTER": "avery-5167"}
DEFAULT_PUCK_STOCK = {"A4": "avery-l7160", "LETTER": "avery-5160"}
# A SPINE or UniPuck pin cap's base (9–10 mm across) holds about a 6.4 mm square: the pin symbol with its quiet
# zone (one module each side, a fifth of the side for a 10-module symbol) stays within it.
PIN_CAP_SQUARE_MM = 6.4
PIN_DATAMATRIX_MM = 5.3
PUCK_DATAMATRIX_MM = {"avery-l7160": 24, "avery-5160": 20}


def stock(name: str, setting: str) -> tuple:
    """The stock named ``name``; a clear error naming the setting and the stocks known otherwise."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        return STOCKS[name.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(STOCKS))
        raise ImproperlyConfigured(
            f"{setting}={name!r} is no label stock this LIMS knows: use one of {known}."
        ) from None
