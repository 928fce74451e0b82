"""REST endpoints of the core domain. Every queryset comes from a scoped selector (``ScopedQuerysetMixin``).

Beamlines and sessions carry the beamline's reads and writes:

    GET  /api/v1/beamlines/{id}/changer/   every position of the sample changer and the puck in it
    GET  /api/v1/beamlines/{id}/samples/   the samples in the changer, with their positions
    GET  /api/v1/sessions/{id}/samples/    the session's samples, with their positions
    POST /api/v1/sessions/{id}/unload/     take the session's pucks out of the changer
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from lims import selectors, services
from samples import services as sample_services
from samples.api.filters import samples_of_beamline, samples_of_session
from samples.api.serializers import SampleLocatedSerializer, UnloadResultSerializer
from samples.selectors import changer_contents

from .filters import LabContactFilter, SessionFilter
from .serializers import (
    BeamlineChangerSerializer,
    BeamlineSerializer,
    LabContactSerializer,
    ProposalSerializer,
    SessionSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)


class ScopedQuerysetMixin:
    """The viewset's queryset is ``selector(user)``: another proposal's object is then a 404."""

    selector = None

    def get_queryset(self):
        return type(self).selector(self.request.user)


class ProposalViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Proposals: a user's own; every proposal for facility staff."""

    selector = selectors.proposal_visible_to
    serializer_class = ProposalSerializer
    filterset_fields = ["code", "number", "kind", "mail_in"]
    ordering_fields = ["code", "number", "created_at"]


ERROR = inline_serializer("AccessError", {"detail": serializers.CharField(), "code": serializers.CharField()})


def sample_page(view, samples):
    """A page of located samples (``samples.api.serializers.SampleLocatedSerializer``)."""
    page = view.paginate_queryset(samples)
    return view.get_paginated_response(SampleLocatedSerializer(page, many=True).data)


class SessionViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Sessions (beamtimes) of the user's proposals; a beamline's API token sees its beamline's."""

    selector = selectors.session_visible_to
    serializer_class = SessionSerializer
    filterset_class = SessionFilter
    ordering_fields = ["start", "end"]

    @extend_schema(responses=SampleLocatedSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def samples(self, request, pk=None):
        """The session's samples with their positions: its proposal's pucks in the beamline's sample changer
        or in a dewar booked on the session, in changer order (members see their own proposal's only)."""
        return sample_page(self, samples_of_session(request.user, self.get_object()))

    @extend_schema(request=None, responses={200: UnloadResultSerializer, 403: ERROR})
    @action(detail=True, methods=["post"], filter_backends=[])
    def unload(self, request, pk=None):
        """Take every puck of the session's proposal out of the beamline's sample changer."""
        session = self.get_object()
        if not sample_services.may_assign(request.user, session.beamline):
            raise PermissionDenied("Unloading is for beamline staff, admins and the beamline's API token.")
        # The answer says where each puck was: read before the service empties those fields.
        was = dict(
            session.beamline.containers.filter(shipment__proposal_id=session.proposal_id).values_list(
                "pk", "changer_position"
            )
        )
        unloaded = sample_services.session_unload(session=session, user=request.user)
        for container in unloaded:
            if container.pk in was:
                container.beamline, container.changer_position = session.beamline, was[container.pk]
        count = len(unloaded)
        message = f"{count} puck{'s' if count != 1 else ''} taken out of {session.beamline}."
        return Response(UnloadResultSerializer({"session": session.pk, "unloaded": unloaded, "message": message}).data)


class BeamlineViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Active beamlines: facility facts that any signed-in user may read (a beamline's API token: its own)."""

    selector = selectors.beamline_visible_to
    serializer_class = BeamlineSerializer
    filterset_fields = ["sample_changer_model"]
    ordering_fields = ["name"]

    @extend_schema(responses={200: BeamlineChangerSerializer, 403: ERROR}, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def changer(self, request, pk=None):
        """Every position of the sample changer in order: its address, label code, the puck types it takes and
        the puck in it (null when empty). Beamline staff, local contacts, admins and the beamline's token."""
        beamline = self.get_object()
        if not selectors.may_see_changer(request.user, beamline):
            raise PermissionDenied("The sample changer's contents are for beamline staff and local contacts.")
        return Response(BeamlineChangerSerializer({"beamline": beamline, "positions": changer_contents(beamline)}).data)

    @extend_schema(responses=SampleLocatedSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def samples(self, request, pk=None):
        """The samples in the beamline's sample changer with their positions, in changer order (members see
        their own proposals' samples only)."""
        return sample_page(self, samples_of_beamline(request.user, self.get_object()))


class LabContactViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Lab contact cards of the user's proposals; written by ``lims.services``."""

    selector = selectors.lab_contact_visible_to
    serializer_class = LabContactSerializer
    filterset_class = LabContactFilter
    ordering_fields = ["card_name", "name"]

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        proposal = data.pop("proposal")
        serializer.instance = services.lab_contact_create(proposal=proposal, user=self.request.user, data=data)

    def perform_update(self, serializer):
        serializer.instance = services.lab_contact_update(
            contact=serializer.instance, user=self.request.user, data=dict(serializer.validated_data)
        )


class ObtainTokenView(ObtainAuthToken):
    """Exchange a username and password for an API token (``Authorization: Token <token>``)."""

    # ObtainAuthToken names DRF's own parsers; the API's defaults refuse too deep a JSON nesting with a 400.
    parser_classes = APIView.parser_classes

    @extend_schema(request=TokenRequestSerializer, responses=TokenSerializer, auth=[])
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
