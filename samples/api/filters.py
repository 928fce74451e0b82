"""Filters of the protein list (django-filter)."""

import django_filters

from lims.api.filters import visible_proposals
from samples.models import Protein


class ProteinFilter(django_filters.FilterSet):
    """Proteins of a proposal, or by acronym."""

    proposal = django_filters.ModelChoiceFilter(queryset=visible_proposals)
    acronym = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Protein
        fields = ["proposal", "acronym"]
