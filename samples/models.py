"""Proteins, containers (pucks) and samples (pins) with their crystal and diffraction plan."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from lims.access import scope_confidential
from lims.barcodes.codes import StoredCodeValidator, validate_code
from lims.crystals import cell_errors, space_group, validate_angle
from lims.models import ApiToken, Beamline, Proposal, Session
from lims.validators import validate_name

from .choices import (
    CONTAINER_CAPACITY,
    MAX_OTHER_CAPACITY,
    CentringMethod,
    CollectionMode,
    ContainerStatus,
    ContainerType,
    DatasetKind,
    ExperimentKind,
    MailinRequest,
    MailinState,
    RobotActionStatus,
    RobotActionType,
    SampleStatus,
    ScreeningMethod,
)

# Beamline control rejects any other character in a sample name: one bad name aborts its whole sync.
SAMPLE_NAME_REGEX = r"^[A-Za-z0-9:+_-]+$"
sample_name_validator = RegexValidator(
    SAMPLE_NAME_REGEX, "Use only letters, digits and the characters : + _ - (no spaces)."
)


def validate_pin_code(value: str) -> None:
    """A SPINE pin code as stored (services normalise first): the facility's rule, in lims.barcodes.codes."""
    if value:
        validate_code("pin", value, normalised=False)


# The sample's crystal and diffraction-plan fields, as ISPyB groups them (Crystal, DiffractionPlan).
CRYSTAL_FIELDS = ("space_group", "cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")
DIFFRACTION_PLAN_FIELDS = (
    "experiment_kind",
    "aimed_resolution",
    "required_resolution",
    "aimed_completeness",
    "aimed_multiplicity",
    "preferred_beam_size",
    "anomalous_scatterer",
    "number_of_positions",
    "radiation_sensitivity",
    "loop_type",
    "holder_length",
    "smiles",
    "forced_space_group",
    "observed_resolution",
    "minimum_resolution",
    "total_rotation",
    "oscillation_width",
    "min_oscillation",
    "exposure_time",
    "transmission",
    "detector_distance",
    "energy",
    "centring_method",
    "collection_mode",
    "screening_method",
    "screening_collect_value",
    "sample_group",
    "sublocation",
    "user_path",
    "image_prefix",
    "recipe",
    "contact_person",
)

positive = [MinValueValidator(0.0001)]
angle = [validate_angle]
prefix_validator = RegexValidator(r"^[A-Za-z0-9_.-]*$", "Use only letters, digits and . _ - (no spaces).")
_USER_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def validate_energy(value) -> None:
    """An X-ray energy in eV: MX beamlines work from about 4 to 40 keV."""
    if value is None:
        return
    if 1 <= value < 100:
        raise ValidationError(f"Give the energy in eV: {value:g} looks like keV ({value * 1000:g} eV).", code="energy")
    if not 1000 <= value <= 100000:
        raise ValidationError("An X-ray energy is between 1,000 and 100,000 eV.", code="energy")


def validate_user_path(value: str) -> None:
    """A subdirectory under the session's data directory: relative, no "..", no spaces."""
    if value and (not _USER_PATH.match(value) or ".." in value.split("/")):
        raise ValidationError(
            'Give a relative path of letters, digits and . _ - separated by "/" (no "..", no leading "/").',
            code="user_path",
        )


class Protein(models.Model):
    """A macromolecule of a proposal, known by its acronym (unique within the proposal)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="proteins")
    acronym = models.CharField(max_length=45, validators=[validate_name, sample_name_validator])
    name = models.CharField(max_length=255, blank=True, validators=[validate_name])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["acronym"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "acronym"], name="protein_acronym_unique_per_proposal"),
            models.CheckConstraint(condition=Q(acronym__regex=SAMPLE_NAME_REGEX), name="protein_acronym_charset"),
        ]

    def __str__(self) -> str:
        return self.acronym


class Container(models.Model):
    """A puck in a dewar: SPINE (10 pins), UniPuck (16) or another with its own capacity."""

    shipment = models.ForeignKey(
        "shipping.Shipment", on_delete=models.CASCADE, related_name="containers", editable=False
    )
    dewar = models.ForeignKey("shipping.Dewar", on_delete=models.CASCADE, related_name="containers")
    name = models.CharField(max_length=60, validators=[validate_name, sample_name_validator])
    container_type = models.CharField(max_length=10, choices=ContainerType.choices, default=ContainerType.UNIPUCK)
    capacity = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_OTHER_CAPACITY)]
    )
    barcode = models.CharField(
        max_length=40, unique=True, null=True, blank=True, validators=[StoredCodeValidator("puck")]
    )
    status = models.CharField(max_length=20, choices=ContainerStatus.choices, default=ContainerStatus.REGISTERED)
    comments = models.TextField(blank=True)
    # Where the puck sits in a sample changer: kept by samples.services (container_assign/unassign).
    beamline = models.ForeignKey(
        Beamline, on_delete=models.PROTECT, null=True, blank=True, related_name="containers", editable=False
    )
    changer_position = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["dewar", "id"]
        indexes = [models.Index(fields=["beamline", "changer_position"], name="container_changer_idx")]
        constraints = [
            # A position of a sample changer holds at most one container.
            models.UniqueConstraint(
                fields=["beamline", "changer_position"],
                condition=Q(beamline__isnull=False),
                name="container_one_per_changer_position",
            ),
            models.CheckConstraint(
                condition=(Q(beamline__isnull=True) & Q(changer_position__isnull=True))
                | (Q(beamline__isnull=False) & Q(changer_position__gte=1)),
                name="container_changer_position_with_beamline",
            ),
            # The shipment is the dewar's: kept by the services, it lets the database enforce names.
            models.UniqueConstraint(fields=["shipment", "name"], name="container_name_unique_per_shipment"),
            models.CheckConstraint(
                condition=(
                    Q(container_type=ContainerType.SPINE, capacity=CONTAINER_CAPACITY[ContainerType.SPINE])
                    | Q(
                        container_type=ContainerType.UNIPUCK,
                        capacity=CONTAINER_CAPACITY[ContainerType.UNIPUCK],
                    )
                    | Q(container_type=ContainerType.OTHER, capacity__gte=1, capacity__lte=MAX_OTHER_CAPACITY)
                ),
                name="container_capacity_matches_type",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        standard = CONTAINER_CAPACITY.get(self.container_type)
        if standard is not None and self.capacity is None:
            self.capacity = standard
        if standard is not None and self.capacity != standard:
            raise ValidationError({"capacity": f"A {self.get_container_type_display()} holds {standard} pins."})
        if self.capacity is None:
            raise ValidationError({"capacity": "Give the number of positions of this container."})
        if self.dewar_id and self.shipment_id and self.dewar.shipment_id != self.shipment_id:
            raise ValidationError({"dewar": "The dewar belongs to another shipment."})


class Sample(models.Model):
    """A pin in a container position: the crystal on it and what the user wants done with it."""

    container = models.ForeignKey(Container, on_delete=models.CASCADE, related_name="samples")
    position = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    name = models.CharField(max_length=45, validators=[validate_name, sample_name_validator])
    pin_code = models.CharField("pin barcode", max_length=20, null=True, blank=True, validators=[validate_pin_code])
    protein = models.ForeignKey(Protein, on_delete=models.PROTECT, related_name="samples")
    status = models.CharField(max_length=20, choices=SampleStatus.choices, default=SampleStatus.REGISTERED)
    # Beamline control's last centring of the crystal (motor positions), kept for the next mount.
    last_centring_position = models.JSONField(null=True, blank=True, editable=False)
    # Set when the sample leaves circulation (its shipment cancelled or closed): its pin may be reused.
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Crystal
    space_group = models.CharField(max_length=20, blank=True)
    cell_a = models.FloatField(null=True, blank=True, validators=positive)
    cell_b = models.FloatField(null=True, blank=True, validators=positive)
    cell_c = models.FloatField(null=True, blank=True, validators=positive)
    cell_alpha = models.FloatField(null=True, blank=True, validators=angle)
    cell_beta = models.FloatField(null=True, blank=True, validators=angle)
    cell_gamma = models.FloatField(null=True, blank=True, validators=angle)
    # Diffraction plan
    experiment_kind = models.CharField(
        max_length=30, choices=ExperimentKind.choices, default=ExperimentKind.DEFAULT, blank=True
    )
    aimed_resolution = models.FloatField("aimed resolution (Å)", null=True, blank=True, validators=positive)
    required_resolution = models.FloatField("required resolution (Å)", null=True, blank=True, validators=positive)
    aimed_completeness = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    aimed_multiplicity = models.FloatField(null=True, blank=True, validators=positive)
    preferred_beam_size = models.FloatField("preferred beam size (µm)", null=True, blank=True, validators=positive)
    anomalous_scatterer = models.CharField(max_length=3, blank=True)
    number_of_positions = models.PositiveSmallIntegerField(null=True, blank=True)
    radiation_sensitivity = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0)])
    loop_type = models.CharField(max_length=45, blank=True)
    holder_length = models.FloatField("holder length (mm)", null=True, blank=True, validators=positive)
    smiles = models.CharField("ligand SMILES", max_length=400, blank=True)
    # The rest of the plan as ISPyB (EXI, py-ispyb-ui) and SynchWeb sheets carry it.
    forced_space_group = models.CharField(
        max_length=20, blank=True, help_text="Process the data in this group, whatever indexing suggests."
    )
    observed_resolution = models.FloatField(
        "observed resolution (Å)", null=True, blank=True, validators=positive, help_text="Seen on a previous test."
    )
    minimum_resolution = models.FloatField(
        "minimum resolution (Å)", null=True, blank=True, validators=positive, help_text="Worse than this: skip it."
    )
    total_rotation = models.FloatField(
        "total rotation (°)", null=True, blank=True, validators=[MinValueValidator(0.0001), MaxValueValidator(3600)]
    )
    oscillation_width = models.FloatField(
        "oscillation per image (°)",
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0001), MaxValueValidator(360)],
    )
    min_oscillation = models.FloatField(
        "minimum oscillation (°)", null=True, blank=True, validators=[MinValueValidator(0.0001), MaxValueValidator(360)]
    )
    exposure_time = models.FloatField("exposure time (s)", null=True, blank=True, validators=positive)
    transmission = models.FloatField(
        "transmission (%)", null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    detector_distance = models.FloatField("detector distance (mm)", null=True, blank=True, validators=positive)
    energy = models.FloatField("energy (eV)", null=True, blank=True, validators=[validate_energy])
    centring_method = models.CharField(max_length=12, choices=CentringMethod.choices, blank=True)
    collection_mode = models.CharField(max_length=10, choices=CollectionMode.choices, blank=True)
    screening_method = models.CharField(
        "screen-and-collect recipe", max_length=10, choices=ScreeningMethod.choices, blank=True
    )
    screening_collect_value = models.PositiveSmallIntegerField(
        "collect the best N", null=True, blank=True, validators=[MinValueValidator(1)]
    )
    sample_group = models.CharField(max_length=45, blank=True, validators=[validate_name])
    sublocation = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="The crystal's place on a multi-pin."
    )
    user_path = models.CharField(
        max_length=100, blank=True, validators=[validate_user_path], help_text="Subdirectory for this sample's data."
    )
    image_prefix = models.CharField("prefix for images", max_length=45, blank=True, validators=[prefix_validator])
    recipe = models.CharField(max_length=100, blank=True, validators=[validate_name])
    contact_person = models.CharField(max_length=100, blank=True, validators=[validate_name])
    comments = models.TextField(blank=True)
    # Mail-in: what the client wants done (anomalous_scatterer and required_resolution above serve it too),
    # and where the operator is with it. Empty on samples of other proposals.
    mailin_request = models.CharField("request", max_length=20, choices=MailinRequest.choices, blank=True)
    mailin_dataset_kind = models.CharField("data set", max_length=10, choices=DatasetKind.choices, blank=True)
    mailin_collect_better_than = models.FloatField(
        "collect if better than (Å)", null=True, blank=True, validators=positive
    )
    mailin_priority = models.PositiveSmallIntegerField(
        "priority", default=3, validators=[MinValueValidator(1), MaxValueValidator(5)], help_text="1 = most urgent."
    )
    mailin_comments = models.TextField("request comments", blank=True)
    mailin_state = models.CharField(
        "operator state", max_length=10, choices=MailinState.choices, default=MailinState.WAITING
    )
    mailin_state_reason = models.CharField("reason", max_length=255, blank=True)
    mailin_notes = models.TextField("operator notes", blank=True)

    class Meta:
        ordering = ["container", "position"]
        constraints = [
            models.UniqueConstraint(fields=["container", "position"], name="sample_position_unique_per_container"),
            models.UniqueConstraint(fields=["protein", "name"], name="sample_name_unique_per_protein"),
            models.UniqueConstraint(
                fields=["pin_code"],
                condition=Q(retired_at__isnull=True) & Q(pin_code__isnull=False),
                name="sample_pin_code_unique_among_live",
            ),
            models.CheckConstraint(
                condition=Q(position__gte=1) & Q(position__lte=MAX_OTHER_CAPACITY),
                name="sample_position_range",
            ),
            models.CheckConstraint(condition=Q(name__regex=SAMPLE_NAME_REGEX), name="sample_name_charset"),
            models.CheckConstraint(
                condition=Q(mailin_priority__gte=1) & Q(mailin_priority__lte=5), name="sample_mailin_priority_range"
            ),
        ]
        indexes = [models.Index(fields=["pin_code"], name="sample_pin_code_idx")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = {}
        if self.container_id and self.position and self.position > self.container.capacity:
            errors["position"] = (
                f"Position {self.position} does not exist in {self.container.name}, "
                f"which has positions 1 to {self.container.capacity}."
            )
        if self.protein_id and self.container_id and self.protein.proposal_id != self.container.shipment.proposal_id:
            errors["protein"] = "This protein belongs to another proposal."
        if self.pin_code == "":
            self.pin_code = None
        for name in ("space_group", "forced_space_group"):
            try:
                setattr(self, name, space_group(getattr(self, name)))
            except ValidationError as exc:
                errors[name] = exc.messages[0]
        errors.update(cell_errors(self.__dict__))
        if self.screening_method == ScreeningMethod.BEST and not self.sample_group:
            errors["sample_group"] = "Collecting the best N needs the sample group they are chosen from."
        errors.update(self.mailin_request_errors())
        if errors:
            raise ValidationError(errors)

    def mailin_request_errors(self) -> dict:
        """What is wrong with the mail-in request (empty when there is none, or it is sound)."""
        errors = {}
        if not self.mailin_request:
            return errors
        if self.mailin_request == MailinRequest.SCREEN_COLLECT and not self.mailin_collect_better_than:
            errors["mailin_collect_better_than"] = "Give the resolution (Å) below which the sample is collected."
        if self.mailin_request == MailinRequest.DATASET and not self.mailin_dataset_kind:
            errors["mailin_dataset_kind"] = "Say which data set: native, SAD or MAD."
        if self.mailin_dataset_kind in (DatasetKind.SAD, DatasetKind.MAD) and not self.anomalous_scatterer:
            errors["anomalous_scatterer"] = (
                f"A {self.get_mailin_dataset_kind_display()} data set needs the anomalous scatterer (e.g. Se)."
            )
        return errors


class PuckAudit(models.Model):
    """A puck photo checked against the registration (``samples.puck_audit.puck_audit``). Append-only.

    The photo itself is not kept: ``result`` holds what was read and where (``AuditResult.to_dict()``).
    """

    container = models.ForeignKey(Container, on_delete=models.CASCADE, related_name="audits")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    method = models.CharField(
        max_length=20, help_text='How the photo was oriented: "puck_code", "ring_search", "none".'
    )
    confidence = models.CharField(max_length=10)
    ok = models.BooleanField(help_text="Every registered pin at its position and nothing else on the puck.")
    result = models.JSONField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["container", "-at"], name="puckaudit_container_at_idx")]

    def __str__(self) -> str:
        return f"Audit of {self.container} at {self.at:%Y-%m-%d %H:%M}" if self.at else f"Audit of {self.container}"


class ContainerHistory(models.Model):
    """Where a puck was put and taken out: one row per assignment change. Append-only."""

    container = models.ForeignKey(Container, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=20, choices=ContainerStatus.choices)
    beamline = models.ForeignKey(Beamline, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    changer_position = models.PositiveSmallIntegerField(null=True, blank=True)
    location = models.CharField(max_length=40, blank=True, help_text='The changer address, e.g. "MX-3:07".')
    session = models.ForeignKey(Session, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    token = models.ForeignKey(ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    message = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "container history"
        indexes = [models.Index(fields=["container", "-at"], name="containerhistory_at_idx")]

    def __str__(self) -> str:
        return f"{self.container} {self.get_status_display()} {self.location}"


class RobotAction(models.Model):
    """What the sample changer's robot did, as beamline control reported it. Append-only but for completion.

    The sample may be unknown (beamline control sends -1 or null): the action is stored all the same,
    with what was sent (``sample_reference``, ``sample_barcode``, the locations).
    """

    beamline = models.ForeignKey(Beamline, on_delete=models.PROTECT, related_name="robot_actions")
    session = models.ForeignKey(Session, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    sample = models.ForeignKey("Sample", on_delete=models.SET_NULL, null=True, blank=True, related_name="robot_actions")
    sample_reference = models.BigIntegerField(null=True, blank=True, help_text="The sample id as sent.")
    action_type = models.CharField(max_length=10, choices=RobotActionType.choices)
    status = models.CharField(max_length=16, choices=RobotActionStatus.choices, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    container_location = models.CharField(max_length=20, blank=True)
    dewar_location = models.CharField(max_length=20, blank=True)
    sample_barcode = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    snapshot_before = models.CharField(max_length=255, blank=True)
    snapshot_after = models.CharField(max_length=255, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    token = models.ForeignKey(ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["beamline", "-started_at"], name="robotaction_beamline_idx"),
            models.Index(fields=["sample", "-started_at"], name="robotaction_sample_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action_type} {self.status or 'running'} on {self.beamline_id}"


class SampleStatusChange(models.Model):
    """A sample's status change: where it is as it follows its dewar and puck (at facility, in sample changer,
    unloaded, returned: written by the services) or what beamline control reported (loaded, centred,
    collected, error...). Append-only."""

    sample = models.ForeignKey("Sample", on_delete=models.CASCADE, related_name="status_history")
    at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=SampleStatus.choices)
    previous = models.CharField(max_length=20, choices=SampleStatus.choices)
    detail = models.CharField(max_length=255, blank=True, help_text='As sent, e.g. "ERROR - sample".')
    centring_position = models.JSONField(null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    token = models.ForeignKey(ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["sample", "-at"], name="samplestatus_sample_at_idx")]

    def __str__(self) -> str:
        return f"{self.sample_id} {self.previous} → {self.status}"


class ShipmentReportQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Result reports: members their proposals', mail-in operators and admins all, other staff all but
        industrial proposals' (``lims.access.scope_confidential``); an API token none. Here, beside the model,
        so that the shipment page (shipping) reads them as the mail-in pages do without importing their app."""
        if getattr(user, "is_machine", False):
            return self.none()
        return scope_confidential(self, user, "shipment__proposal")


class ShipmentReport(models.Model):
    """A version of a mail-in shipment's result report (``samples.mailin``); earlier versions are kept."""

    shipment = models.ForeignKey("shipping.Shipment", on_delete=models.CASCADE, related_name="reports")
    version = models.PositiveSmallIntegerField()
    pdf = models.FileField(upload_to="reports/%Y/%m/")
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    emailed_to = models.TextField(blank=True, help_text="The addresses the link went to, one a line.")
    note = models.CharField(max_length=255, blank=True, help_text="Why this version was issued.")
    # The email that delivers this version: a retry or a re-send of that email finds the version issued.
    notification = models.OneToOneField(
        "shipping.Notification", on_delete=models.SET_NULL, null=True, blank=True, related_name="report"
    )

    objects = ShipmentReportQuerySet.as_manager()

    class Meta:
        ordering = ["shipment", "-version"]
        constraints = [models.UniqueConstraint(fields=["shipment", "version"], name="report_version_unique")]

    def __str__(self) -> str:
        return f"Report v{self.version} of {self.shipment}"


# The data a beamline records on samples lives in its own module; imported here so that Django finds it.
from .data.models import (  # noqa: E402, F401
    DataCollection,
    DataCollectionGroup,
    DownloadCart,
    ProcessingResult,
    ProcessingShell,
    ScreeningResult,
    ScreeningStrategy,
    Tag,
)
