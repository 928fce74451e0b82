from django.conf import settings

from . import rules


def facility(request):
    """The facility's name on every page; ``MAY_SCAN`` and ``MAY_SEE_CHANGERS``: whether the nav shows
    the stores pages and the beamlines' sample changers; ``MAY_WORK_MAILIN``: the mail-in queue."""

    # Called only when a template asks, and the roles are cached on the user by then on most pages.
    def may_scan():
        return rules.may_scan(request.user)

    def may_see_changers():
        return rules.may_see_changer(request.user)

    def may_work_mailin():
        return rules.may_operate_mailin(request.user)

    return {
        "FACILITY_NAME": settings.FACILITY_NAME,
        "MAY_SCAN": may_scan,
        "MAY_SEE_CHANGERS": may_see_changers,
        "MAY_WORK_MAILIN": may_work_mailin,
    }
