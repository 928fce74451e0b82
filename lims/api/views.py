"""REST endpoints of the core domain. Every queryset comes from a scoped selector (``ScopedQuerysetMixin``).

The beamline's reads and writes on sessions and beamlines (their samples, the sample changer) are added by the
samples app (``samples.api.changer_views``), whose viewsets extend these two.

People's tokens (``lims.tokens``), the password login limited by django-axes (``lims.logins``):

    POST /api/v1/auth/token/               username and password → a new personal token (429 when locked out)
    POST /api/v1/auth/token/revoke/        revoke one's own token (the one sent, or {"token": key})
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from lims import selectors, services
from lims.api.parsers import JSONParser
from lims.logins import LockedOut, locked_out_json, password_login
from lims.models import PersonalToken
from lims.tokens import personal_token_create, personal_token_for_key, personal_token_revoke

from .filters import LabContactFilter, SessionFilter
from .serializers import (
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


class SessionViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Sessions (beamtimes) of the user's proposals; a beamline's API token sees its beamline's."""

    selector = selectors.session_visible_to
    serializer_class = SessionSerializer
    filterset_class = SessionFilter
    ordering_fields = ["start", "end"]


class BeamlineViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Active beamlines: facility facts that any signed-in user may read (a beamline's API token: its own)."""

    selector = selectors.beamline_visible_to
    serializer_class = BeamlineSerializer
    filterset_fields = ["sample_changer_model"]
    ordering_fields = ["name"]


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
