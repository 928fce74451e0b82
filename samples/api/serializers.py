"""Serializers of proteins, containers (pucks) and samples (pins), read and nested-write shapes.

The write shapes check types only (and bounds that keep numbers inside what the database stores);
the rules (names, positions within capacity, unique pin codes...) are the service's, which reports
them under the same paths ("dewars.0.containers.1.samples.2.name").
"""

from rest_framework import serializers

from lims.api.fields import ScopedPrimaryKeyRelatedField
from samples.choices import MAX_OTHER_CAPACITY, ContainerType, ExperimentKind
from samples.models import CRYSTAL_FIELDS, DIFFRACTION_PLAN_FIELDS, Container, Protein, PuckAudit, Sample
from samples.selectors import protein_visible_to

SMALLINT_MAX = 32767
ID_MAX = 2**63 - 1


class ProteinSerializer(serializers.ModelSerializer):
    """A protein of a proposal, known by its acronym."""

    class Meta:
        model = Protein
        fields = ["id", "proposal", "acronym", "name", "created_at"]
        read_only_fields = fields


class ProteinSummarySerializer(serializers.ModelSerializer):
    """The protein as a sample shows it."""

    class Meta:
        model = Protein
        fields = ["id", "acronym"]
        read_only_fields = fields


class SampleSerializer(serializers.ModelSerializer):
    """A pin: its position, codes, protein, crystal and diffraction plan."""

    protein = ProteinSummarySerializer(read_only=True)

    class Meta:
        model = Sample
        fields = [
            "id",
            "position",
            "name",
            "pin_code",
            "protein",
            "status",
            *CRYSTAL_FIELDS,
            *DIFFRACTION_PLAN_FIELDS,
            "comments",
        ]
        read_only_fields = fields


class ContainerSerializer(serializers.ModelSerializer):
    """A puck with its pins, in position order."""

    samples = SampleSerializer(many=True, read_only=True)

    class Meta:
        model = Container
        fields = ["id", "name", "container_type", "capacity", "barcode", "status", "comments", "samples"]
        read_only_fields = fields


def _text(max_length: int | None = None, **kwargs):
    return serializers.CharField(required=False, allow_blank=True, max_length=max_length, **kwargs)


def _number(min_value=None, max_value=None):
    return serializers.FloatField(required=False, allow_null=True, min_value=min_value, max_value=max_value)


class SampleWriteSerializer(serializers.Serializer):
    """A pin to create (no ``id``) or change (``id``, or the same position of the same container)."""

    id = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    position = serializers.IntegerField(min_value=1, max_value=MAX_OTHER_CAPACITY)
    name = serializers.CharField(max_length=45)
    pin_code = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=20)
    protein = ScopedPrimaryKeyRelatedField(
        protein_visible_to, required=False, help_text="A protein id of the shipment's proposal."
    )
    protein_acronym = serializers.CharField(
        required=False,
        max_length=45,
        help_text="Instead of ``protein``: the acronym of a protein of the proposal; a new acronym adds it.",
    )
    space_group = _text(20)
    cell_a = _number()
    cell_b = _number()
    cell_c = _number()
    cell_alpha = _number()
    cell_beta = _number()
    cell_gamma = _number()
    experiment_kind = serializers.ChoiceField(choices=ExperimentKind.choices, required=False, allow_blank=True)
    aimed_resolution = _number()
    required_resolution = _number()
    aimed_completeness = _number()
    aimed_multiplicity = _number()
    preferred_beam_size = _number()
    anomalous_scatterer = _text(3)
    number_of_positions = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=SMALLINT_MAX)
    radiation_sensitivity = _number()
    loop_type = _text(45)
    holder_length = _number()
    smiles = _text(400)
    comments = _text(trim_whitespace=False)


class ContainerWriteSerializer(serializers.Serializer):
    """A puck to create or change, with all its pins; pins left out are removed."""

    id = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    name = serializers.CharField(max_length=60)
    container_type = serializers.ChoiceField(choices=ContainerType.choices, required=False)
    capacity = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=SMALLINT_MAX,
        help_text='Only for container type "other"; SPINE and UniPuck have their own.',
    )
    barcode = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=40)
    comments = _text(trim_whitespace=False)
    samples = SampleWriteSerializer(many=True, required=False)


class SheetUploadSerializer(serializers.Serializer):
    """A sample sheet to import: CSV or XLSX, columns as in the template."""

    file = serializers.FileField()


class ImportResultSerializer(serializers.Serializer):
    """What an import wrote."""

    dewars = serializers.IntegerField()
    containers = serializers.IntegerField()
    samples = serializers.IntegerField()
    messages = serializers.ListField(child=serializers.CharField())


class ContainerDetailSerializer(ContainerSerializer):
    """A puck on its own: where it is (dewar, shipment) and its pins."""

    class Meta(ContainerSerializer.Meta):
        fields = [
            "id",
            "name",
            "container_type",
            "capacity",
            "barcode",
            "status",
            "dewar",
            "shipment",
            "comments",
            "samples",
        ]
        read_only_fields = fields


class PuckPhotoSerializer(serializers.Serializer):
    """A photo of the puck seen from above (PNG or JPEG), as multipart ``image``."""

    image = serializers.FileField()


class PuckAuditSerializer(serializers.ModelSerializer):
    """A stored puck audit; ``result`` is ``samples.audit.AuditResult.to_dict()``."""

    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PuckAudit
        fields = ["id", "container", "at", "user", "method", "confidence", "ok", "result"]
        read_only_fields = fields
