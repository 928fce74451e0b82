"""Statuses and kinds of shipments, dewars, locations and transport events."""

from django.db import models

from lims.choices import OutboxStatus


class ShipmentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent to facility"
    AT_FACILITY = "at_facility", "At facility"
    PROCESSING = "processing", "Processing"
    RETURNED = "returned", "Sent back to user"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class DewarStatus(models.TextChoices):
    REGISTERED = "registered", "Registered"
    IN_TRANSIT_TO_FACILITY = "in_transit_to_facility", "In transit to facility"
    AT_FACILITY = "at_facility", "At facility"
    AT_BEAMLINE = "at_beamline", "At beamline / processing"
    IN_TRANSIT_TO_USER = "in_transit_to_user", "In transit to user"
    RETURNED = "returned", "Returned"
    LOST = "lost", "Lost"
    CANCELLED = "cancelled", "Cancelled"


# The status machines: which status may follow which. Services check every change against these
# (``shipping.services.check_transition``).
SHIPMENT_TRANSITIONS: dict[str, set[str]] = {
    ShipmentStatus.DRAFT: {ShipmentStatus.SENT, ShipmentStatus.CANCELLED},
    ShipmentStatus.SENT: {ShipmentStatus.AT_FACILITY},
    ShipmentStatus.AT_FACILITY: {ShipmentStatus.PROCESSING, ShipmentStatus.RETURNED},
    ShipmentStatus.PROCESSING: {ShipmentStatus.AT_FACILITY, ShipmentStatus.RETURNED},
    ShipmentStatus.RETURNED: {ShipmentStatus.CLOSED},
    ShipmentStatus.CLOSED: set(),
    ShipmentStatus.CANCELLED: set(),
}
DEWAR_TRANSITIONS: dict[str, set[str]] = {
    DewarStatus.REGISTERED: {DewarStatus.IN_TRANSIT_TO_FACILITY, DewarStatus.CANCELLED},
    DewarStatus.IN_TRANSIT_TO_FACILITY: {DewarStatus.AT_FACILITY, DewarStatus.AT_BEAMLINE, DewarStatus.LOST},
    DewarStatus.AT_FACILITY: {DewarStatus.AT_BEAMLINE, DewarStatus.IN_TRANSIT_TO_USER, DewarStatus.LOST},
    DewarStatus.AT_BEAMLINE: {DewarStatus.AT_FACILITY, DewarStatus.IN_TRANSIT_TO_USER, DewarStatus.LOST},
    DewarStatus.IN_TRANSIT_TO_USER: {DewarStatus.RETURNED, DewarStatus.LOST},
    DewarStatus.RETURNED: set(),
    DewarStatus.LOST: {DewarStatus.AT_FACILITY, DewarStatus.AT_BEAMLINE},
    DewarStatus.CANCELLED: set(),
}


# The dewar is in the facility's hands (stores or a beamline): what scans, moves and dispatches act on.
DEWAR_AT_FACILITY = (DewarStatus.AT_FACILITY, DewarStatus.AT_BEAMLINE)


class SafetyLevel(models.TextChoices):
    GREEN = "green", "Green"
    YELLOW = "yellow", "Yellow"
    RED = "red", "Red (needs facility approval)"


class LocationKind(models.TextChoices):
    STORES = "stores", "Stores"
    BEAMLINE = "beamline", "Beamline"
    SAMPLE_CHANGER = "sample_changer", "Sample changer"
    OFF_SITE = "off_site", "Off-site"
    OTHER = "other", "Other"


# What stores may record as an incident on a dewar, and its words ("lost" makes the dewar lost).
INCIDENT_KINDS = {
    "damaged": "Damaged",
    "lost": "Lost",
    "missing_contents": "Missing contents",
    "other": "Other incident",
}


class DewarEventKind(models.TextChoices):
    STATUS = "status", "Status change"
    NOTE = "note", "Note"
    INCIDENT = "incident", "Incident"


class NotificationReason(models.TextChoices):
    ARRIVAL = "arrival", "Arrival at the facility"
    DISPATCH = "dispatch", "Dispatch to the home lab"
    INCIDENT = "incident", "Incident"
    REPORT = "report", "Mail-in result report"


NotificationStatus = OutboxStatus  # (the core's outbox statuses: lims.outbox)

# The task that delivers each kind of notification; it takes the notification's id.
NOTIFICATION_TASKS = {
    NotificationReason.ARRIVAL: "shipping.tasks.notify_dewar_event",
    NotificationReason.DISPATCH: "shipping.tasks.notify_dewar_event",
    NotificationReason.INCIDENT: "shipping.tasks.notify_dewar_event",
    NotificationReason.REPORT: "samples.mailin.tasks.deliver_report",
}
