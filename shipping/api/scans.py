"""Scans and dewars: the REST side of the scan station, for handheld scanners and other systems.

    POST /api/v1/scans/                  a scan → 201 {dewar, event, recorded, message}; 200 when nothing
                                         was recorded ("already here")
    GET  /api/v1/scans/                  the caller's last 20 scans (transport events they recorded)
    GET  /api/v1/scans/lookup/?barcode=  what a code is: a dewar (its card and the likely next action)
                                         or a location; nothing is written
    GET  /api/v1/dewars/{id}/            a dewar's card
    GET  /api/v1/dewars/{id}/history/    its transport events, oldest first

Scans are for stores, beamline staff and admins (``lims.access.may_scan``); anybody else signed in gets 403, since
the endpoint reveals nothing of anybody's. Dewars are scoped like every proposal object: members see their
own proposals' dewars, staff all, others 404.

Errors: malformed code 400 (the message says what is wrong), unknown code 404 ``unknown_barcode`` (or
``unknown_location``), refusals 409 with the service's code (``not_sent``: send ``confirm_reason``;
``pucks_in_changer``: the detail names the pucks and their changer positions, scan again with
``action=unload_dispatch`` to unload them and dispatch in one step).
"""

from django.urls import NoReverseMatch, reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from lims import access
from shipping import selectors
from shipping.models import Dewar, DewarEvent, Location
from shipping.services import INCIDENT_KINDS
from shipping.services.scans import ACTIONS, UnknownBarcode, identify, next_action, scan

from .serializers import DewarEventSerializer, LocationSerializer, LocationSummarySerializer, location_summary

RECENT_SCANS = 20
ERROR = inline_serializer("ScanError", {"detail": serializers.CharField(), "code": serializers.CharField()})


def dewar_url(dewar: Dewar) -> str:
    """The dewar's page, or its shipment's page where the dewar page is not installed."""
    try:
        return reverse("shipping:dewar", args=[dewar.pk])
    except NoReverseMatch:
        return reverse("shipping:detail", args=[dewar.shipment_id])


class MayScan(BasePermission):
    message = access.may_scan.refusal

    def has_permission(self, request, view):
        return access.may_scan(request.user)


class DewarCardSerializer(serializers.ModelSerializer):
    """A dewar as the scan station's card shows it: whose, what for, where it is and where it should go.

    Needs a dewar fetched with ``selectors.dewar_by_barcode`` (or the same ``select_related``).
    """

    status_display = serializers.CharField(source="get_status_display", read_only=True)
    location = LocationSummarySerializer(read_only=True, allow_null=True)
    delivery_location = LocationSummarySerializer(read_only=True, allow_null=True)
    shipment = serializers.SerializerMethodField()
    proposal = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()
    safety_level = serializers.CharField(source="shipment.safety_level", read_only=True)
    safety_level_display = serializers.CharField(source="shipment.get_safety_level_display", read_only=True)
    session = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Dewar
        fields = [
            "id",
            "barcode",
            "name",
            "status",
            "status_display",
            "location",
            "delivery_location",
            "shipment",
            "proposal",
            "owner",
            "safety_level",
            "safety_level_display",
            "session",
            "url",
        ]
        read_only_fields = fields

    @staticmethod
    def related(queryset):
        return queryset.select_related(
            "shipment__proposal", "shipment__created_by", "location", "delivery_location", "session__beamline"
        )

    def get_shipment(self, dewar) -> dict:
        s = dewar.shipment
        return {
            "id": s.pk,
            "name": s.name,
            "status": s.status,
            "expected_arrival": s.expected_arrival.isoformat() if s.expected_arrival else None,
        }

    def get_proposal(self, dewar) -> dict:
        p = dewar.shipment.proposal
        return {"id": p.pk, "name": p.name, "title": p.title}

    def get_owner(self, dewar) -> str | None:
        """Who registered the shipment: the person the stores call about it."""
        user = dewar.shipment.created_by
        return (user.get_full_name() or user.get_username()) if user else None

    def get_session(self, dewar) -> dict | None:
        s = dewar.session
        if s is None:
            return None
        return {"id": s.pk, "beamline": s.beamline.name, "start": s.start.isoformat(), "end": s.end.isoformat()}

    def get_url(self, dewar) -> str:
        return dewar_url(dewar)

    def to_representation(self, dewar: Dewar) -> dict:
        """The fields above, built directly: every scan answers with a card (the schema stays the fields';
        ``tests/shipping/test_scans.py`` checks that the two agree)."""
        shipment = dewar.shipment
        return {
            "id": dewar.pk,
            "barcode": dewar.barcode,
            "name": dewar.name,
            "status": dewar.status,
            "status_display": dewar.get_status_display(),
            "location": location_summary(dewar.location) if dewar.location_id else None,
            "delivery_location": location_summary(dewar.delivery_location) if dewar.delivery_location_id else None,
            "shipment": self.get_shipment(dewar),
            "proposal": self.get_proposal(dewar),
            "owner": self.get_owner(dewar),
            "safety_level": shipment.safety_level,
            "safety_level_display": shipment.get_safety_level_display(),
            "session": self.get_session(dewar),
            "url": dewar_url(dewar),
        }


class ScanEventSerializer(DewarEventSerializer):
    """A transport event with its dewar's barcode, as the list of recent scans shows it."""

    dewar = serializers.IntegerField(source="dewar_id", read_only=True)
    dewar_barcode = serializers.CharField(source="dewar.barcode", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    dewar_url = serializers.SerializerMethodField()

    class Meta(DewarEventSerializer.Meta):
        fields = [*DewarEventSerializer.Meta.fields, "dewar", "dewar_barcode", "status_display", "dewar_url"]
        read_only_fields = fields

    def get_dewar_url(self, event) -> str:
        return dewar_url(event.dewar)

    def to_representation(self, event: DewarEvent) -> dict:
        return {
            **super().to_representation(event),
            "dewar": event.dewar_id,
            "dewar_barcode": event.dewar.barcode,
            "status_display": event.get_status_display(),
            "dewar_url": dewar_url(event.dewar),
        }


class ScanSerializer(serializers.Serializer):
    """One scan. Codes are taken as scanners send them (AIM prefix, CR/LF, lower case are normalised)."""

    barcode = serializers.CharField(
        max_length=200, allow_blank=True, trim_whitespace=False, help_text="The dewar's barcode."
    )
    location = serializers.CharField(
        max_length=200, required=False, allow_blank=True, trim_whitespace=False, help_text="A location barcode."
    )
    action = serializers.ChoiceField(
        choices=list(ACTIONS), required=False, allow_blank=True, help_text="Default: the likely next action."
    )
    courier = serializers.CharField(max_length=45, required=False, allow_blank=True)
    tracking_number = serializers.CharField(max_length=60, required=False, allow_blank=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    incident = serializers.ChoiceField(choices=list(INCIDENT_KINDS), required=False, allow_blank=True)
    confirm_reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, help_text='Why a dewar "never sent" is received anyway.'
    )


class ScanResultSerializer(serializers.Serializer):
    dewar = DewarCardSerializer()
    event = DewarEventSerializer(allow_null=True)
    recorded = serializers.BooleanField()
    message = serializers.CharField()
    next_action = serializers.CharField(allow_null=True)
    next_action_label = serializers.CharField(allow_null=True)


def offer(dewar: Dewar) -> dict:
    """The likely next action for the dewar as it is now, for the station to offer."""
    step = next_action(dewar)
    return {"next_action": step, "next_action_label": ACTIONS.get(step) if step else None}


def unknown(exc: UnknownBarcode) -> Response:
    return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_404_NOT_FOUND)


class ScanViewSet(viewsets.GenericViewSet):
    """Scans of dewars, by stores staff, beamline staff and admins."""

    permission_classes = [IsAuthenticated, MayScan]
    serializer_class = ScanSerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        return DewarEvent.objects.filter(user=self.request.user)

    @extend_schema(responses={200: ScanEventSerializer(many=True)})
    def list(self, request):
        """The caller's last 20 scans, newest first: what the scan station lists when it opens."""
        events = (
            DewarEvent.objects.filter(user=request.user)
            .select_related("dewar", "location", "user")
            .order_by("-at", "-id")[:RECENT_SCANS]
        )
        return Response(ScanEventSerializer(events, many=True).data)

    @extend_schema(
        request=ScanSerializer,
        responses={
            201: ScanResultSerializer,
            200: OpenApiResponse(ScanResultSerializer, description="Nothing recorded: already there."),
            400: OpenApiResponse(ERROR, description="malformed code, a location code as the dewar, bad fields"),
            404: OpenApiResponse(ERROR, description="unknown_barcode, unknown_location"),
            409: OpenApiResponse(
                ERROR,
                description="refused: not_sent (send confirm_reason), invalid_transition, "
                "pucks_in_changer (action unload_dispatch unloads them and dispatches)",
            ),
        },
    )
    def create(self, request):
        """Scan a dewar: do the given action, or the likely next one, and answer with the dewar and the event."""
        serializer = ScanSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            movement = scan(user=request.user, **serializer.validated_data)
        except UnknownBarcode as exc:
            return unknown(exc)
        # The services hand back the dewar as they locked and changed it, with what the card shows.
        dewar = movement.dewar
        body = {
            "dewar": DewarCardSerializer(dewar).data,
            "event": DewarEventSerializer(movement.event).data if movement.event else None,
            "recorded": movement.recorded,
            "message": movement.message,
            **offer(dewar),
        }
        return Response(body, status=status.HTTP_201_CREATED if movement.recorded else status.HTTP_200_OK)

    @extend_schema(
        parameters=[OpenApiParameter("barcode", str, required=True)],
        responses={
            200: inline_serializer(
                "ScanLookup",
                {
                    "kind": serializers.ChoiceField(choices=["dewar", "location"]),
                    "dewar": DewarCardSerializer(required=False),
                    "next_action": serializers.CharField(allow_null=True, required=False),
                    "next_action_label": serializers.CharField(allow_null=True, required=False),
                    "location": LocationSerializer(required=False),
                },
            ),
            400: OpenApiResponse(ERROR),
            404: OpenApiResponse(ERROR),
        },
    )
    @action(detail=False, methods=["get"])
    def lookup(self, request):
        """What a scanned code is, without recording anything: a dewar with the likely next action, or a location."""
        try:
            found = identify(request.user, request.query_params.get("barcode", ""))
        except UnknownBarcode as exc:
            return unknown(exc)
        if isinstance(found, Location):
            return Response({"kind": "location", "location": LocationSerializer(found).data})
        return Response({"kind": "dewar", "dewar": DewarCardSerializer(found).data, **offer(found)})


class DewarViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A dewar's card and its transport history: members of its proposal and facility staff."""

    serializer_class = DewarCardSerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        return DewarCardSerializer.related(selectors.dewar_visible_to(self.request.user))

    @extend_schema(responses=DewarEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """Every transport event of the dewar, oldest first."""
        dewar = self.get_object()
        events = DewarEvent.objects.filter(dewar=dewar).select_related("location", "user").order_by("at", "id")
        return Response(DewarEventSerializer(events, many=True).data)
