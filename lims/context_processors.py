from django.conf import settings


def facility(request):
    """The facility's name on every page."""
    return {"FACILITY_NAME": settings.FACILITY_NAME}
