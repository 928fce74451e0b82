"""Filters of the core domain's list endpoints (django-filter)."""

import django_filters

from lims.models import Beamline, LabContact, Session
from lims.selectors import proposal_visible_to


def visible_proposals(request):
    """Filter choices are scoped too: naming another proposal is "not a valid choice", as for a 404."""
    return proposal_visible_to(getattr(request, "user", None))


class SessionFilter(django_filters.FilterSet):
    """Sessions of a proposal, on a beamline, starting in a time window."""

    proposal = django_filters.ModelChoiceFilter(queryset=visible_proposals)
    beamline = django_filters.ModelChoiceFilter(queryset=Beamline.objects.all())
    start_after = django_filters.IsoDateTimeFilter(field_name="start", lookup_expr="gte")
    start_before = django_filters.IsoDateTimeFilter(field_name="start", lookup_expr="lt")

    class Meta:
        model = Session
        fields = ["proposal", "beamline", "start_after", "start_before"]


class LabContactFilter(django_filters.FilterSet):
    """Lab contact cards of a proposal."""

    proposal = django_filters.ModelChoiceFilter(queryset=visible_proposals)

    class Meta:
        model = LabContact
        fields = ["proposal"]
