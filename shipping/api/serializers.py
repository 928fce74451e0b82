"""Serializers of shipments, dewars, locations and transport events.

A shipment is read as one tree (dewars → containers → samples, with each dewar's transport history)
and written as one tree: the write serializers check types and resolve ids within the user's scope,
then the view hands the plain nested data to ``shipping.services.shipment_create/update``.
Samples carry the mail-in request (``samples.choices.MAILIN_REQUEST_FIELDS``) read and written here;
the service fills the defaults and checks the request, and refuses it on a proposal that is not mail-in.
Every derived value (counts, "2 of 3", arrival date) is computed from the prefetched tree, never by
a query per row: see ``shipping.selectors.shipment_detail``.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lims.api.fields import (
    CharField,
    DateTimeField,
    PrimaryKeyRelatedField,
    ScopedPrimaryKeyRelatedField,
    UserSummarySerializer,
)
from lims.api.serializers import LabContactCardSerializer
from lims.selectors import lab_contact_visible_to, local_contact_list, proposal_visible_to, session_visible_to
from samples.api.tree import (
    SMALLINT_MAX,
    ContainerSerializer,
    ContainerWriteSerializer,
    SampleSerializer,
    SampleWriteSerializer,
)
from samples.choices import MAILIN_REQUEST_FIELDS, DatasetKind, MailinRequest
from shipping.choices import SafetyLevel
from shipping.models import Dewar, DewarEvent, Location, Shipment
from shipping.selectors import delivery_locations
from shipping.services import DEWAR_FIELDS, SHIPMENT_FIELDS

ID_MAX = 2**63 - 1
MONEY = {"max_digits": 10, "decimal_places": 2, "min_value": 0, "required": False, "allow_null": True}


class LocationSerializer(serializers.ModelSerializer):
    """A place a dewar can be at the facility."""

    class Meta:
        model = Location
        fields = ["id", "name", "kind", "barcode", "beamline", "active"]
        read_only_fields = fields


class LocationSummarySerializer(serializers.ModelSerializer):
    """A location as a dewar or an event shows it."""

    class Meta:
        model = Location
        fields = ["id", "name", "kind"]
        read_only_fields = fields


_TIME = DateTimeField()  # how every ModelSerializer writes a time (lims.api.fields)


def location_summary(location: Location | None) -> dict | None:
    """``LocationSummarySerializer``'s shape, built directly (a scan's answer has two or three)."""
    return None if location is None else {"id": location.pk, "name": location.name, "kind": location.kind}


class DewarEventSerializer(serializers.ModelSerializer):
    """One step of a dewar's transport history.

    Its fields say the shape (the schema); ``to_representation`` builds it directly, without DRF building
    nine fields for each event: every scan answers with one (``tests/shipping/test_scans.py`` checks
    that the two agree).
    """

    location = LocationSummarySerializer(read_only=True, allow_null=True)
    user = serializers.CharField(source="user.get_username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = DewarEvent
        fields = ["id", "at", "kind", "status", "location", "user", "courier", "tracking_number", "note"]
        read_only_fields = fields

    def to_representation(self, event: DewarEvent) -> dict:
        return {
            "id": event.pk,
            "at": _TIME.to_representation(event.at),
            "kind": event.kind,
            "status": event.status,
            "location": location_summary(event.location) if event.location_id else None,
            "user": event.user.get_username() if event.user_id else None,
            "courier": event.courier,
            "tracking_number": event.tracking_number,
            "note": event.note,
        }


class ExperimentSerializer(serializers.Serializer):
    """The session (beamtime) a dewar is for."""

    id = serializers.IntegerField(read_only=True)
    beamline = serializers.CharField(source="beamline.name", read_only=True)
    start = DateTimeField(read_only=True)
    end = DateTimeField(read_only=True)


class NumberInShipmentSerializer(serializers.Serializer):
    """A dewar's place in its shipment, as the label prints it: number 2 of 3."""

    number = serializers.IntegerField()
    of = serializers.IntegerField()


class ShipmentSampleSerializer(SampleSerializer):
    """A pin of a shipment, with the mail-in request (empty for other proposals)."""

    class Meta(SampleSerializer.Meta):
        fields = [*SampleSerializer.Meta.fields, *MAILIN_REQUEST_FIELDS]
        read_only_fields = fields


class ShipmentContainerSerializer(ContainerSerializer):
    samples = ShipmentSampleSerializer(many=True, read_only=True)

    class Meta(ContainerSerializer.Meta):
        pass


class ShipmentSampleWriteSerializer(SampleWriteSerializer):
    """A pin, and for a mail-in proposal what the client wants done with it (the service checks the rules:
    no request means "screen", a SAD/MAD data set needs ``anomalous_scatterer``, priority 1 to 5)."""

    mailin_request = serializers.ChoiceField(choices=MailinRequest.choices, required=False, allow_blank=True)
    mailin_dataset_kind = serializers.ChoiceField(choices=DatasetKind.choices, required=False, allow_blank=True)
    mailin_collect_better_than = serializers.FloatField(
        required=False, allow_null=True, help_text="Collect when the sample diffracts better than this (Å)."
    )
    mailin_priority = serializers.IntegerField(
        required=False, allow_null=True, min_value=-SMALLINT_MAX, max_value=SMALLINT_MAX, help_text="1 = most urgent."
    )
    mailin_comments = CharField(required=False, allow_blank=True, trim_whitespace=False)


class ShipmentContainerWriteSerializer(ContainerWriteSerializer):
    samples = ShipmentSampleWriteSerializer(many=True, required=False)


class DewarSerializer(serializers.ModelSerializer):
    """A dewar with everything the facility asks of it, its containers and its transport history."""

    number_in_shipment = serializers.SerializerMethodField()
    location = LocationSummarySerializer(read_only=True, allow_null=True, help_text="Location at the facility.")
    delivery_location = LocationSummarySerializer(read_only=True, allow_null=True)
    session = ExperimentSerializer(read_only=True, allow_null=True)
    experiment_date = DateTimeField(read_only=True, allow_null=True)
    local_contact = UserSummarySerializer(read_only=True, allow_null=True)
    arrival = DateTimeField(
        read_only=True, allow_null=True, help_text="Arrival date at the facility (the scan-in event)."
    )
    transport_history = DewarEventSerializer(source="events", many=True, read_only=True)
    containers = ShipmentContainerSerializer(many=True, read_only=True)

    class Meta:
        model = Dewar
        fields = [
            "id",
            "barcode",
            "number_in_shipment",
            "status",
            "location",
            *DEWAR_FIELDS,
            "experiment_date",
            "arrival",
            "transport_history",
            "containers",
        ]
        read_only_fields = fields

    @extend_schema_field(NumberInShipmentSerializer)
    def get_number_in_shipment(self, dewar) -> dict:
        # The dewar's shipment and its dewars come from the prefetch (the reverse relation is cached
        # on each dewar), so "2 of 3" costs no query.
        siblings = [d.pk for d in dewar.shipment.dewars.all()]
        return {"number": siblings.index(dewar.pk) + 1, "of": len(siblings)}


HEAD = ["id", "name", "status", "proposal", "proposal_name"]
COUNTS = ["dewar_count", "container_count", "sample_count"]


class ShipmentListSerializer(serializers.ModelSerializer):
    """A shipment as a list shows it, with the counts annotated by ``shipment_list``."""

    proposal_name = serializers.CharField(source="proposal.name", read_only=True)
    dewar_count = serializers.IntegerField(read_only=True)
    container_count = serializers.IntegerField(read_only=True)
    sample_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Shipment
        fields = [*HEAD, "created_at", "sent_at", "expected_arrival", "safety_level", *COUNTS]
        read_only_fields = fields


class ShipmentDetailSerializer(serializers.ModelSerializer):
    """A shipment and its whole tree; needs the queryset of ``shipping.selectors.shipment_detail``."""

    proposal_name = serializers.CharField(source="proposal.name", read_only=True)
    created_by = serializers.CharField(source="created_by.get_username", read_only=True, default=None)
    sending_contact = LabContactCardSerializer(read_only=True, allow_null=True, help_text='Lab contact "to facility".')
    return_contact = LabContactCardSerializer(
        read_only=True, allow_null=True, help_text='Lab contact "home lab", for the return.'
    )
    dewar_count = serializers.SerializerMethodField()
    container_count = serializers.SerializerMethodField()
    sample_count = serializers.SerializerMethodField()
    dewars = DewarSerializer(many=True, read_only=True)

    class Meta:
        model = Shipment
        # What the user registered (the service's fields, name first), between who and when and the counts.
        fields = [*HEAD, "created_at", "created_by", "sent_at", *SHIPMENT_FIELDS[1:], *COUNTS, "dewars"]
        read_only_fields = fields

    def get_dewar_count(self, shipment) -> int:
        return len(shipment.dewars.all())

    def get_container_count(self, shipment) -> int:
        return sum(len(d.containers.all()) for d in shipment.dewars.all())

    def get_sample_count(self, shipment) -> int:
        return sum(len(c.samples.all()) for d in shipment.dewars.all() for c in d.containers.all())


class DewarWriteSerializer(serializers.Serializer):
    """A dewar to create or change, with all its containers; containers left out are removed."""

    id = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    name = CharField(max_length=60)
    delivery_location = PrimaryKeyRelatedField(
        queryset=delivery_locations(), required=False, allow_null=True, help_text="The stores or a beamline."
    )
    customs_value = serializers.DecimalField(**MONEY)
    transport_value = serializers.DecimalField(**MONEY)
    courier_to_facility = CharField(required=False, allow_blank=True, max_length=45)
    tracking_to_facility = CharField(required=False, allow_blank=True, max_length=60)
    courier_from_facility = CharField(required=False, allow_blank=True, max_length=45)
    tracking_from_facility = CharField(required=False, allow_blank=True, max_length=60)
    session = ScopedPrimaryKeyRelatedField(
        session_visible_to, required=False, allow_null=True, help_text="The session (experiment) it is for."
    )
    local_contact = ScopedPrimaryKeyRelatedField(
        # The same choice as the web form's: the facility's local contacts and beamline staff.
        lambda user: local_contact_list(),
        required=False,
        allow_null=True,
        help_text="A user id of a facility local contact or beamline staff member.",
    )
    comments = CharField(required=False, allow_blank=True)
    containers = ShipmentContainerWriteSerializer(many=True, required=False)


class ShipmentWriteSerializer(serializers.Serializer):
    """A shipment and, if ``dewars`` is given, its whole contents (what is left out is removed).

    Items are matched by ``id`` when given, else dewars and containers by name and samples by position.
    """

    name = CharField(max_length=60)
    expected_arrival = serializers.DateField(required=False, allow_null=True)
    sending_contact = ScopedPrimaryKeyRelatedField(
        lab_contact_visible_to, required=False, allow_null=True, help_text='Lab contact card "to facility".'
    )
    return_contact = ScopedPrimaryKeyRelatedField(
        lab_contact_visible_to, required=False, allow_null=True, help_text='Lab contact card "home lab".'
    )
    return_courier = CharField(required=False, allow_blank=True, max_length=45)
    return_courier_account = CharField(required=False, allow_blank=True, max_length=45)
    safety_level = serializers.ChoiceField(choices=SafetyLevel.choices, required=False)
    comments = CharField(required=False, allow_blank=True)
    dewars = DewarWriteSerializer(many=True, required=False)


class ShipmentCreateSerializer(ShipmentWriteSerializer):
    """A new shipment: the same as a change, plus the proposal it is for."""

    proposal = ScopedPrimaryKeyRelatedField(proposal_visible_to)


class SheetUploadSerializer(serializers.Serializer):
    """A sample sheet to import: CSV or XLSX, columns as in the template."""

    file = serializers.FileField()


class ImportResultSerializer(serializers.Serializer):
    """What an import wrote."""

    dewars = serializers.IntegerField()
    containers = serializers.IntegerField()
    samples = serializers.IntegerField()
    format = serializers.CharField(
        help_text='The format the file was read as, e.g. "ISPyB shipping CSV (EXI, py-ispyb-ui)".'
    )
    messages = serializers.ListField(child=serializers.CharField())
