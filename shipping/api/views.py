"""REST endpoints of shipments and locations.

Thin: querysets come from ``shipping.selectors`` (scoped to the user, the tree prefetched), writes and
status changes from ``shipping.services``, sheet imports and exports from ``shipping.sheets``, label PDFs from
``shipping.labels``; their errors become responses in ``lims.api.errors``.
"""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from lims import access
from lims.api.schema import InvalidSerializer, SheetErrorSerializer
from shipping import labels, selectors, services, sheets
from shipping.pdf import LabelLayoutError

from .filters import ShipmentFilter
from .serializers import (
    ImportResultSerializer,
    LocationSerializer,
    SheetUploadSerializer,
    ShipmentCreateSerializer,
    ShipmentDetailSerializer,
    ShipmentListSerializer,
    ShipmentWriteSerializer,
)

TEMPLATE_FORMATS = {
    "csv": (sheets.template_csv, "text/csv; charset=utf-8"),
    "xlsx": (sheets.template_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}

# A shipment's samples as a sheet (``?format=``): the file's content type and extension.
EXPORT_FORMATS = {
    "ispyb-csv": (sheets.shipment_ispyb_csv, "text/csv; charset=utf-8", "csv"),
    "xlsx": (sheets.shipment_xlsx, sheets.XLSX_CONTENT_TYPE, "xlsx"),
}

PDF_RESPONSE = {(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The labels as PDF.")}
# Actions that read the whole tree (prefetched by shipment_detail): labels, transport history.
LABEL_ACTIONS = ("labels_dewars", "labels_pucks", "labels_pins", "transport_history")


def pdf_response(render) -> HttpResponse | Response:
    """The PDF that ``render()`` returns as a download; bad parameters are a 400, a bad facility layout a 500
    whose detail says which setting to fix."""
    try:
        label_file = render()
    except labels.LabelQueryError as exc:
        raise ValidationError({exc.field: [exc.message]}) from None
    except LabelLayoutError as exc:
        return Response({"detail": exc.message, "code": "label_layout"}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    response = HttpResponse(label_file.content, content_type=label_file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{label_file.filename}"'
    return response


def label_action(url_path: str, **kwargs):
    """A GET action that answers a PDF: errors in JSON whatever the Accept header asks, no filters, no pages."""
    return action(
        methods=["get"],
        url_path=url_path,
        content_negotiation_class=FileFormatNegotiation,
        filter_backends=[],
        pagination_class=None,
        **kwargs,
    )


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

    @extend_schema(responses=PDF_RESPONSE, filters=False)
    @label_action("labels", detail=False)
    def label_sheets(self, request):
        """Barcode sheets of every active location and of every puck position of each beamline's sample
        changer (``<BEAMLINE>-SC-<puck>``, or ``<BEAMLINE>-SC-<cell>-<puck>``): stores, beamline staff, admin."""
        access.may_print_location_labels.require(request.user)
        return pdf_response(labels.location_labels)


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
        if self.action == "retrieve" or self.action in LABEL_ACTIONS:
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

    @extend_schema(
        request={"multipart/form-data": SheetUploadSerializer},
        responses={
            200: ImportResultSerializer,
            400: PolymorphicProxySerializer(
                "SheetImportError",
                [SheetErrorSerializer, InvalidSerializer],
                resource_type_field_name=None,
            ),
        },
    )
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

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(EXPORT_FORMATS), default="ispyb-csv")],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The shipment's samples: ISPyB's shipping CSV (EXI, py-ispyb-ui) or this LIMS's XLSX.",
            ),
            (200, sheets.XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY),
        },
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="sheet",
        content_negotiation_class=FileFormatNegotiation,
        filter_backends=[],
        pagination_class=None,
    )
    def samples_sheet(self, request, pk=None):
        """The shipment's samples as a sheet that imports back unchanged: ISPyB's shipping CSV (``?format=ispyb-csv``,
        28 fields, no header) or this LIMS's XLSX with every column (``?format=xlsx``)."""
        shipment = self.get_object()
        fmt = request.query_params.get("format", "ispyb-csv")
        if fmt not in EXPORT_FORMATS:
            raise ValidationError({"format": [f"Choose one of: {', '.join(EXPORT_FORMATS)}."]})
        render, content_type, extension = EXPORT_FORMATS[fmt]
        response = HttpResponse(render(shipment), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{sheets.export_filename(shipment, extension)}"'
        return response

    def _labels(self, kind: str):
        shipment = self.get_object()
        return pdf_response(lambda: labels.shipment_labels(shipment, kind, self.request.query_params))

    @extend_schema(
        parameters=[
            OpenApiParameter("dewar", int, description="Only this dewar of the shipment."),
            OpenApiParameter("page_size", str, enum=["A4", "A5", "Letter"], default="A4"),
        ],
        responses=PDF_RESPONSE,
        filters=False,
    )
    @label_action("labels/dewars", detail=True)
    def labels_dewars(self, request, pk=None):
        """Dewar labels, one page a dewar: delivery and return addresses, barcode, pucks, safety level."""
        return self._labels("dewars")

    @extend_schema(
        parameters=[
            OpenApiParameter("dewar", int, description="Only the pucks of this dewar."),
            OpenApiParameter("container", int, description="Only this puck."),
        ],
        responses=PDF_RESPONSE,
        filters=False,
    )
    @label_action("labels/pucks", detail=True)
    def labels_pucks(self, request, pk=None):
        """Puck labels on the facility's label stock; pucks without a barcode are printed without one, and listed."""
        return self._labels("pucks")

    @extend_schema(
        parameters=[
            OpenApiParameter("dewar", int, description="Only the pins of this dewar."),
            OpenApiParameter("container", int, description="Only the pins of this puck."),
        ],
        responses=PDF_RESPONSE,
        filters=False,
    )
    @label_action("labels/pins", detail=True)
    def labels_pins(self, request, pk=None):
        """Pin-cap labels (DataMatrix and code in clear); pins without a pin code are listed on the sheet."""
        return self._labels("pins")

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The transport history of the shipment as PDF."
            )
        },
        filters=False,
    )
    @label_action("transport-history", detail=True)
    def transport_history(self, request, pk=None):
        """Every step of every dewar of the shipment (when, status, location, by whom, courier, tracking
        number, notes, incidents) under a shipment and proposal header, as PDF."""
        shipment = self.get_object()
        return pdf_response(lambda: labels.transport_history_file(shipment))
