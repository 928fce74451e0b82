"""Serializers of a puck's and a pin's own endpoints: places in a sample changer, the robot's actions, statuses,
histories and puck audits. The tree's own shapes (pucks and pins, read and write) are in ``tree``."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lims.api.fields import CharField, DateTimeField
from samples.choices import (
    REPORTED_SAMPLE_STATUSES,
    RobotActionStatus,
    RobotActionType,
)
from samples.models import (
    CRYSTAL_FIELDS,
    DIFFRACTION_PLAN_FIELDS,
    Container,
    ContainerHistory,
    PuckAudit,
    RobotAction,
    SampleStatusChange,
)

from .tree import ID_MAX, SMALLINT_MAX, ContainerSerializer, SampleSerializer


class ChangerPlaceMixin(serializers.Serializer):
    """Where a puck sits in a sample changer (all null when in none). Needs ``beamline`` fetched with it."""

    beamline_name = serializers.SerializerMethodField()
    changer_address = serializers.SerializerMethodField()
    position_code = serializers.SerializerMethodField()

    def _container(self, obj) -> Container:
        return obj

    def get_beamline_name(self, obj) -> str | None:
        container = self._container(obj)
        return container.beamline.name if container.beamline_id else None

    def get_changer_address(self, obj) -> str | None:
        """The position as the changer names it: "7", or "cell:puck" ("3:2") on cell-based changers."""
        container = self._container(obj)
        return container.beamline.address(container.changer_position) if container.beamline_id else None

    def get_position_code(self, obj) -> str | None:
        """What the label on the changer position carries, e.g. "MX-3:07"."""
        container = self._container(obj)
        return container.beamline.position_code(container.changer_position) if container.beamline_id else None


PLACE_FIELDS = ["beamline", "beamline_name", "changer_position", "changer_address", "position_code"]


class ContainerDetailSerializer(ChangerPlaceMixin, ContainerSerializer):
    """A puck on its own: where it is (dewar, shipment, sample changer) and its pins."""

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
            *PLACE_FIELDS,
            "comments",
            "samples",
        ]
        read_only_fields = fields


class PuckPhotoSerializer(serializers.Serializer):
    """A photo of the puck seen from above (PNG or JPEG), as multipart ``image``."""

    image = serializers.FileField()


class PuckAuditSerializer(serializers.ModelSerializer):
    """A stored puck audit; ``result`` is ``samples.puck_audit.AuditResult.to_dict()``."""

    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PuckAudit
        fields = ["id", "container", "at", "user", "method", "confidence", "ok", "result"]
        read_only_fields = fields


# --- the beamline: pucks in sample changers, samples with their positions, robot actions, statuses -------


class ContainerPlaceSerializer(ChangerPlaceMixin, serializers.ModelSerializer):
    """A puck and where it sits in a sample changer (no pins)."""

    class Meta:
        model = Container
        fields = ["id", "name", "barcode", "container_type", "status", *PLACE_FIELDS]
        read_only_fields = fields


class ChangerContainerSerializer(serializers.ModelSerializer):
    """The puck in a changer position, as the changer page shows it (``samples.selectors.changer_contents``)."""

    proposal = serializers.CharField(source="shipment.proposal.name", read_only=True)
    dewar = serializers.CharField(source="dewar.barcode", read_only=True)
    sample_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Container
        fields = ["id", "name", "barcode", "container_type", "status", "proposal", "dewar", "sample_count"]
        read_only_fields = fields


class ChangerPositionSerializer(serializers.Serializer):
    """One position of a sample changer: how the changer and its label name it, what it takes, what is in it."""

    position = serializers.IntegerField()
    address = serializers.CharField(help_text='As beamline control says it: "7", or "3:2" (cell:puck).')
    code = serializers.CharField(help_text='The position label\'s code, e.g. "MX-3:07".')
    accepts = serializers.ListField(child=serializers.CharField())
    container = ChangerContainerSerializer(allow_null=True)


class SampleContainerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Container
        fields = ["id", "name", "barcode", "container_type"]
        read_only_fields = fields


class SampleLocatedSerializer(ChangerPlaceMixin, SampleSerializer):
    """A pin and where it is: its puck, the puck's sample-changer position and the pin's position in the puck.

    ``address`` is the pin as beamline control addresses it ("7:05", or "3:2:05" on cell-based changers).
    Needs ``samples.selectors.sample_visible_to`` with ``container__beamline`` fetched.
    """

    proposal = serializers.CharField(source="container.shipment.proposal.name", read_only=True)
    container = SampleContainerSerializer(read_only=True)
    beamline = serializers.IntegerField(source="container.beamline_id", read_only=True, allow_null=True)
    changer_position = serializers.IntegerField(
        source="container.changer_position", read_only=True, allow_null=True, help_text="The puck's position."
    )
    address = serializers.SerializerMethodField()

    class Meta(SampleSerializer.Meta):
        fields = [
            "id",
            "name",
            "pin_code",
            "position",
            "status",
            "proposal",
            "protein",
            "container",
            *PLACE_FIELDS,
            "address",
            "last_centring_position",
            *CRYSTAL_FIELDS,
            *DIFFRACTION_PLAN_FIELDS,
            "comments",
        ]
        read_only_fields = fields

    def _container(self, obj) -> Container:
        return obj.container

    def get_address(self, sample) -> str | None:
        container = sample.container
        if not container.beamline_id:
            return None
        return f"{container.beamline.address(container.changer_position)}:{sample.position:02d}"


class AssignSerializer(serializers.Serializer):
    """Where to put a puck: a position given one of three ways, on a beamline (by id or name).

    ``position_code`` is what the position's label carries ("MX-3:07", "MX-2:3:2", or the scan station's
    location code "MX-3-SC-7") and names the beamline too. A beamline's API token fills its own changer.
    """

    # Loose on purpose: beamline control sends the id as a number and the address "7" as 7.
    beamline = serializers.CharField(required=False, max_length=40, help_text="The beamline's id or name.")
    position = serializers.IntegerField(required=False, min_value=1, max_value=SMALLINT_MAX)
    address = serializers.CharField(required=False, max_length=20, help_text='As the changer says it: "7", "3:2".')
    position_code = CharField(required=False, max_length=60, help_text='e.g. "MX-3:07".')
    session = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=ID_MAX, help_text="Default: the puck's session."
    )


class AssignResultSerializer(serializers.Serializer):
    container = ContainerPlaceSerializer()
    displaced = ContainerPlaceSerializer(allow_null=True, help_text="The puck taken out of that position, if any.")
    changed = serializers.BooleanField(help_text="False when the puck was already there.")
    session = serializers.IntegerField(allow_null=True, help_text="The session the puck went in for.")
    message = serializers.CharField()


class UnassignSerializer(serializers.Serializer):
    message = CharField(required=False, allow_blank=True, max_length=255)


class UnassignResultSerializer(serializers.Serializer):
    container = ContainerPlaceSerializer()
    changed = serializers.BooleanField(help_text="False when the puck was in no sample changer.")
    message = serializers.CharField()


class UnloadResultSerializer(serializers.Serializer):
    session = serializers.IntegerField()
    unloaded = ContainerPlaceSerializer(many=True, help_text="The pucks taken out, as they were before.")
    message = serializers.CharField()


class UpperChoiceField(serializers.ChoiceField):
    """A choice whatever its case ("load", "LOAD"): beamline control software is not consistent."""

    def __init__(self, choices, *, upper: bool = True, **kwargs):
        self.upper = upper
        super().__init__(choices, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.strip().upper() if self.upper else data.strip().lower()
        return super().to_internal_value(data)


def robot_action_status(schema_name: str, **kwargs) -> UpperChoiceField:
    """A robot action's status (``RobotActionStatus``), whatever its case.

    Each serializer gets its own enum in the schema (``schema_name``): one shared "status" enum of this
    choice set would need an entry in settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].
    """
    values = ["", *RobotActionStatus.values] if kwargs.get("allow_blank") or kwargs.get("read_only") else None
    schema = {"type": "string", "enum": values or RobotActionStatus.values, "x-spec-enum-id": schema_name}
    # A class, not an instance, carries the annotation: serializers deep-copy their fields from the arguments.
    field_class = extend_schema_field(schema)(type("RobotActionStatusField", (UpperChoiceField,), {}))
    return field_class(RobotActionStatus.choices, **kwargs)


def _actor(obj) -> dict:
    return {
        "user": obj.user.get_username() if obj.user_id else None,
        "token": obj.token.name if obj.token_id else None,
    }


class RobotActionSerializer(serializers.ModelSerializer):
    """What the sample changer's robot did. ``sample`` is null when beamline control named no known sample;
    ``sample_reference`` keeps the id as sent."""

    beamline_name = serializers.CharField(source="beamline.name", read_only=True)
    status = robot_action_status("robot-action", read_only=True)
    by = serializers.SerializerMethodField()

    class Meta:
        model = RobotAction
        fields = [
            "id",
            "beamline",
            "beamline_name",
            "session",
            "sample",
            "sample_reference",
            "action_type",
            "status",
            "started_at",
            "ended_at",
            "container_location",
            "dewar_location",
            "sample_barcode",
            "message",
            "snapshot_before",
            "snapshot_after",
            "by",
            "created_at",
        ]
        read_only_fields = fields

    def get_by(self, action) -> dict:
        """{user, token}: who reported it."""
        return _actor(action)


def _text_field(max_length: int = 10_000):
    # Generous limits: the service truncates to the column, beamline control must never lose a record.
    return CharField(required=False, allow_blank=True, allow_null=True, max_length=max_length)


class RobotActionCreateSerializer(serializers.Serializer):
    """A robot action to record. The beamline is the token's; people give it, or a session on it.

    An unknown ``sample`` (-1, null, an id nobody has) is stored unlinked, with the id as sent.
    """

    action_type = UpperChoiceField(RobotActionType.choices)
    status = robot_action_status("robot-action-create", required=False, allow_blank=True)
    beamline = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=ID_MAX)
    session = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=ID_MAX)
    sample = serializers.IntegerField(required=False, allow_null=True, min_value=-ID_MAX, max_value=ID_MAX)
    started_at = DateTimeField(required=False, allow_null=True)
    ended_at = DateTimeField(required=False, allow_null=True)
    container_location = _text_field(200)
    dewar_location = _text_field(200)
    sample_barcode = _text_field(200)
    message = _text_field()
    snapshot_before = _text_field(1000)
    snapshot_after = _text_field(1000)


class RobotActionCompleteSerializer(serializers.Serializer):
    """The end of a robot action: its final status, end time (now by default) and message."""

    status = robot_action_status("robot-action-complete")
    ended_at = DateTimeField(required=False, allow_null=True)
    message = CharField(required=False, allow_blank=True, allow_null=True, max_length=10_000)


class SampleStatusSerializer(serializers.Serializer):
    """A sample's new status as beamline control reports it, and/or its last centring position."""

    status = UpperChoiceField(
        [(s.value, s.label) for s in REPORTED_SAMPLE_STATUSES],
        upper=False,
        required=False,
        allow_null=True,
        help_text="What the beamline did with the pin; where it is follows its puck.",
    )
    detail = CharField(required=False, allow_blank=True, max_length=255, help_text='e.g. "ERROR - sample".')
    centring_position = serializers.JSONField(
        required=False, allow_null=True, help_text="The centring's motor positions, as an object."
    )

    def validate_centring_position(self, value):
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError('Give an object of motor positions, e.g. {"phi": 12.5}.')
        return value

    def validate(self, data):
        if data.get("status") is None and data.get("centring_position") is None:
            raise serializers.ValidationError({"status": "Give a status or a centring position."})
        return data


class SampleStatusChangeSerializer(serializers.ModelSerializer):
    by = serializers.SerializerMethodField()

    class Meta:
        model = SampleStatusChange
        fields = ["id", "sample", "at", "status", "previous", "detail", "centring_position", "by"]
        read_only_fields = fields

    def get_by(self, change) -> dict:
        """{user, token}: who reported it."""
        return _actor(change)


class ContainerHistorySerializer(serializers.ModelSerializer):
    """A puck put into or taken out of a sample changer."""

    beamline_name = serializers.CharField(source="beamline.name", read_only=True, allow_null=True)
    by = serializers.SerializerMethodField()

    class Meta:
        model = ContainerHistory
        fields = [
            "id",
            "container",
            "at",
            "status",
            "beamline",
            "beamline_name",
            "changer_position",
            "location",
            "session",
            "message",
            "by",
        ]
        read_only_fields = fields

    def get_by(self, row) -> dict:
        """{user, token}: who did it."""
        return _actor(row)


class SampleHistorySerializer(serializers.Serializer):
    """What happened to a sample, each part newest first."""

    sample = SampleLocatedSerializer()
    status_history = SampleStatusChangeSerializer(many=True)
    robot_actions = RobotActionSerializer(many=True)
    assignments = ContainerHistorySerializer(many=True, help_text="Its puck put into and taken out of changers.")
