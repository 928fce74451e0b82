"""Serializers of the core domain: proposals, beamlines, sessions and lab contact cards."""

from django.db import models
from rest_framework import serializers

from lims.models import Beamline, LabContact, Proposal, Session
from lims.selectors import proposal_visible_to
from lims.services import LAB_CONTACT_FIELDS

from .fields import CharField, DateTimeField, ScopedPrimaryKeyRelatedField, UserSummarySerializer


class ProposalSerializer(serializers.ModelSerializer):
    """A proposal as its members and the facility see it."""

    class Meta:
        model = Proposal
        fields = ["id", "name", "code", "number", "title", "kind", "mail_in", "created_at"]
        read_only_fields = fields


class BeamlineSerializer(serializers.ModelSerializer):
    """A beamline and the geometry of its sample changer."""

    class Meta:
        model = Beamline
        fields = [
            "id",
            "name",
            "sample_changer_model",
            "puck_positions",
            "positions_per_cell",
            "accepted_container_types",
            "position_types",
            "active",
        ]
        read_only_fields = fields


class SessionSerializer(serializers.ModelSerializer):
    """A beamtime: which proposal, on which beamline, when, and the facility's local contact."""

    proposal_name = serializers.CharField(source="proposal.name", read_only=True)
    beamline_name = serializers.CharField(source="beamline.name", read_only=True)
    local_contact = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Session
        fields = [
            "id",
            "proposal",
            "proposal_name",
            "beamline",
            "beamline_name",
            "start",
            "end",
            "local_contact",
            "comments",
        ]
        read_only_fields = fields


class LabContactSerializer(serializers.ModelSerializer):
    """A lab contact card. Checks types only; ``lims.services`` checks the rules (unique card name...)."""

    # The card's text fields as text only (``lims.api.fields.CharField``): ``name: 123`` is a 400.
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: CharField,
        models.TextField: CharField,
    }
    proposal = ScopedPrimaryKeyRelatedField(proposal_visible_to)
    proposal_name = serializers.CharField(source="proposal.name", read_only=True)

    class Meta:
        model = LabContact
        fields = ["id", "proposal", "proposal_name", *LAB_CONTACT_FIELDS]
        # The card name is unique within a proposal: the service checks it, with a clearer message.
        validators = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            # A card stays with the proposal it was made for.
            self.fields["proposal"].read_only = True


class LabContactCardSerializer(serializers.ModelSerializer):
    """A lab contact card as a shipment shows it: what the courier and the facility need."""

    class Meta:
        model = LabContact
        fields = ["id", "card_name", "name", "telephone", "fax", "email", "lab_name", "address"]
        read_only_fields = fields


class TokenRequestSerializer(serializers.Serializer):
    """Username and password, exchanged for an API token."""

    username = serializers.CharField(write_only=True)
    password = serializers.CharField(write_only=True, style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    """A personal API token: send it as ``Authorization: Token <token>``. Shown once: only its hash is kept."""

    token = serializers.CharField(read_only=True)
    expires_at = DateTimeField(read_only=True)


class TokenRevokeSerializer(serializers.Serializer):
    """The token to revoke: one's own; left out, the token this request is authenticated with."""

    token = serializers.CharField(required=False, write_only=True, trim_whitespace=True)
