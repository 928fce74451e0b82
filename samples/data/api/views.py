"""REST endpoints of the data: ingest for pipelines, reads for everyone (each their own).

    POST  /api/v1/data-collections/                       one collection, or {"items": [...]} (up to 1,000)
    PATCH /api/v1/data-collections/by-external-id/{id}/    a running collection's update (fields given only)
    POST  /api/v1/data-collections/nxmx/                   an NXmx master file (multipart "file", or {"path"})
    GET   /api/v1/data-collections/[?proposal=&session=&sample=&status=&beamline=&external_id=]
    GET   /api/v1/data-collections/{id}/                   with its screening and processing results
    POST  /api/v1/screening-results/  /api/v1/processing-results/     one, or {"items": [...]}

Writes: a beamline's API token (its own beamline's data only), beamline staff and admins; members and
stores get 403. Reads go through ``collection_visible_to``: members their proposals', staff all, a token
its beamline's. The writes validate by hand in ``samples.data.ingest`` (no serializer per item: a batch
of 1,000 must cost little more than its one INSERT); a bad batch is a 400 ``invalid_batch`` whose
``errors`` are ``{"3": {"wavelength": [...]}}``, and nothing of it is saved.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.dateparse import parse_datetime
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.response import Response

from lims import access
from lims.api.parsers import loads
from lims.validators import datetime_in_range

from .. import ingest, nxmx
from ..choices import CollectionStatus
from ..models import DataCollection, ProcessingResult, ProcessingShell, ScreeningResult, ScreeningStrategy
from ..selectors import collection_visible_to


class FastJSONParser(BaseParser):
    """JSON in with orjson: a batch of 1,000 collections parses in a few milliseconds. NaN and Infinity are
    no JSON, and are refused as such."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if not raw:
            return {}
        if b"\\u0000" in raw:
            raise ParseError("Text may not contain NUL characters.")
        try:
            return loads(raw)
        except ValueError as exc:
            raise ParseError(f"JSON parse error: {exc}") from None


ERROR = inline_serializer(
    "IngestError",
    {
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
        "errors": serializers.DictField(required=False),
    },
)
IDS = inline_serializer("IngestedIds", {"ids": serializers.ListField(child=serializers.IntegerField())})
ONE = inline_serializer("IngestedOne", {"id": serializers.IntegerField(), "external_id": serializers.CharField()})


def batch_error(exc: ingest.BatchError, total: int) -> Response:
    errors = {str(index): fields for index, fields in exc.errors.items()}
    first_index, first = next(iter(exc.errors.items()))
    field, messages = next(iter(first.items()))
    return Response(
        {
            "detail": f"{len(errors)} of the {total} items are invalid (item {first_index}, {field}: {messages[0]});"
            " nothing was saved.",
            "code": "invalid_batch",
            "errors": errors,
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


def run_ingest(request, service, one_answer):
    """A single object or ``{"items": [...]}`` through ``service``: 201 with the id(s), in order."""
    access.may_ingest.require(request.user)
    data = request.data
    if not isinstance(data, dict):
        raise ParseError('Send a JSON object: one item, or {"items": [...]}.')
    bulk = "items" in data and len(data) == 1
    items = data["items"] if bulk else [data]
    try:
        objects = service(principal=request.user, items=items)
    except ingest.BatchError as exc:
        if bulk:
            return batch_error(exc, len(items))
        raise DjangoValidationError(exc.errors[0]) from None
    if bulk:
        return Response({"ids": [o.pk for o in objects]}, status=status.HTTP_201_CREATED)
    return Response(one_answer(objects[0]), status=status.HTTP_201_CREATED)


# --- reads --------------------------------------------------------------------------------------------------


class StrategySerializer(serializers.ModelSerializer):
    class Meta:
        model = ScreeningStrategy
        exclude = ["id", "screening"]


class ScreeningSerializer(serializers.ModelSerializer):
    strategies = StrategySerializer(many=True, read_only=True)

    class Meta:
        model = ScreeningResult
        exclude = ["data_collection"]


class ShellSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcessingShell
        exclude = ["id", "processing"]


class ProcessingSerializer(serializers.ModelSerializer):
    shells = ShellSerializer(many=True, read_only=True)

    class Meta:
        model = ProcessingResult
        exclude = ["data_collection"]


class DataCollectionSerializer(serializers.ModelSerializer):
    flags = serializers.ListField(source="flag_names", child=serializers.CharField(), read_only=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = DataCollection
        exclude = ["search_text"]


class DataCollectionDetailSerializer(DataCollectionSerializer):
    screenings = ScreeningSerializer(many=True, read_only=True)
    processings = ProcessingSerializer(many=True, read_only=True)


class DataCollectionFilter(filters.FilterSet):
    """By id (no lookup of the named object: the scoped queryset decides what is seen)."""

    proposal = filters.NumberFilter(field_name="proposal_id")
    session = filters.NumberFilter(field_name="session_id")
    sample = filters.NumberFilter(field_name="sample_id")
    beamline = filters.NumberFilter(field_name="beamline_id")
    status = filters.ChoiceFilter(choices=CollectionStatus.choices)
    external_id = filters.CharFilter()

    class Meta:
        model = DataCollection
        fields = ["proposal", "session", "sample", "beamline", "status", "external_id"]


class NewestFirst(CursorPagination):
    """Keyset pages, newest first: no COUNT over a million rows, no OFFSET to walk."""

    ordering = ("-start_time", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # The position is a time from the URL: one the database cannot compare would be a 500, not a 404.
        position = cursor.position if cursor is not None else None
        if position is not None:
            parsed = parse_datetime(position) if isinstance(position, str) else None
            if parsed is None or not datetime_in_range(parsed):
                raise NotFound(self.invalid_cursor_message)
        return cursor


class NxmxUploadSerializer(serializers.Serializer):
    """The master file (multipart ``file``) or its ``path`` under the data root, and what links it."""

    file = serializers.FileField(required=False)
    path = serializers.CharField(required=False)
    directory = serializers.CharField(required=False, help_text="Where the data are (an upload has no path).")
    external_id = serializers.CharField(required=False)
    beamline = serializers.CharField(required=False, help_text="Id or name (people; a token's is its own).")
    sample = serializers.IntegerField(required=False)
    pin_code = serializers.CharField(required=False)
    session = serializers.IntegerField(required=False)
    group = serializers.CharField(required=False)
    experiment_type = serializers.CharField(required=False)
    status = serializers.CharField(required=False)


@extend_schema(tags=["data"])
class DataCollectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Data collections the caller may see; pipelines create and update them (see the module docstring)."""

    parser_classes = [FastJSONParser]
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = DataCollectionFilter
    pagination_class = NewestFirst
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        collections = collection_visible_to(self.request.user).prefetch_related("tags")
        if self.action == "retrieve":
            collections = collections.prefetch_related("screenings__strategies", "processings__shells")
        return collections

    def get_serializer_class(self):
        return DataCollectionDetailSerializer if self.action == "retrieve" else DataCollectionSerializer

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={201: IDS, 400: ERROR, 403: ERROR},
        description='One collection (answered with its id), or {"items": [...]} of up to 1,000 (their ids, in'
        " order). Re-sending an external id updates its collection.",
    )
    def create(self, request):
        return run_ingest(request, ingest.ingest_collections, lambda c: {"id": c.pk, "external_id": c.external_id})

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: ONE, 400: ERROR, 404: ERROR})
    @action(detail=False, methods=["patch"], url_path=r"by-external-id/(?P<external_id>.+)")
    def by_external_id(self, request, external_id=None):
        """A running collection's update: only the fields given change (number_of_images, status, end_time...).
        People name the beamline (``beamline``: id or name); a token's is its own."""
        access.may_ingest.require(request.user)
        changes = request.data
        if not isinstance(changes, dict):
            raise ParseError("Send a JSON object of the fields to change.")
        changes = dict(changes)
        beamline = changes.pop("beamline", None)
        collection = ingest.collection_update(
            principal=request.user, external_id=external_id, changes=changes, beamline=beamline
        )
        return Response({"id": collection.pk, "external_id": collection.external_id})

    @extend_schema(
        request={"multipart/form-data": NxmxUploadSerializer, "application/json": NxmxUploadSerializer},
        responses={201: ONE, 400: ERROR, 403: ERROR},
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser, FastJSONParser])
    def nxmx(self, request):
        """Create or update a collection from an NXmx master file: uploaded (``file``, with the ``directory``
        the data are in), or named by ``path`` under the facility's data root (paths outside it are refused)."""
        access.may_ingest.require(request.user)
        form = NxmxUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        given = dict(form.validated_data)
        upload, path = given.pop("file", None), given.pop("path", None)
        if (upload is None) == (path is None):
            raise DjangoValidationError({"file": ["Upload the master file (file), or give its path (path)."]})
        try:
            if upload is not None:
                collection = nxmx.nxmx_ingest_upload(principal=request.user, upload=upload, **given)
            else:
                collection = nxmx.nxmx_ingest_path(principal=request.user, path=path, **given)
        except ingest.BatchError as exc:
            raise DjangoValidationError(exc.errors[0]) from None
        return Response({"id": collection.pk, "external_id": collection.external_id}, status=status.HTTP_201_CREATED)


def _result_answer(result):
    return {"id": result.pk, "data_collection": result.data_collection_id, "program": result.program}


@extend_schema(tags=["data"])
class ScreeningResultViewSet(viewsets.GenericViewSet):
    """Screening results from pipelines: one, or {"items": [...]}; one per (collection, program), re-sent
    ones replaced whole (strategy rows included). The collection's best resolution follows."""

    parser_classes = [FastJSONParser]
    serializer_class = ScreeningSerializer

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiResponse(IDS), 400: ERROR, 403: ERROR})
    def create(self, request):
        return run_ingest(request, ingest.ingest_screenings, _result_answer)


@extend_schema(tags=["data"])
class ProcessingResultViewSet(viewsets.GenericViewSet):
    """Processing results from pipelines: one, or {"items": [...]}; one per (collection, program), re-sent
    ones replaced whole (shells included). The collection's best resolution follows."""

    parser_classes = [FastJSONParser]
    serializer_class = ProcessingSerializer

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiResponse(IDS), 400: ERROR, 403: ERROR})
    def create(self, request):
        return run_ingest(request, ingest.ingest_processings, _result_answer)
