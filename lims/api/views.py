"""REST endpoints of the core domain. Every queryset comes from a scoped selector (``ScopedQuerysetMixin``).

Beamlines and sessions carry the beamline's reads and writes:

    GET  /api/v1/beamlines/{id}/changer/   every position of the sample changer and the puck in it
    GET  /api/v1/beamlines/{id}/samples/   the samples in the changer, with their positions
    GET  /api/v1/sessions/{id}/samples/    the session's samples, with their positions
    POST /api/v1/sessions/{id}/unload/     take the session's pucks out of the changer

People's tokens (``lims.tokens``), the password login limited by django-axes (``lims.logins``):

    POST /api/v1/auth/token/               username and password → a new personal token (429 when locked out)
    POST /api/v1/auth/token/revoke/        revoke one's own token (the one sent, or {"token": key})
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from lims import rules, selectors, services
from lims.api.parsers import JSONParser
from lims.logins import LockedOut, locked_out_json, password_login
from lims.models import PersonalToken
from lims.tokens import personal_token_create, personal_token_for_key, personal_token_revoke
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
    TokenRevokeSerializer,
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
        rules.may_fill_changer.require(request.user, session.beamline_id)
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
        rules.may_see_changer.require(request.user, beamline.pk)
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


class ObtainTokenView(APIView):
    """Exchange a username and password for a new personal API token (``Authorization: Token <token>``).

    Failed attempts are counted (``lims.logins``): past the limit the answer is 429 ``locked_out``, even
    for the right password, until the cool-off ends or an admin lifts the lock.
    """

    authentication_classes = ()  # a login: no session, so no CSRF check on a browser that has one
    permission_classes = ()
    parser_classes = (JSONParser, parsers.FormParser, parsers.MultiPartParser)  # ours: deep nesting is a 400

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer, 400: ERROR, 429: ERROR}, auth=[])
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = password_login(request=request, **serializer.validated_data)
        except LockedOut:
            return locked_out_json()
        if user is None:
            raise ValidationError({"non_field_errors": ["Unable to log in with the username and password given."]})
        token, key = personal_token_create(user=user)
        return Response(TokenSerializer({"token": key, "expires_at": token.expires_at}).data)


class RevokeTokenView(APIView):
    """Revoke one of one's own personal tokens: the one given as ``token``, or else the one this request
    is authenticated with. Another person's key, or an unknown one, is a 404."""

    @extend_schema(request=TokenRevokeSerializer, responses={204: None, 400: ERROR, 404: ERROR})
    def post(self, request):
        serializer = TokenRevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = serializer.validated_data.get("token")
        if key:
            token = personal_token_for_key(key)
            if token is None or token.user_id != request.user.pk:
                raise NotFound("No such token of yours (or it is already revoked or expired).")
        elif isinstance(request.auth, PersonalToken):
            token = request.auth
        else:
            raise ValidationError({"token": ["Give the token to revoke, or authenticate with it."]})
        personal_token_revoke(token=token, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
