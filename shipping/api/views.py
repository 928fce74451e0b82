"""REST endpoints of shipments and locations.

Thin: querysets come from ``shipping.selectors`` (scoped to the user, the tree prefetched), writes and
status changes from ``shipping.services``, sheet imports from ``samples.sheets``; their errors become
responses in ``lims.api.errors``.
"""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from samples import sheets
from samples.api.serializers import ImportResultSerializer, SheetUploadSerializer
from shipping import selectors, services

from .filters import ShipmentFilter
from .serializers import (
    LocationSerializer,
    ShipmentCreateSerializer,
    ShipmentDetailSerializer,
    ShipmentListSerializer,
    ShipmentWriteSerializer,
)

TEMPLATE_FORMATS = {
    "csv": (sheets.template_csv, "text/csv; charset=utf-8"),
    "xlsx": (sheets.template_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


class FileFormatNegotiation(DefaultContentNegotiation):
    """Errors in JSON whatever ``?format=`` says: here it names the file to download, not a renderer."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class LocationViewSet(viewsets.ReadOnlyModelViewSet):
    """Active locations of the facility (stores, beamlines...): any signed-in user may read them."""

    queryset = selectors.location_list()
    serializer_class = LocationSerializer
    filterset_fields = ["kind", "beamline"]
    ordering_fields = ["name", "kind"]


class ShipmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Shipments of the user's proposals, each written and read as one tree. No delete: cancel it."""

    filterset_class = ShipmentFilter
    ordering_fields = ["created_at", "sent_at", "expected_arrival", "name", "status", "id"]
    ordering = ["-created_at", "-id"]
    serializer_classes = {
        "list": ShipmentListSerializer,
        "create": ShipmentCreateSerializer,
        "update": ShipmentWriteSerializer,
        "partial_update": ShipmentWriteSerializer,
        "import_sheet": SheetUploadSerializer,
    }

    def get_queryset(self):
        user = self.request.user
        if self.action == "list":
            return selectors.shipment_list(user)
        if self.action == "retrieve":
            return selectors.shipment_detail(user)
        return selectors.shipment_visible_to(user)

    def get_serializer_class(self):
        return self.serializer_classes.get(self.action, ShipmentDetailSerializer)

    def detail_response(self, shipment, status_code=status.HTTP_200_OK) -> Response:
        """The shipment's whole tree, read back through the prefetching selector."""
        shipment = selectors.shipment_detail(self.request.user).get(pk=shipment.pk)
        serializer = ShipmentDetailSerializer(shipment, context=self.get_serializer_context())
        return Response(serializer.data, status=status_code)

    @extend_schema(request=ShipmentCreateSerializer, responses={201: ShipmentDetailSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        proposal = data.pop("proposal")
        shipment = services.shipment_create(proposal=proposal, user=request.user, data=data)
        return self.detail_response(shipment, status.HTTP_201_CREATED)

    @extend_schema(request=ShipmentWriteSerializer, responses=ShipmentDetailSerializer)
    def update(self, request, *args, **kwargs):
        shipment = self.get_object()
        serializer = self.get_serializer(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        shipment = services.shipment_update(shipment=shipment, user=request.user, data=dict(serializer.validated_data))
        return self.detail_response(shipment)

    @extend_schema(request=ShipmentWriteSerializer, responses=ShipmentDetailSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(request=None, responses=ShipmentDetailSerializer)
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Mark a draft shipment as sent: every dewar goes in transit to the facility."""
        shipment = services.shipment_send(shipment=self.get_object(), user=request.user)
        return self.detail_response(shipment)

    @extend_schema(request=None, responses=ShipmentDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a draft shipment (shipments are never deleted)."""
        shipment = services.shipment_cancel(shipment=self.get_object(), user=request.user)
        return self.detail_response(shipment)

    @extend_schema(request={"multipart/form-data": SheetUploadSerializer}, responses=ImportResultSerializer)
    @action(detail=True, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_sheet(self, request, pk=None):
        """Fill a draft shipment from a sample sheet (CSV or XLSX, as the template); all or nothing."""
        shipment = self.get_object()
        upload = self.get_serializer(data=request.data)
        upload.is_valid(raise_exception=True)
        result = sheets.import_sheet(shipment=shipment, user=request.user, uploaded_file=upload.validated_data["file"])
        return Response(ImportResultSerializer(result).data)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(TEMPLATE_FORMATS), default="csv")],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The sample sheet template."),
            (200, TEMPLATE_FORMATS["xlsx"][1]): OpenApiResponse(OpenApiTypes.BINARY),
        },
        filters=False,
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="sample-sheet-template",
        content_negotiation_class=FileFormatNegotiation,
        filter_backends=[],
        pagination_class=None,
    )
    def sample_sheet_template(self, request):
        """The sample sheet to fill in, as CSV or XLSX (``?format=csv|xlsx``)."""
        fmt = request.query_params.get("format", "csv")
        if fmt not in TEMPLATE_FORMATS:
            raise ValidationError({"format": [f"Choose one of: {', '.join(TEMPLATE_FORMATS)}."]})
        render, content_type = TEMPLATE_FORMATS[fmt]
        response = HttpResponse(render(), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="sample-sheet-template.{fmt}"'
        return response
