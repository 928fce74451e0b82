"""Courier tracking links, from the per-courier URL templates of ``settings.COURIER_TRACKING_URLS``.

Used by the dewar and shipment pages (the ``tracking_url`` template filter of ``shipping_tracking``),
the transport history PDF and the notification emails.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings

from .choices import DewarStatus


def _templates() -> dict[str, str]:
    # Read on every call, not at import: tests and deployments override the setting.
    return {" ".join(name.split()).casefold(): url for name, url in settings.COURIER_TRACKING_URLS.items()}


def tracking_url(courier: str | None, tracking_number: str | None) -> str | None:
    """The courier's tracking page of ``tracking_number``, or None (unknown courier, no number).

    The courier is matched without regard to case or surrounding spaces ("dhl", " DHL "); the number is
    URL-encoded whole, so that a typed "/" or "&" cannot change the address it leads to.
    """
    number = (tracking_number or "").strip()
    name = " ".join((courier or "").split()).casefold()
    if not number or not name:
        return None
    template = _templates().get(name)
    if template is None:
        return None
    return template.replace("{tracking}", quote(number, safe=""))


def current_tracking(dewar) -> tuple[str, str]:
    """The courier and tracking number of the dewar's journey now: home-bound once dispatched, else inbound."""
    if dewar.status in (DewarStatus.IN_TRANSIT_TO_USER, DewarStatus.RETURNED):
        return dewar.courier_from_facility, dewar.tracking_from_facility
    return dewar.courier_to_facility, dewar.tracking_to_facility
