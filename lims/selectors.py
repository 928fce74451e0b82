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
