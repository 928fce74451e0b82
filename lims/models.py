"""Core domain: proposals and their members, beamlines and sessions, lab contacts, the audit log."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.timezone import localtime

from .barcodes.codes import code_part, normalise
from .choices import AuditAction, ContainerType, MemberRole, ProposalKind, SampleChangerModel
from .validators import validate_name

proposal_code_validator = RegexValidator(r"^[A-Za-z]{1,10}$", "A proposal code is letters only, e.g. 'mx'.")
proposal_number_validator = RegexValidator(r"^[0-9]{1,10}$", "A proposal number is digits only, e.g. '2345'.")


class Proposal(models.Model):
    """A user programme with beamtime: code + number ("mx2345"). Every shipment belongs to one."""

    code = models.CharField(max_length=10, validators=[proposal_code_validator])
    number = models.CharField(max_length=10, validators=[proposal_number_validator])
    title = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=ProposalKind.choices, default=ProposalKind.ACADEMIC)
    mail_in = models.BooleanField(
        default=False, help_text="Samples are sent for the facility to collect (MXpress-style service)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="ProposalMember", related_name="proposals")

    class Meta:
        ordering = ["code", "number"]
        constraints = [
            models.UniqueConstraint(Lower("code"), "number", name="proposal_code_number_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.code = self.code.lower()
        super().save(*args, **kwargs)

    @property
    def name(self) -> str:
        """The proposal as users write it: code + number, e.g. "mx2345"."""
        return f"{self.code}{self.number}"


class ProposalMember(models.Model):
    """A user's membership of a proposal, with the role they hold in it."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=MemberRole.choices, default=MemberRole.MEMBER)

    class Meta:
        ordering = ["proposal", "user"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "user"], name="member_unique_per_proposal"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.proposal} ({self.get_role_display()})"


class Beamline(models.Model):
    """A beamline and the geometry of its sample changer (positions, puck types accepted)."""

    name = models.CharField(max_length=30, unique=True)
    sample_changer_model = models.CharField(
        max_length=20, choices=SampleChangerModel.choices, default=SampleChangerModel.OTHER
    )
    puck_positions = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)], help_text="Number of puck positions in the sample changer."
    )
    positions_per_cell = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For cell-based changers (FlexHCD: 3 pucks a cell); empty otherwise."
    )
    accepted_container_types = models.JSONField(
        default=list, blank=True, help_text='Container types the positions accept, e.g. ["spine", "unipuck"].'
    )
    position_types = models.JSONField(
        default=dict,
        blank=True,
        help_text='Where positions differ from the changer\'s types: {"1-10": ["spine"], "11-29": ["unipuck"]}.',
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(puck_positions__gte=1), name="beamline_positions_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        unknown = set(self.accepted_container_types or []) - set(ContainerType.values)
        if unknown:
            raise ValidationError({"accepted_container_types": f"Unknown container types: {sorted(unknown)}."})
        if self.positions_per_cell and self.puck_positions % self.positions_per_cell:
            raise ValidationError({"positions_per_cell": "Puck positions must be a whole number of cells."})
        if not isinstance(self.position_types, dict):
            raise ValidationError({"position_types": 'Give a mapping such as {"1-10": ["spine"]}.'})
        for key, types in self.position_types.items():
            try:
                first, last = _position_range(key)
            except ValueError:
                raise ValidationError(
                    {"position_types": f"{key!r} is not a position or a range such as 1-10."}
                ) from None
            if not 1 <= first <= last <= (self.puck_positions or 0):
                raise ValidationError({"position_types": f"{key}: positions run from 1 to {self.puck_positions}."})
            if not isinstance(types, list) or set(types) - set(ContainerType.values):
                raise ValidationError({"position_types": f"{key}: give a list of container types."})

    # The sample changer's geometry: positions 1..puck_positions, addressed as the changer does.

    @property
    def positions(self) -> range:
        return range(1, self.puck_positions + 1)

    def accepts(self, position: int) -> list[str]:
        """The container types that ``position`` takes (its own entry in position_types, else the changer's)."""
        for key, types in (self.position_types or {}).items():
            first, last = _position_range(key)
            if first <= position <= last:
                return list(types)
        return list(self.accepted_container_types or [])

    def address(self, position: int) -> str:
        """The position as the changer names it: "7", or "cell:puck" ("3:2") on cell-based changers."""
        if self.positions_per_cell:
            cell, puck = divmod(position - 1, self.positions_per_cell)
            return f"{cell + 1}:{puck + 1}"
        return str(position)

    def position_at(self, address: str) -> int | None:
        """The position of an address ("7", "07", "3:2"); None when there is no such position."""
        parts = str(address).strip().split(":")
        if not all(p.isdigit() for p in parts):
            return None
        if len(parts) == 1:
            position = int(parts[0])
        elif len(parts) == 2 and self.positions_per_cell:
            cell, puck = int(parts[0]), int(parts[1])
            if not 1 <= puck <= self.positions_per_cell:
                return None
            position = (cell - 1) * self.positions_per_cell + puck
        else:
            return None
        return position if 1 <= position <= self.puck_positions else None

    def position_code(self, position: int) -> str:
        """The position as people write it: beamline and address, e.g. "MX-3:07" or "MX-2:3:2"."""
        address = self.address(position)
        return f"{self.name}:{int(address):02d}" if address.isdigit() else f"{self.name}:{address}"

    def label_code(self, position: int) -> str:
        """What the barcode on the position's printed label carries: "MX-3-SC-7", "MX-2-SC-3-2".

        Hyphens rather than colons: location codes are [A-Z0-9-], and a keyboard-wedge scanner types a
        hyphen the same on every keyboard layout, which is not true of a colon. "-SC-" is the last such
        marker in the code, so it reads back unambiguously (``split_position_code``).
        """
        return f"{code_part(self.name)}-SC-{self.address(position).replace(':', '-')}"

    def read_position(self, text: str) -> int | None:
        """The position of this changer that a scanned or typed text names: its label code ("MX-3-SC-7"),
        "MX-3:07", or a bare address ("7", "3:2"); None when it names none of this changer's positions."""
        name, address = split_position_code(text)
        if name is not None and code_part(name) != code_part(self.name):
            return None
        return self.position_at(address)


def split_position_code(text: str) -> tuple[str | None, str]:
    """A scanned or typed changer position split into (beamline name or None, address):
    "MX-3-SC-7" → ("MX-3", "7"), "MX-2-SC-3-2" → ("MX-2", "3:2"), "MX-3:07" → ("MX-3", "07"),
    "3:2" → (None, "3:2")."""
    code = normalise(text)
    if "-SC-" in code:
        name, _, address = code.rpartition("-SC-")
        return name, address.replace("-", ":")
    head, sep, rest = code.partition(":")
    if sep and not head.isdigit():
        return head, rest
    return None, code


def _position_range(key: str) -> tuple[int, int]:
    """ "4" → (4, 4), "1-10" → (1, 10); ValueError otherwise."""
    first, _, last = str(key).partition("-")
    return int(first), int(last or first)


class Session(models.Model):
    """A beamtime: a proposal's slot on a beamline, with the facility's local contact."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="sessions")
    beamline = models.ForeignKey(Beamline, on_delete=models.PROTECT, related_name="sessions")
    start = models.DateTimeField()
    end = models.DateTimeField()
    local_contact = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    comments = models.TextField(blank=True)
    external_id = models.CharField(
        "user-office id",
        max_length=64,
        blank=True,
        default="",
        help_text="The user office's id of the session, set by the user-office sync; empty for sessions booked here.",
    )

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="session_ends_after_start"),
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="session_external_id_unique"
            ),
        ]
        indexes = [models.Index(fields=["beamline", "start"])]

    def __str__(self) -> str:
        return f"{self.proposal} on {self.beamline} from {localtime(self.start):%Y-%m-%d}"

    def clean(self):
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "A session must end after it starts."})


class LabContact(models.Model):
    """A reusable contact card of a proposal: who sends, who receives back, and how to ship."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="lab_contacts")
    card_name = models.CharField(
        max_length=60, validators=[validate_name], help_text="How the card is listed, e.g. 'Lab Grenoble'."
    )
    name = models.CharField("contact name", max_length=120, validators=[validate_name])
    telephone = models.CharField(max_length=45)
    fax = models.CharField(max_length=45, blank=True)
    email = models.EmailField()
    lab_name = models.CharField(max_length=120, validators=[validate_name])
    address = models.TextField()
    default_courier = models.CharField(max_length=45, blank=True)
    courier_account = models.CharField(max_length=45, blank=True)
    billing_reference = models.CharField(max_length=45, blank=True)
    default_customs_value = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    default_transport_value = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )

    class Meta:
        ordering = ["card_name"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "card_name"], name="labcontact_card_unique_per_proposal"),
            models.CheckConstraint(
                condition=Q(default_customs_value__gte=0) | Q(default_customs_value__isnull=True),
                name="labcontact_customs_value_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(default_transport_value__gte=0) | Q(default_transport_value__isnull=True),
                name="labcontact_transport_value_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.card_name} ({self.name})"


class AuditEntry(models.Model):
    """Who did what, when, to which object, with the changed fields before and after. Append-only."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    message = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [before, after]}")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return f"{localtime(self.at):%Y-%m-%d %H:%M} {self.user} {self.action} {self.object_repr}"


class HashedKey(models.Model):
    """What every key to the APIs keeps: never the key, only its hash (``lims.tokens.hash_key``) and its first
    characters to tell keys apart; when it was made, last used and revoked."""

    prefix = models.CharField(
        max_length=12, editable=False, help_text="The key's first characters, to tell keys apart."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class ApiToken(HashedKey):
    """A machine's key to the APIs: beamline control or a data pipeline, scoped to one beamline.

    Only a hash of the key is stored; the key is shown once, when the token is created
    (``lims.tokens.api_token_create``). Revoked tokens stay, so that what they did keeps its author.
    """

    name = models.CharField(max_length=80, help_text='What uses it, e.g. "MXCuBE MX-3".')
    beamline = models.ForeignKey(Beamline, on_delete=models.PROTECT, related_name="api_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The person answerable for what the token does (written into the audit log).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        ordering = ["beamline", "name"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.beamline}, {self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class PersonalToken(HashedKey):
    """A person's key to the native API (``Authorization: Token <key>``), from ``POST /api/v1/auth/token/``.

    Like an ``ApiToken``, only a hash of the key is stored (``lims.tokens.hash_key``) and the key is shown
    once. It acts as its person, expires at ``expires_at`` (``PERSONAL_TOKEN_TTL``) and can be revoked by
    its person or an admin; revoked and expired tokens stay, as a record, until an admin deletes them.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_tokens")
    expires_at = models.DateTimeField(editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "personal API token"

    def __str__(self) -> str:
        return f"{self.user} ({self.prefix}…)"


class UserOfficeSync(models.Model):
    """One run of the user-office sync (``lims.user_office``): where from, what it changed, what it refused.

    A refused feed changes nothing and lists its errors; a dry run lists what a sync would change and changes
    nothing. ``changes`` holds {"action", "model", "object", "fields": {name: [before, after]}} items."""

    class Status(models.TextChoices):
        OK = "ok", "OK"
        FAILED = "failed", "Failed"

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    source = models.CharField(max_length=500, help_text="The feed's file or URL (without its query string).")
    trigger = models.CharField(max_length=20, help_text="command, task (periodic) or admin.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    changes = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "user-office sync"
        verbose_name_plural = "user-office syncs"

    def __str__(self) -> str:
        what = "dry run" if self.dry_run else "sync"
        return f"{localtime(self.started_at):%Y-%m-%d %H:%M} {what} {self.get_status_display()}"
