"""Reads of the core domain, each starting from what the user may see."""

from django.db.models import QuerySet

from .access import scope
from .models import Beamline, LabContact, Proposal, Session


def proposal_visible_to(user) -> QuerySet[Proposal]:
    return scope(Proposal.objects.all(), user, "")


def session_visible_to(user) -> QuerySet[Session]:
    """Members see their proposals' sessions, staff all, a beamline's API token that beamline's sessions."""
    sessions = Session.objects.select_related("proposal", "beamline", "local_contact")
    if getattr(user, "is_machine", False):
        return sessions.filter(beamline_id=user.beamline_id)
    return scope(sessions, user, "proposal")


def lab_contact_visible_to(user) -> QuerySet[LabContact]:
    return scope(LabContact.objects.select_related("proposal"), user, "proposal")


def beamline_list() -> QuerySet[Beamline]:
    """Beamlines are facility facts: any signed-in user may list them."""
    return Beamline.objects.filter(active=True)


def beamline_visible_to(user) -> QuerySet[Beamline]:
    """The beamlines a principal may address: all active ones for people, its own for an API token."""
    if getattr(user, "is_machine", False):
        return beamline_list().filter(pk=user.beamline_id)
    if not getattr(user, "is_authenticated", False):
        return Beamline.objects.none()
    return beamline_list()


def local_contact_list():
    """Facility staff who can be a dewar's local contact (local contacts and beamline staff)."""
    from django.contrib.auth import get_user_model

    from .choices import FacilityRole

    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[FacilityRole.LOCAL_CONTACT, FacilityRole.BEAMLINE_STAFF])
        .distinct()
        .order_by("last_name", "first_name", "username")
    )
