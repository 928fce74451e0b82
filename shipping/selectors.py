"""Reads of shipments and dewars, scoped to the user, fetched in a constant number of queries."""

from django.db.models import Count, Prefetch, QuerySet

from lims.access import scope
from lims.compiled import CompiledQuery
from samples.models import Container, Sample

from .choices import DewarStatus
from .models import Dewar, DewarEvent, Location, Shipment


def shipment_visible_to(user) -> QuerySet[Shipment]:
    return scope(Shipment.objects.all(), user, "proposal")


def dewar_visible_to(user) -> QuerySet[Dewar]:
    return scope(Dewar.objects.all(), user, "shipment__proposal")


def dewar_by_barcode(user, code: str) -> Dewar | None:
    """The dewar with this barcode among those ``user`` may see (the code normalised as scanners send it),
    with what a scan card shows; None when there is none."""
    from lims.barcodes.codes import normalise

    code = normalise(code)
    if not code:
        return None
    related = ("shipment__proposal", "shipment__created_by", "location", "delivery_location", "session__beamline")
    return dewar_visible_to(user).select_related(*related).filter(barcode=code).first()


def location_by_barcode(code: str) -> Location | None:
    """The active location with this barcode (normalised); None when there is none. Locations are no secret."""
    from lims.barcodes.codes import normalise

    code = normalise(code)
    if not code:
        return None
    found = _LOCATION_BY_CODE.objects(code=code)
    return found[0] if found else None


# Every scan with a location reads it: its SQL is compiled once per process (lims.compiled).
_LOCATION_BY_CODE = CompiledQuery(
    lambda code: Location.objects.filter(barcode=code, active=True).select_related("beamline").order_by("pk")[:1]
)


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


def dewar_detail(user) -> QuerySet[Dewar]:
    """Dewars with what the dewar page shows, in one query plus one for the events: shipment, proposal,
    locations, session, local contact; ``number`` and ``count`` ("2 of 3") of the dewar in its shipment."""
    from django.db.models import IntegerField, OuterRef, Subquery

    siblings = Dewar.objects.filter(shipment=OuterRef("shipment")).order_by().values("shipment")
    number = siblings.filter(id__lte=OuterRef("id")).annotate(n=Count("id")).values("n")
    count = siblings.annotate(n=Count("id")).values("n")
    events = DewarEvent.objects.select_related("location", "user").order_by("at", "id")
    return (
        dewar_visible_to(user)
        .select_related("shipment__proposal", "location", "delivery_location", "session__beamline", "local_contact")
        .prefetch_related(Prefetch("events", queryset=events))
        .annotate(
            number=Subquery(number, output_field=IntegerField()),
            count=Subquery(count, output_field=IntegerField()),
        )
    )


# A dewar is home when it is back (returned), never left (registered) or will not travel (cancelled).
HOME_STATUSES = (DewarStatus.REGISTERED, DewarStatus.RETURNED, DewarStatus.CANCELLED)


def dewars_away_from_home(user) -> QuerySet[Dewar]:
    """ "Where is my dewar": the dewars of the user's own proposals that are not home, each with its last
    event (``last_events``, one at most), in two queries whatever their number.

    Only the proposals the user is a member of, staff included: the stores dashboard lists every dewar.
    """
    from lims.access import member_proposal_ids

    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Dewar.objects.none()
    last = DewarEvent.objects.select_related("location", "user").order_by("-at", "-id")[:1]
    return (
        Dewar.objects.filter(shipment__proposal__in=member_proposal_ids(user))
        .exclude(status__in=HOME_STATUSES)
        .select_related("shipment__proposal", "location")
        .prefetch_related(Prefetch("events", queryset=last, to_attr="last_events"))
        .order_by("shipment__proposal__code", "shipment__proposal__number", "shipment__name", "id")
    )
