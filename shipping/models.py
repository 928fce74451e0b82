"""Shipments, dewars, locations, the append-only transport history of each dewar, and the outbox of emails."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from lims import after_commit
from lims.barcodes.codes import StoredCodeValidator
from lims.models import LabContact, Proposal, Session
from lims.outbox import OutboxEmail
from lims.validators import validate_name

from .choices import (
    NOTIFICATION_TASKS,
    DewarEventKind,
    DewarStatus,
    LocationKind,
    NotificationReason,
    SafetyLevel,
    ShipmentStatus,
)

money = {
    "max_digits": 10,
    "decimal_places": 2,
    "null": True,
    "blank": True,
    "validators": [MinValueValidator(0)],
}


class Location(models.Model):
    """A place a dewar can be: a stores shelf, a beamline, a sample-changer area, off-site. Scannable."""

    name = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=LocationKind.choices, default=LocationKind.OTHER)
    barcode = models.CharField(
        max_length=40, unique=True, null=True, blank=True, validators=[StoredCodeValidator("location")]
    )
    beamline = models.ForeignKey(
        "lims.Beamline", on_delete=models.SET_NULL, null=True, blank=True, related_name="locations"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Shipment(models.Model):
    """A parcel of dewars a proposal sends to the facility, with who sends it and who gets it back."""

    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="shipments")
    name = models.CharField(max_length=60, validators=[validate_name])
    status = models.CharField(max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField("sending date", null=True, blank=True)
    expected_arrival = models.DateField("expected arrival date at the facility", null=True, blank=True)
    sending_contact = models.ForeignKey(
        LabContact,
        verbose_name='lab contact "to facility"',
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    return_contact = models.ForeignKey(
        LabContact,
        verbose_name='lab contact "home lab" (return)',
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    return_courier = models.CharField(max_length=45, blank=True)
    return_courier_account = models.CharField(max_length=45, blank=True)
    safety_level = models.CharField(max_length=10, choices=SafetyLevel.choices, default=SafetyLevel.GREEN)
    comments = models.TextField(blank=True)
    # Mail-in: when the operator marked the work on this shipment complete (the report is then delivered).
    mailin_completed_at = models.DateTimeField("mail-in work completed", null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "name"], name="shipment_name_unique_per_proposal"),
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_draft(self) -> bool:
        return self.status == ShipmentStatus.DRAFT

    def clean(self):
        errors = {}
        for field in ("sending_contact", "return_contact"):
            contact = getattr(self, field)
            if contact is not None and contact.proposal_id != self.proposal_id:
                errors[field] = "This lab contact belongs to another proposal."
        if errors:
            raise ValidationError(errors)


class Dewar(models.Model):
    """A transport dewar of a shipment; its status and location are kept in step with its events."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="dewars")
    name = models.CharField(max_length=60, validators=[validate_name])
    barcode = models.CharField(max_length=40, unique=True, null=True, blank=True, editable=False)
    status = models.CharField(max_length=30, choices=DewarStatus.choices, default=DewarStatus.REGISTERED)
    location = models.ForeignKey(
        Location,
        verbose_name="location at the facility",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dewars",
    )
    delivery_location = models.ForeignKey(
        Location,
        verbose_name="where to deliver it at the facility",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind__in": [LocationKind.STORES, LocationKind.BEAMLINE]},
    )
    customs_value = models.DecimalField("average customs value", **money)
    transport_value = models.DecimalField("average transport value", **money)
    courier_to_facility = models.CharField(max_length=45, blank=True)
    tracking_to_facility = models.CharField("tracking number to the facility", max_length=60, blank=True)
    courier_from_facility = models.CharField(max_length=45, blank=True)
    tracking_from_facility = models.CharField("tracking number back from the facility", max_length=60, blank=True)
    session = models.ForeignKey(
        Session,
        verbose_name="experiment (session)",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dewars",
    )
    local_contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="facility local contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    comments = models.TextField(blank=True)

    class Meta:
        ordering = ["shipment", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "name"], name="dewar_name_unique_per_shipment"),
            models.CheckConstraint(
                condition=Q(customs_value__gte=0) | Q(customs_value__isnull=True),
                name="dewar_customs_value_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(transport_value__gte=0) | Q(transport_value__isnull=True),
                name="dewar_transport_value_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.barcode})" if self.barcode else self.name

    def clean(self):
        errors = {}
        # The shipment may be unsaved yet (registered in the same request): read it from the cache.
        has_shipment = self.shipment_id is not None or "shipment" in self._state.fields_cache
        if self.session_id and has_shipment and self.session.proposal_id != self.shipment.proposal_id:
            errors["session"] = "This session belongs to another proposal."
        if self.delivery_location_id and self.delivery_location.kind not in (
            LocationKind.STORES,
            LocationKind.BEAMLINE,
        ):
            errors["delivery_location"] = "Deliver to the stores or a beamline."
        if errors:
            raise ValidationError(errors)

    @property
    def experiment_date(self):
        """The start of the session the dewar is for."""
        return self.session.start if self.session_id else None

    @property
    def arrival(self):
        """When the dewar was scanned in at the facility: the first "at facility" event (prefetch events)."""
        arrivals = [e.at for e in self.events.all() if e.status == DewarStatus.AT_FACILITY]
        return min(arrivals) if arrivals else None


class DewarEvent(models.Model):
    """One step of a dewar's transport history. Append-only: the history is the truth."""

    dewar = models.ForeignKey(Dewar, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=10, choices=DewarEventKind.choices, default=DewarEventKind.STATUS)
    status = models.CharField(max_length=30, choices=DewarStatus.choices)
    location = models.ForeignKey(Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    courier = models.CharField(max_length=45, blank=True)
    tracking_number = models.CharField(max_length=60, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.dewar} {self.get_status_display()} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Transport events are append-only; record a new event instead.")
        super().save(*args, **kwargs)


class NotificationQuerySet(models.QuerySet):
    def enqueue(self, *, reason: str, event=None, shipment=None, note: str = "", requested_by=None) -> Notification:
        """Record a queued notification in the caller's transaction; its task is handed over once that commits."""
        notification = self.create(
            reason=reason,
            event=event,
            shipment=shipment,
            note=note,
            requested_by=requested_by if getattr(requested_by, "pk", None) else None,
        )
        notification.hand_over_after_commit()
        return notification


class Notification(OutboxEmail):
    """One email to users (a transport event, a mail-in report) and what became of it: the outbox
    (``lims.outbox``, ``shipping.outbox``).

    Written queued in the transaction that causes it (``Notification.objects.enqueue``), so that a
    notification whose task never ran (broker down) is still on record: a periodic task hands queued rows
    whose time is past to a worker again. The task claims the row (queued -> sending) before it sends, so
    that a late task and its re-send never both send. A transport email names its ``event``; a mail-in report
    its ``shipment`` (the report version, issued by the task, links back here). Staff see the failed and the
    stuck ones in the admin and on the dashboard.
    """

    event = models.ForeignKey(DewarEvent, on_delete=models.CASCADE, related_name="notifications", null=True, blank=True)
    shipment = models.ForeignKey(
        Shipment,
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
        help_text="The mail-in shipment whose report this is.",
    )
    reason = models.CharField(max_length=10, choices=NotificationReason.choices)
    note = models.CharField(max_length=255, blank=True, help_text="Why a new report version is issued.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One email per event and reason: a task delivered twice (acks_late) finds it sent and stops.
            models.UniqueConstraint(fields=["event", "reason"], name="notification_unique_per_event_reason"),
            models.CheckConstraint(
                condition=Q(reason=NotificationReason.REPORT, shipment__isnull=False, event__isnull=True)
                | (~Q(reason=NotificationReason.REPORT) & Q(event__isnull=False, shipment__isnull=True)),
                name="notification_names_its_event_or_shipment",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="notification_status_due")]

    def __str__(self) -> str:
        about = self.shipment if self.reason == NotificationReason.REPORT else self.event.dewar
        return f"{self.get_reason_display()} of {about} ({self.get_status_display()})"

    def hand_over_after_commit(self) -> None:
        """Its task (``NOTIFICATION_TASKS``), handed to the broker once the transaction commits; a broker down
        then is logged, never raised: the row stays queued for the periodic re-send."""
        after_commit.send_on_commit(NOTIFICATION_TASKS[self.reason], self.pk)
