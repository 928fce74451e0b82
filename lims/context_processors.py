from django.conf import settings


def facility(request):
    """The facility's name on every page; ``MAY_SCAN`` and ``MAY_SEE_CHANGERS``: whether the nav shows
    the stores pages and the beamlines' sample changers; ``MAY_WORK_MAILIN``: the mail-in queue."""

    # Called only when a template asks, and the roles are cached on the user by then on most pages.
    def may_scan():
        from shipping.services.scans import may_scan

        return may_scan(request.user)

    def may_see_changers():
        from .access import has_role
        from .choices import FacilityRole

        return has_role(request.user, FacilityRole.BEAMLINE_STAFF, FacilityRole.LOCAL_CONTACT, FacilityRole.ADMIN)

    def may_work_mailin():
        from samples.mailin.services import may_operate

        return may_operate(request.user)

    return {
        "FACILITY_NAME": settings.FACILITY_NAME,
        "MAY_SCAN": may_scan,
        "MAY_SEE_CHANGERS": may_see_changers,
        "MAY_WORK_MAILIN": may_work_mailin,
    }
