from django.conf import settings

from . import access


def facility(request):
    """The facility's name on every page; ``MAY_SCAN`` and ``MAY_SEE_CHANGERS``: whether the nav shows
    the stores pages and the beamlines' sample changers; ``MAY_WORK_MAILIN``: the mail-in queue;
    ``OIDC_LOGIN``: who the sign-in page's "Sign in with …" button names, empty when it is not shown
    (OpenID Connect not configured, or ``OIDC_BUTTON=0``)."""

    # Called only when a template asks, and the roles are cached on the user by then on most pages.
    def may_scan():
        return access.may_scan(request.user)

    def may_see_changers():
        return access.may_see_changer(request.user)

    def may_work_mailin():
        return access.may_operate_mailin(request.user)

    return {
        "FACILITY_NAME": settings.FACILITY_NAME,
        "MAY_SCAN": may_scan,
        "MAY_SEE_CHANGERS": may_see_changers,
        "MAY_WORK_MAILIN": may_work_mailin,
        "OIDC_LOGIN": oidc_login(),
    }


def oidc_login() -> str:
    if not (getattr(settings, "OIDC_ENABLED", False) and getattr(settings, "OIDC_BUTTON", True)):
        return ""
    return getattr(settings, "OIDC_PROVIDER_NAME", "") or settings.FACILITY_NAME
