"""Filters of the shipment list (django-filter)."""

import django_filters

from lims.api.filters import visible_proposals
from shipping.choices import ShipmentStatus
from shipping.models import Shipment


class ShipmentFilter(django_filters.FilterSet):
    """Shipments by status (one or several: ``?status=draft&status=sent``) and proposal."""

    status = django_filters.MultipleChoiceFilter(choices=ShipmentStatus.choices)
    proposal = django_filters.ModelChoiceFilter(queryset=visible_proposals)
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Shipment
        fields = ["status", "proposal", "name"]
