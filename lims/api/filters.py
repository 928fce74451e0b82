"""Filters of the core domain's list endpoints (django-filter)."""

import django_filters
from django_filters.fields import IsoDateTimeField

from lims.models import Beamline, LabContact, Session
from lims.selectors import proposal_visible_to
from lims.validators import validate_datetime


class DateTimeField(IsoDateTimeField):
    """ISO 8601, refusing (a 400) a time the database cannot compare: ``0014-05-28T12:26:01+22:10``, year 1
    with a negative offset, year 9999 with a positive one (see ``lims.validators.validate_datetime``)."""

    default_validators = [validate_datetime]


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    """The one datetime filter of every list endpoint (lims, shipping, samples): use it for any time filter."""

    field_class = DateTimeField


def visible_proposals(request):
    """Filter choices are scoped too: naming another proposal is "not a valid choice", as for a 404."""
    return proposal_visible_to(getattr(request, "user", None))


class SessionFilter(django_filters.FilterSet):
    """Sessions of a proposal, on a beamline, starting in a time window."""

    proposal = django_filters.ModelChoiceFilter(queryset=visible_proposals)
    beamline = django_filters.ModelChoiceFilter(queryset=Beamline.objects.all())
    start_after = DateTimeFilter(field_name="start", lookup_expr="gte")
    start_before = DateTimeFilter(field_name="start", lookup_expr="lt")

    class Meta:
        model = Session
        fields = ["proposal", "beamline", "start_after", "start_before"]


class LabContactFilter(django_filters.FilterSet):
    """Lab contact cards of a proposal."""

    proposal = django_filters.ModelChoiceFilter(queryset=visible_proposals)

    class Meta:
        model = LabContact
        fields = ["proposal"]
