"""Pages of the stores: the scan station (/stores/scan/) and the stores dashboard (/stores/).

Both are for the people who scan (``lims.access.may_scan``: stores, beamline staff, admins);
anybody else signed in gets 403 (the pages show no proposal's object by URL, so nothing is confirmed).
The scan station is a page of JavaScript over the scan API: every scan goes through ``POST /api/v1/scans/``,
so the page and a handheld scanner obey the same rules. Kept apart from ``views.py`` (shipments) because
the stores pages have their own URL prefix and audience.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

from lims import access
from lims.choices import Courier

from .api.scans import RECENT_SCANS, dewar_url
from .services import INCIDENT_KINDS
from .services.scans import ACTIONS
from .stores import return_overdue_days, stores_overview


def _check(user) -> None:
    access.may_scan.require(user)


@login_required
def scan_station(request):
    """One input that keeps the focus: scan a dewar, then Enter or a location; the JavaScript does the rest."""
    _check(request.user)
    config = {
        "scanUrl": reverse("api:scan-list"),
        "lookupUrl": reverse("api:scan-lookup"),
        "decodeUrl": reverse("api:barcode-decode"),
        "actions": ACTIONS,
        "recentLimit": RECENT_SCANS,
        "timeZone": settings.TIME_ZONE,
    }
    return render(
        request,
        "shipping/scan_station.html",
        {"config": config, "couriers": Courier.values, "incident_kinds": INCIDENT_KINDS},
    )


@login_required
def stores_dashboard(request):
    """Dewars expected, here by location, waiting to go home, overdue, with incidents; each links to its page."""
    _check(request.user)
    overview = stores_overview()
    # The dewar page's URL, set on each dewar here: reverse() costs no query.
    seen = {}
    for dewar in [
        *overview.expected,
        *(d for _, dewars in overview.by_location for d in dewars),
        *overview.incidents,
    ]:
        dewar.url = seen.setdefault(dewar.pk, dewar_url(dewar))
    for dewar in overview.waiting:
        dewar.url = seen[dewar.pk]
    for item in overview.overdue:
        item.dewar.url = seen[item.dewar.pk]
    return render(
        request,
        "shipping/stores_dashboard.html",
        {"overview": overview, "overdue_days": return_overdue_days()},
    )
