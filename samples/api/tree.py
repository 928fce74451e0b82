"""The tree's serializers: proteins, containers (pucks) and samples (pins), read and nested-write shapes.

Shared with shipping, whose shipments nest them (``shipping.api.serializers``): besides the models and the
choices, the one module of this app that shipping imports (``.importlinter``).

The write shapes check types only (and bounds that keep numbers inside what the database stores);
the rules (names, positions within capacity, unique pin codes...) are the service's, which reports
them under the same paths ("dewars.0.containers.1.samples.2.name").
"""

from rest_framework import serializers

from lims.api.fields import CharField, ScopedPrimaryKeyRelatedField
from samples.choices import (
    MAX_OTHER_CAPACITY,
    CentringMethod,
    CollectionMode,
    ContainerType,
    ExperimentKind,
    ScreeningMethod,
)
from samples.models import (
    CRYSTAL_FIELDS,
    DIFFRACTION_PLAN_FIELDS,
    Container,
    Protein,
    Sample,
)
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
    return CharField(required=False, allow_blank=True, max_length=max_length, **kwargs)


def _number(min_value=None, max_value=None):
    return serializers.FloatField(required=False, allow_null=True, min_value=min_value, max_value=max_value)


class SampleWriteSerializer(serializers.Serializer):
    """A pin to create (no ``id``) or change (``id``, or the same position of the same container)."""

    id = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    position = serializers.IntegerField(min_value=1, max_value=MAX_OTHER_CAPACITY)
    name = CharField(max_length=45)
    pin_code = CharField(required=False, allow_null=True, allow_blank=True, max_length=20)
    protein = ScopedPrimaryKeyRelatedField(
        protein_visible_to, required=False, help_text="A protein id of the shipment's proposal."
    )
    protein_acronym = CharField(
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
    forced_space_group = _text(20)
    observed_resolution = _number()
    minimum_resolution = _number()
    total_rotation = _number()
    oscillation_width = _number()
    min_oscillation = _number()
    exposure_time = _number()
    transmission = _number()
    detector_distance = _number()
    energy = _number()
    centring_method = serializers.ChoiceField(choices=CentringMethod.choices, required=False, allow_blank=True)
    collection_mode = serializers.ChoiceField(choices=CollectionMode.choices, required=False, allow_blank=True)
    screening_method = serializers.ChoiceField(choices=ScreeningMethod.choices, required=False, allow_blank=True)
    screening_collect_value = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=SMALLINT_MAX
    )
    sample_group = _text(45)
    sublocation = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=SMALLINT_MAX)
    user_path = _text(100)
    image_prefix = _text(45)
    recipe = _text(100)
    contact_person = _text(100)
    comments = _text(trim_whitespace=False)


class ContainerWriteSerializer(serializers.Serializer):
    """A puck to create or change, with all its pins; pins left out are removed."""

    id = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    name = CharField(max_length=60)
    container_type = serializers.ChoiceField(choices=ContainerType.choices, required=False)
    capacity = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=SMALLINT_MAX,
        help_text='Only for container type "other"; SPINE and UniPuck have their own.',
    )
    barcode = CharField(required=False, allow_null=True, allow_blank=True, max_length=40)
    comments = _text(trim_whitespace=False)
    samples = SampleWriteSerializer(many=True, required=False)
