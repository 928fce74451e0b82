"""Reads of shipments and dewars, scoped to the user, fetched in a constant number of queries."""

from django.db.models import Count, Prefetch, QuerySet

from lims.access import scope
from samples.models import Container, Sample

from .models import Dewar, DewarEvent, Location, Shipment


def shipment_visible_to(user) -> QuerySet[Shipment]:
    return scope(Shipment.objects.all(), user, "proposal")


def dewar_visible_to(user) -> QuerySet[Dewar]:
    return scope(Dewar.objects.all(), user, "shipment__proposal")


def shipment_list(user) -> QuerySet[Shipment]:
    """Shipments with what a list shows: proposal, counts of dewars, containers and samples."""
    return (
        shipment_visible_to(user)
        .select_related("proposal")
        .annotate(
            dewar_count=Count("dewars", distinct=True),
            container_count=Count("containers", distinct=True),
            sample_count=Count("containers__samples", distinct=True),
        )
    )


def shipment_detail(user) -> QuerySet[Shipment]:
    """Shipments with their whole tree prefetched: dewars → events, containers → samples → protein."""
    samples = Sample.objects.select_related("protein").order_by("position")
    containers = Container.objects.prefetch_related(Prefetch("samples", queryset=samples)).order_by("id")
    events = DewarEvent.objects.select_related("location", "user").order_by("at", "id")
    dewars = (
        Dewar.objects.select_related("location", "delivery_location", "session__beamline", "local_contact")
        .prefetch_related(Prefetch("containers", queryset=containers), Prefetch("events", queryset=events))
        .order_by("id")
    )
    return (
        shipment_visible_to(user)
        .select_related("proposal", "sending_contact", "return_contact", "created_by")
        .prefetch_related(Prefetch("dewars", queryset=dewars))
    )


def location_list() -> QuerySet[Location]:
    return Location.objects.filter(active=True).select_related("beamline")


def delivery_locations() -> QuerySet[Location]:
    from .choices import LocationKind

    return location_list().filter(kind__in=[LocationKind.STORES, LocationKind.BEAMLINE])


def shipment_audit_entries(shipment: Shipment):
    """The audit entries of a shipment and of every dewar, container and sample in it, in one query.

    Pass a shipment from ``shipment_detail`` so that the ids of its tree are already fetched.
    """
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Q

    from lims.models import AuditEntry

    dewars = list(shipment.dewars.all())
    containers = [c for d in dewars for c in d.containers.all()]
    samples = [s for c in containers for s in c.samples.all()]
    query = Q()
    for model, objects in ((Shipment, [shipment]), (Dewar, dewars), (Container, containers), (Sample, samples)):
        if objects:
            content_type = ContentType.objects.get_for_model(model)
            query |= Q(content_type=content_type, object_id__in=[str(o.pk) for o in objects])
    return AuditEntry.objects.filter(query).select_related("user", "content_type").order_by("-at", "-id")
