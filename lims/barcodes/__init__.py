"""Barcodes of the facility: code rules (codes), DataMatrix encoding (datamatrix) and decoding (decode).

The code rules are re-exported here, so ``from lims.barcodes import dewar_barcode, normalise`` works.
"""

from .codes import (
    dewar_barcode,
    is_dewar_barcode,
    normalise,
    validate_code,
    validate_dewar_barcode,
    validate_location_code,
    validate_pin_code,
    validate_puck_code,
)

__all__ = [
    "dewar_barcode",
    "is_dewar_barcode",
    "normalise",
    "validate_code",
    "validate_dewar_barcode",
    "validate_location_code",
    "validate_pin_code",
    "validate_puck_code",
]
