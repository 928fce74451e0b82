"""The beamline's reads and writes on the core's sessions and beamlines: their samples and the sample changer.

    GET  /api/v1/beamlines/{id}/changer/   every position of the sample changer and the puck in it
    GET  /api/v1/beamlines/{id}/samples/   the samples in the changer, with their positions
    GET  /api/v1/sessions/{id}/samples/    the session's samples, with their positions
    POST /api/v1/sessions/{id}/unload/     take the session's pucks out of the changer

The viewsets extend the core's (``lims.api.views``), which know nothing of samples; ``config.api_urls`` registers
these in their place, so the addresses are the core's.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from lims import access
from lims.api import views as core
from lims.api.serializers import BeamlineSerializer
from samples import services as sample_services
from samples.api.serializers import ChangerPositionSerializer, SampleLocatedSerializer, UnloadResultSerializer
from samples.selectors import changer_contents

from .located import beamline_rows, changer_beamline, located_items, session_rows

ERROR = core.ERROR


class BeamlineChangerSerializer(serializers.Serializer):
    """A sample changer's contents: the beamline and every position in order."""

    beamline = BeamlineSerializer()
    positions = ChangerPositionSerializer(many=True)


def sample_page(view, rows):
    """A page of located samples, in the shape of ``SampleLocatedSerializer``, built from rows (``located``)."""
    return view.get_paginated_response(located_items(view.paginate_queryset(rows)))


class SessionViewSet(core.SessionViewSet):
    __doc__ = core.SessionViewSet.__doc__

    @extend_schema(responses=SampleLocatedSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def samples(self, request, pk=None):
        """The session's samples with their positions: its proposal's pucks in the beamline's sample changer
        or in a dewar booked on the session, in changer order (members see their own proposal's only)."""
        return sample_page(self, session_rows(request.user, self.get_object()))

    @extend_schema(request=None, responses={200: UnloadResultSerializer, 403: ERROR})
    @action(detail=True, methods=["post"], filter_backends=[])
    def unload(self, request, pk=None):
        """Take every puck of the session's proposal out of the beamline's sample changer."""
        session = self.get_object()
        access.may_fill_changer.require(request.user, session.beamline_id)
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


class BeamlineViewSet(core.BeamlineViewSet):
    __doc__ = core.BeamlineViewSet.__doc__

    @extend_schema(responses={200: BeamlineChangerSerializer, 403: ERROR}, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def changer(self, request, pk=None):
        """Every position of the sample changer in order: its address, label code, the puck types it takes and
        the puck in it (null when empty). Beamline staff, local contacts, admins and the beamline's token."""
        beamline = self.get_object()
        access.may_see_changer.require(request.user, beamline.pk)
        return Response(BeamlineChangerSerializer({"beamline": beamline, "positions": changer_contents(beamline)}).data)

    @extend_schema(responses=SampleLocatedSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def samples(self, request, pk=None):
        """The samples in the beamline's sample changer with their positions, in changer order (members see
        their own proposals' samples only)."""
        return sample_page(self, beamline_rows(request.user, changer_beamline(self, pk)))
