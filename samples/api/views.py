"""REST endpoints of proteins; containers and samples are read and written within their shipment."""

from rest_framework import viewsets

from lims.api.views import ScopedQuerysetMixin
from samples import selectors

from .filters import ProteinFilter
from .serializers import ProteinSerializer


class ProteinViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Proteins of the user's proposals (new ones are added by acronym when registering samples)."""

    selector = selectors.protein_visible_to
    serializer_class = ProteinSerializer
    filterset_class = ProteinFilter
    ordering_fields = ["acronym", "created_at"]
