from django.conf import settings


def facility(request):
    """The facility's name on every page; ``MAY_SCAN``: whether the nav shows the stores pages."""

    def may_scan():
        # Called only when a template asks, and the roles are cached on the user by then on most pages.
        from shipping.services.scans import may_scan

        return may_scan(request.user)

    return {"FACILITY_NAME": settings.FACILITY_NAME, "MAY_SCAN": may_scan}
