"""Who sees which data: members their proposals', staff all, a beamline's API token its beamline's."""

from django.db.models import QuerySet

from lims.access import scope

from .models import DataCollection, DataCollectionGroup


def collection_visible_to(user) -> QuerySet[DataCollection]:
    collections = DataCollection.objects.all()
    if getattr(user, "is_machine", False):
        return collections.filter(beamline_id=user.beamline_id)
    return scope(collections, user, "proposal")


def group_visible_to(user) -> QuerySet[DataCollectionGroup]:
    groups = DataCollectionGroup.objects.all()
    if getattr(user, "is_machine", False):
        return groups.filter(beamline_id=user.beamline_id)
    return scope(groups, user, "proposal")
