"""Reads of the core domain, each starting from what the user may see."""

from django.db.models import QuerySet

from .access import scope
from .models import Beamline, LabContact, Proposal, Session


def proposal_visible_to(user) -> QuerySet[Proposal]:
    return scope(Proposal.objects.all(), user, "")


def session_visible_to(user) -> QuerySet[Session]:
    return scope(Session.objects.select_related("proposal", "beamline", "local_contact"), user, "proposal")


def lab_contact_visible_to(user) -> QuerySet[LabContact]:
    return scope(LabContact.objects.select_related("proposal"), user, "proposal")


def beamline_list() -> QuerySet[Beamline]:
    """Beamlines are facility facts: any signed-in user may list them."""
    return Beamline.objects.filter(active=True)


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
