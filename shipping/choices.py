"""Statuses and kinds of shipments, dewars, locations and transport events."""

from django.db import models


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


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
