"""Filters of the protein, container and sample lists (django-filter)."""

import django_filters
from django.db.models import Q

from lims.api.filters import visible_proposals
from lims.barcodes.codes import normalise
from lims.models import Beamline
from samples.choices import CONTAINER_GONE, ContainerStatus, ContainerType, SampleStatus
from samples.models import Container, Protein, Sample
from samples.selectors import sample_visible_to


class ProteinFilter(django_filters.FilterSet):
    """Proteins of a proposal, or by acronym."""

    proposal = django_filters.ModelChoiceFilter(queryset=visible_proposals)
    acronym = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Protein
        fields = ["proposal", "acronym"]


def scanned(queryset, name, value):
    """A code as a scanner sends it (AIM prefix, CR/LF, lower case) matched against the stored code."""
    return queryset.filter(**{name: normalise(value)})


class ContainerFilter(django_filters.FilterSet):
    """Pucks by barcode (as scanned), by shipment or dewar, or those in a beamline's sample changer."""

    barcode = django_filters.CharFilter(method=scanned, help_text="The puck's barcode, as a scanner sends it.")
    shipment = django_filters.NumberFilter(field_name="shipment_id")
    dewar = django_filters.NumberFilter(field_name="dewar_id")
    beamline = django_filters.ModelChoiceFilter(queryset=Beamline.objects.all(), help_text="In its sample changer.")
    status = django_filters.ChoiceFilter(choices=ContainerStatus.choices)
    container_type = django_filters.ChoiceFilter(choices=ContainerType.choices)

    class Meta:
        model = Container
        fields = ["barcode", "shipment", "dewar", "beamline", "status", "container_type"]


def live_pin(queryset, name, value):
    """A pin code names one live sample (retired samples' pins may be reused)."""
    return scanned(queryset, name, value).filter(retired_at__isnull=True)


class SampleFilter(django_filters.FilterSet):
    """Samples by pin code (as scanned), by puck, or those in a beamline's sample changer."""

    pin_code = django_filters.CharFilter(
        method=live_pin, help_text="The pin's DataMatrix code, as a scanner sends it (live samples only)."
    )
    container = django_filters.NumberFilter(field_name="container_id")
    container_barcode = django_filters.CharFilter(field_name="container__barcode", method=scanned)
    beamline = django_filters.ModelChoiceFilter(
        field_name="container__beamline", queryset=Beamline.objects.all(), help_text="Its puck in that changer."
    )
    status = django_filters.ChoiceFilter(choices=SampleStatus.choices)
    name = django_filters.CharFilter()

    class Meta:
        model = Sample
        fields = ["pin_code", "container", "container_barcode", "beamline", "status", "name"]


# The samples of a beamline's changer and of a session: the querysets behind their list endpoints.


def sample_queryset(user):
    """Samples the caller may see, with their puck's sample-changer position."""
    return sample_visible_to(user).select_related("container__beamline")


def samples_of_session(user, session):
    """The session's samples the caller may see: its proposal's pucks in the beamline's changer or in a
    dewar booked on the session, but for pucks gone home (returned, disposed). Ordered as they sit in the
    changer."""
    return (
        sample_queryset(user)
        .filter(container__shipment__proposal_id=session.proposal_id)
        .filter(Q(container__beamline_id=session.beamline_id) | Q(container__dewar__session_id=session.pk))
        .exclude(container__status__in=CONTAINER_GONE)
        .order_by("container__changer_position", "container_id", "position")
    )


def samples_of_beamline(user, beamline):
    """The samples in ``beamline``'s sample changer that the caller may see, in changer order."""
    return (
        sample_queryset(user)
        .filter(container__beamline_id=beamline.pk)
        .order_by("container__changer_position", "position")
    )
