"""REST endpoints of proteins and containers (pucks); containers are written within their shipment."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from lims.api.views import ScopedQuerysetMixin
from lims.barcodes.decode import MAX_UPLOAD_BYTES, DecodeError
from samples import selectors
from samples.audit import puck_audit

from .filters import ProteinFilter
from .serializers import ContainerDetailSerializer, ProteinSerializer, PuckAuditSerializer, PuckPhotoSerializer


class ProteinViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Proteins of the user's proposals (new ones are added by acronym when registering samples)."""

    selector = selectors.protein_visible_to
    serializer_class = ProteinSerializer
    filterset_class = ProteinFilter
    ordering_fields = ["acronym", "created_at"]


class ContainerViewSet(ScopedQuerysetMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A puck with its pins; its photo audits (``POST .../audit/`` checks a photo against the registration)."""

    selector = selectors.container_detail
    serializer_class = ContainerDetailSerializer

    @extend_schema(request={"multipart/form-data": PuckPhotoSerializer}, responses=PuckAuditSerializer)
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def audit(self, request, pk=None):
        """Check a photo of the puck seen from above; the stored audit with its result.

        A photo without any code is an audit in which every pin is missing; a file that is not a
        readable image is a 400 with the decoder's ``code`` ("not_an_image", "empty", "too_large").
        """
        container = self.get_object()
        photo = PuckPhotoSerializer(data=request.data)
        photo.is_valid(raise_exception=True)
        try:
            data = photo.validated_data["image"].read(MAX_UPLOAD_BYTES + 1)
            audit = puck_audit(container=container, user=request.user, image_bytes=data)
        except DecodeError as exc:
            return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_400_BAD_REQUEST)
        return Response(PuckAuditSerializer(audit).data)

    @extend_schema(responses=PuckAuditSerializer(many=True))
    @action(detail=True, methods=["get"])
    def audits(self, request, pk=None):
        """The puck's audits, newest first."""
        page = self.paginate_queryset(selectors.container_audits(self.get_object()))
        return self.get_paginated_response(PuckAuditSerializer(page, many=True).data)
