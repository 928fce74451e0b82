"""REST endpoints of proteins, containers (pucks), samples (pins) and the robot's actions.

Containers are written within their shipment; here they are looked up (``?barcode=``), audited from a
photo, and put into and taken out of sample changers:

    POST /api/v1/containers/{id}/assign/     {beamline, position | address | position_code, session?}
    POST /api/v1/containers/{id}/unassign/
    GET  /api/v1/samples/?pin_code=          GET /api/v1/samples/{id}/
    POST /api/v1/samples/{id}/status/        {status, detail, centring_position}
    GET  /api/v1/samples/{id}/history/       status history, robot actions, its puck's assignments
    GET/POST /api/v1/robot-actions/          PATCH /api/v1/robot-actions/{id}/ completes one

Who: assigning is ``lims.access.may_fill_changer`` (beamline staff, admins, a beamline's API token on its own
changer); robot actions and statuses are reported by beamline staff, local contacts, admins and the
beamline's token (``lims.access.may_report_robot_action``, ``may_set_sample_status``), the same rules as the
pages and the ISPyB-compatible API. Objects come from the scoped selectors, so what the caller may not see
is a 404 before any of these checks; what they see but may not change is a 403.
"""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from lims import access
from lims.api.views import ScopedQuerysetMixin
from lims.barcodes.codes import code_part, normalise
from lims.barcodes.decode import MAX_UPLOAD_BYTES, DecodeError
from lims.models import Beamline, split_position_code
from lims.selectors import beamline_visible_to, session_visible_to
from lims.tokens import beamline_of
from samples import selectors, services
from samples.puck_audit import puck_audit

from .filters import ContainerFilter, ProteinFilter, SampleFilter, sample_queryset
from .serializers import (
    AssignResultSerializer,
    AssignSerializer,
    ContainerDetailSerializer,
    PuckAuditSerializer,
    PuckPhotoSerializer,
    RobotActionCompleteSerializer,
    RobotActionCreateSerializer,
    RobotActionSerializer,
    SampleHistorySerializer,
    SampleLocatedSerializer,
    SampleStatusChangeSerializer,
    SampleStatusSerializer,
    UnassignResultSerializer,
    UnassignSerializer,
)
from .tree import ProteinSerializer

ERROR = inline_serializer(
    "BeamlineError",
    {
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
        "errors": serializers.DictField(required=False),
    },
)
is_machine = access.is_machine


@contextmanager
def field_names(mapping: dict[str, str]):
    """The services name fields as the ISPyB API does ("sessionId"); answer with this API's names."""
    try:
        yield
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise DjangoValidationError({mapping.get(k, k): v for k, v in exc.error_dict.items()}) from None


# --- proteins and containers ------------------------------------------------------------------------------


class ProteinViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Proteins of the user's proposals (new ones are added by acronym when registering samples)."""

    selector = selectors.protein_visible_to
    serializer_class = ProteinSerializer
    filterset_class = ProteinFilter
    ordering_fields = ["acronym", "created_at"]


class ContainerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Pucks with their pins and where they are; ``?barcode=`` finds a scanned puck.

    ``POST .../audit/`` checks a photo against the registration; ``assign``/``unassign`` put the puck into
    a sample changer position and take it out.
    """

    serializer_class = ContainerDetailSerializer
    filterset_class = ContainerFilter
    ordering_fields = ["id", "name", "barcode", "changer_position"]
    ordering = ["id"]

    def get_queryset(self):
        return selectors.container_detail(self.request.user).select_related("beamline")

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

    @extend_schema(
        request=AssignSerializer,
        responses={
            200: AssignResultSerializer,
            400: OpenApiResponse(ERROR, description="no such beamline, position or session"),
            403: OpenApiResponse(ERROR, description="not beamline staff, admin or the beamline's token"),
            409: OpenApiResponse(
                ERROR,
                description="container_gone, dewar_not_at_facility, wrong_container_type, other_beamline_session",
            ),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def assign(self, request, pk=None):
        """Put the puck into a sample changer position; a puck already there is taken out (``displaced``)."""
        container = self.get_object()
        access.may_fill_changer.require(request.user)
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        beamline, position, session = resolve_place(request.user, body.validated_data)
        access.may_fill_changer.require(request.user, beamline.pk)
        done = services.container_assign(
            container=container, beamline=beamline, position=position, user=request.user, session=session
        )
        last = done.container.history.first() if done.changed else None
        return Response(
            AssignResultSerializer(
                {
                    "container": done.container,
                    "displaced": done.displaced,
                    "changed": done.changed,
                    "session": last.session_id if last else None,
                    "message": done.message,
                }
            ).data
        )

    @extend_schema(request=UnassignSerializer, responses={200: UnassignResultSerializer, 403: ERROR})
    @action(detail=True, methods=["post"], filter_backends=[])
    def unassign(self, request, pk=None):
        """Take the puck out of its sample changer (nothing happens when it is in none)."""
        container = self.get_object()
        access.may_fill_changer.require(request.user, container.beamline_id)
        body = UnassignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        was = container.beamline.position_code(container.changer_position) if container.beamline_id else None
        container = services.container_unassign(
            container=container, user=request.user, message=body.validated_data.get("message", "")
        )
        label = container.barcode or container.name
        message = f"{label} was taken out of {was}." if was else f"{label} is in no sample changer."
        return Response(
            UnassignResultSerializer({"container": container, "changed": was is not None, "message": message}).data
        )


def resolve_place(user, data: dict):
    """(beamline, position, session) from an assignment's body; field errors as 400."""
    given = [k for k in ("position", "address", "position_code") if data.get(k) not in (None, "")]
    if len(given) != 1:
        raise ValidationError({"position": ["Give one of position, address or position_code."]})
    beamlines = beamline_visible_to(user)
    beamline = None
    if data.get("beamline"):
        beamline = beamline_named(beamlines, data["beamline"])
        if beamline is None:
            raise ValidationError({"beamline": [f"There is no beamline {data['beamline']!r}."]})
    if given == ["position_code"]:
        coded, position = position_from_code(beamlines, data["position_code"])
        if coded is None:
            raise ValidationError({"position_code": [f"{data['position_code']!r} is no sample changer position."]})
        if beamline is not None and beamline.pk != coded.pk:
            raise ValidationError({"position_code": [f"That position is on {coded}, not on {beamline}."]})
        beamline = coded
    else:
        if beamline is None and is_machine(user):
            beamline = beamlines.first()
        if beamline is None:
            raise ValidationError({"beamline": ["Give the beamline (its id or name)."]})
        if given == ["address"]:
            position = beamline.position_at(data["address"])
            if position is None:
                raise ValidationError(
                    {"address": [f"{beamline}'s sample changer has no position {data['address']!r}."]}
                )
        else:
            position = data["position"]
    session = None
    if data.get("session"):
        session = session_visible_to(user).filter(pk=data["session"]).first()
        if session is None:
            raise ValidationError({"session": ["There is no such session."]})
    return beamline, position, session


def beamline_named(beamlines, value: str) -> Beamline | None:
    value = str(value).strip()
    if value.isdigit():
        return beamlines.filter(pk=int(value)).first()
    return beamlines.filter(name__iexact=value).first()


def position_from_code(beamlines, raw: str) -> tuple[Beamline | None, int | None]:
    """The beamline and position a position's code names: the label's "MX-3-SC-7" / "MX-2-SC-3-2", or
    "MX-3:07" / "MX-2:3:2" as people write it (``lims.models.split_position_code``)."""
    name, _ = split_position_code(raw)
    if name is None:
        return None, None
    for beamline in beamlines:
        if code_part(beamline.name) == code_part(name):
            position = beamline.read_position(raw)
            return (beamline, position) if position is not None else (None, None)
    return None, None


# --- samples ------------------------------------------------------------------------------------------------


class SampleViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Samples (pins) the caller may see, with their positions; ``?pin_code=`` finds a scanned pin.

    ``POST .../status/`` records what beamline control says of it; ``GET .../history/`` tells its story.
    """

    selector = sample_queryset
    serializer_class = SampleLocatedSerializer
    filterset_class = SampleFilter
    ordering_fields = ["id", "name", "position", "container"]
    ordering = ["container", "position"]

    @extend_schema(
        request=SampleStatusSerializer,
        responses={201: SampleStatusChangeSerializer, 400: ERROR, 403: ERROR},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def status(self, request, pk=None):
        """Set the sample's status (loaded, unloaded, centred, collected, error) and/or its centring position."""
        sample = self.get_object()
        access.may_set_sample_status.require(request.user)
        body = SampleStatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with field_names({"blSampleStatus": "status", "lastKnownCentringPosition": "centring_position"}):
            change = services.sample_status_set(sample=sample, by=request.user, **body.validated_data)
        return Response(SampleStatusChangeSerializer(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=SampleHistorySerializer)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def history(self, request, pk=None):
        """The sample's status history, the robot's actions on it and its puck's assignments, newest first."""
        sample = self.get_object()
        journey = selectors.sample_journey(sample)
        return Response(
            SampleHistorySerializer(
                {
                    "sample": sample,
                    "status_history": journey["status_history"],
                    "robot_actions": journey["robot_actions"],
                    "assignments": journey["assignments"],
                }
            ).data
        )


# --- robot actions ------------------------------------------------------------------------------------------


class RobotActionViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """What the sample changer's robot did: beamline control reports each action (``POST``) and completes it
    (``PATCH``). A beamline's token sees its beamline's, staff all, users those on their samples."""

    selector = selectors.robot_action_visible_to
    serializer_class = RobotActionSerializer
    filterset_fields = ["beamline", "session", "sample", "action_type", "status"]
    ordering_fields = ["started_at", "id"]

    def get_queryset(self):
        return super().get_queryset().select_related("user", "token")

    @extend_schema(
        request=RobotActionCreateSerializer,
        responses={201: RobotActionSerializer, 400: ERROR, 403: ERROR},
    )
    def create(self, request, *args, **kwargs):
        """Record a robot action. An unknown sample (-1, null, an id nobody has) is stored, unlinked."""
        user = request.user
        access.may_report_robot_action.require(user)
        body = RobotActionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        beamline = session = None
        if data.get("beamline"):
            beamline = beamline_visible_to(user).filter(pk=data["beamline"]).first()
            if beamline is None:
                raise ValidationError({"beamline": ["There is no such beamline."]})
            if is_machine(user) and beamline.pk != beamline_of(user):
                raise ValidationError({"beamline": ["This API token reports for its own beamline only."]})
        if data.get("session"):
            session = session_visible_to(user).filter(pk=data["session"]).first()
            if session is None:
                raise ValidationError({"session": ["There is no such session."]})
        reference = data.get("sample")
        sample = None
        if reference is not None and reference > 0:
            sample = selectors.sample_visible_to(user).filter(pk=reference).first()
        if sample is None and data.get("sample_barcode"):
            sample = (
                selectors.sample_visible_to(user)
                .filter(pin_code=normalise(data["sample_barcode"]), retired_at__isnull=True)
                .first()
            )
        text = {k: data.get(k) or "" for k in ("container_location", "dewar_location", "sample_barcode")}
        text |= {k: data.get(k) or "" for k in ("message", "snapshot_before", "snapshot_after")}
        with field_names({"sessionId": "session", "endTimestamp": "ended_at", "actionType": "action_type"}):
            robot_action = services.robot_action_create(
                by=user,
                action_type=data["action_type"],
                status=data.get("status") or "",
                beamline=beamline,
                session=session,
                sample=sample,
                sample_reference=reference,
                started_at=data.get("started_at"),
                ended_at=data.get("ended_at"),
                **text,
            )
        robot_action = self.get_queryset().get(pk=robot_action.pk)
        return Response(RobotActionSerializer(robot_action).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=RobotActionCompleteSerializer,
        responses={200: RobotActionSerializer, 400: ERROR, 403: ERROR},
    )
    def partial_update(self, request, *args, **kwargs):
        """Complete the action: its final status, end time (now by default) and message."""
        robot_action = self.get_object()
        access.may_report_robot_action.require(request.user, robot_action.beamline_id)
        body = RobotActionCompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with field_names({"endTimestamp": "ended_at"}):
            services.robot_action_complete(action=robot_action, by=request.user, **body.validated_data)
        return Response(RobotActionSerializer(self.get_queryset().get(pk=robot_action.pk)).data)
