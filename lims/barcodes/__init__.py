"""Barcode rules of the facility. Dewar barcodes: facility code + zero-padded number, never reused."""

from django.conf import settings


def dewar_barcode(number: int) -> str:
    """The facility barcode of the dewar with database id ``number`` (ids are never reused)."""
    return f"{settings.FACILITY_CODE}{number:0{settings.DEWAR_BARCODE_DIGITS}d}"
