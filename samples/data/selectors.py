"""Who sees which data: members their proposals', staff all but industrial proposals' (confidential: only
their members, mail-in operators and admins, ``lims.access.scope_confidential``), a beamline's API token its
beamline's, never an industrial proposal's."""

from django.db.models import QuerySet

from lims.access import is_facility_staff, scope_confidential
from lims.models import Proposal

from .models import DataCollection, DataCollectionGroup


def collection_visible_to(user) -> QuerySet[DataCollection]:
    """``scope_confidential``'s rule, by the proposal's id, never a join: a member's collections are those of
    their proposals' ids; staff and tokens, who see every proposal's but a few, see all but those of the
    proposals the rule hides (NOT IN a subquery that PostgreSQL hashes once). So a walk down an index in its
    order (the catalogue's newest first, its search) stays one, with nothing looked up per row."""
    collections = DataCollection.objects.all()
    if getattr(user, "is_machine", False):
        collections = collections.filter(beamline_id=user.beamline_id)
    elif not is_facility_staff(user):
        return scope_confidential(collections, user, "proposal")
    shown = scope_confidential(Proposal.objects.all(), user, "")
    return collections.exclude(proposal_id__in=Proposal.objects.exclude(pk__in=shown.values("pk")).values("pk"))


def group_visible_to(user) -> QuerySet[DataCollectionGroup]:
    groups = DataCollectionGroup.objects.all()
    if getattr(user, "is_machine", False):
        groups = groups.filter(beamline_id=user.beamline_id)
    return scope_confidential(groups, user, "proposal")


def collection_writable_by(principal) -> QuerySet[DataCollection]:
    """The collections a beamline's API token may attach results to: its beamline's, industrial proposals'
    included (ingest writes what it cannot read back). For people, what they see."""
    if getattr(principal, "is_machine", False):
        return DataCollection.objects.filter(beamline_id=principal.beamline_id)
    return collection_visible_to(principal)


def group_writable_by(principal) -> QuerySet[DataCollectionGroup]:
    """The groups a collection may join: a token's beamline's (as ``collection_writable_by``); people's, those
    they see."""
    if getattr(principal, "is_machine", False):
        return DataCollectionGroup.objects.filter(beamline_id=principal.beamline_id)
    return group_visible_to(principal)
