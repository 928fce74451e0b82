"""Kinds and statuses of the data a beamline records."""

from django.db import models


class CollectionStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCESSFUL = "successful", "Successful"
    FAILED = "failed", "Failed"
    ABORTED = "aborted", "Aborted"


class ExperimentType(models.TextChoices):
    """ISPyB's DataCollectionGroup.experimentType values in common use."""

    SCREENING = "screening", "Screening (characterisation)"
    OSC = "osc", "Rotation (OSC)"
    SAD = "sad", "SAD"
    MAD = "mad", "MAD"
    HELICAL = "helical", "Helical"
    MESH = "mesh", "Mesh"
    OTHER = "other", "Other"


class Flag(models.IntegerChoices):
    """Flags users set on collections afterwards; a collection's ``flags`` is the sum (a bit mask)."""

    ALIGNMENT = 1, "Alignment"
    CALIBRATION = 2, "Calibration"
    MEASUREMENT = 4, "Measurement"
    BAD = 8, "Bad"


class Shell(models.TextChoices):
    OVERALL = "overall", "Overall"
    INNER = "inner", "Inner shell"
    OUTER = "outer", "Outer shell"


class CartStatus(models.TextChoices):
    OPEN = "open", "Open"
    QUEUED = "queued", "Queued"
    BUILDING = "building", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
