"""REST endpoints of the core domain. Every queryset comes from a scoped selector (``ScopedQuerysetMixin``)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.authtoken.views import ObtainAuthToken

from lims import selectors, services

from .filters import LabContactFilter, SessionFilter
from .serializers import (
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


class SessionViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Sessions (beamtimes) of the user's proposals."""

    selector = selectors.session_visible_to
    serializer_class = SessionSerializer
    filterset_class = SessionFilter
    ordering_fields = ["start", "end"]


class BeamlineViewSet(viewsets.ReadOnlyModelViewSet):
    """Active beamlines: facility facts that any signed-in user may read."""

    queryset = selectors.beamline_list()
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


class ObtainTokenView(ObtainAuthToken):
    """Exchange a username and password for an API token (``Authorization: Token <token>``)."""

    @extend_schema(request=TokenRequestSerializer, responses=TokenSerializer, auth=[])
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
