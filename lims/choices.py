"""Kinds and roles of the core domain."""

from django.db import models


class ProposalKind(models.TextChoices):
    ACADEMIC = "academic", "Academic"
    INDUSTRIAL = "industrial", "Industrial"


class MemberRole(models.TextChoices):
    PRINCIPAL_INVESTIGATOR = "pi", "Principal investigator"
    CO_INVESTIGATOR = "coi", "Co-investigator"
    MEMBER = "member", "Member"


class SampleChangerModel(models.TextChoices):
    SC3 = "SC3", "ESRF/EMBL SC3"
    FLEXHCD = "FlexHCD", "ESRF/EMBL FlexHCD"
    CATS = "CATS", "CATS"
    ISARA = "ISARA", "ISARA"
    MARVIN = "MARVIN", "EMBL MARVIN"
    OTHER = "other", "Other"


class ContainerType(models.TextChoices):
    """The puck types: what a sample changer's positions accept (here) and what a container is (samples)."""

    SPINE = "spine", "SPINE puck (10)"
    UNIPUCK = "unipuck", "UniPuck (16)"
    OTHER = "other", "Other"


class FacilityRole(models.TextChoices):
    """Facility roles are Django groups with these names."""

    STORES = "stores", "Stores"
    BEAMLINE_STAFF = "beamline staff", "Beamline staff"
    LOCAL_CONTACT = "local contact", "Local contact"
    MAILIN_OPERATOR = "mail-in operator", "Mail-in operator"
    ADMIN = "admin", "Admin"


class Courier(models.TextChoices):
    DHL = "DHL", "DHL"
    FEDEX = "FedEx", "FedEx"
    UPS = "UPS", "UPS"
    TNT = "TNT", "TNT"
    WORLD_COURIER = "World Courier", "World Courier"
    HAND = "hand-carried", "Hand-carried"
    OTHER = "other", "Other"


class AuditAction(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    DELETE = "delete", "Deleted"
    TRANSITION = "transition", "Status change"
    IMPORT = "import", "Imported"


class OutboxStatus(models.TextChoices):
    """What became of an email in an outbox (``lims.outbox``): queued, claimed by a worker, sent or failed."""

    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
