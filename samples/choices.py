"""Kinds of containers and samples, and the experiment kinds a user may ask for."""

from django.db import models

# The puck types: the core's (a beamline's sample changer says which it takes), named here too.
from lims.choices import ContainerType  # noqa: F401

# Fixed capacities of the standard pucks; "other" carries its own.
CONTAINER_CAPACITY = {ContainerType.SPINE: 10, ContainerType.UNIPUCK: 16}
MAX_OTHER_CAPACITY = 100


class ContainerStatus(models.TextChoices):
    REGISTERED = "registered", "Registered"
    AT_FACILITY = "at_facility", "At facility"
    IN_SAMPLE_CHANGER = "in_sample_changer", "In sample changer (processing)"
    UNLOADED = "unloaded", "Unloaded"
    RETURNED = "returned", "Returned"
    DISPOSED = "disposed", "Disposed"


# Containers that have left the facility's hands: never in a changer, in a session's list or meant by a scan.
CONTAINER_GONE = (ContainerStatus.RETURNED, ContainerStatus.DISPOSED)


class ExperimentKind(models.TextChoices):
    """ISPyB's DiffractionPlan.experimentKind values that users pick at registration."""

    DEFAULT = "Default", "Default"
    OSC = "OSC", "OSC (native)"
    SAD = "SAD", "SAD"
    MAD = "MAD", "MAD"
    SAD_INVERSE = "SAD - Inverse Beam", "SAD - inverse beam"
    MAD_INVERSE = "MAD - Inverse Beam", "MAD - inverse beam"
    MR = "MR", "Molecular replacement"
    HELICAL = "Helical", "Helical"
    LIGAND = "Ligand binding", "Ligand binding"
    REFINEMENT = "Refinement", "Refinement"
    MXPRESS_E = "MXPressE", "MXPressE (screen and collect)"
    MXPRESS_O = "MXPressO", "MXPressO (collect, no screening)"
    MXPRESS_SAD = "MXPressE_SAD", "MXPressE SAD"
    MXPRESS_M = "MXPressM", "MXPressM (mesh)"
    # The rest of ISPyB's workflow kinds (py-ispyb-ui's EXPERIMENT_TYPES), so that its sheets import as they are.
    MXPRESS_F = "MXPressF", "MXPressF"
    MXPRESS_I = "MXPressI", "MXPressI"
    MXPRESS_P = "MXPressP", "MXPressP"
    MXPRESS_P_SAD = "MXPressP_SAD", "MXPressP SAD"
    MXSCORE = "MXScore", "MXScore"
    SCREENING = "Screening", "Screening only"


class SampleStatus(models.TextChoices):
    """Where a pin is and what the beamline did with it.

    The facility's services set where it is, following its dewar and its puck (``CUSTODY_SAMPLE_STATUSES``);
    beamline control reports the rest (``REPORTED_SAMPLE_STATUSES``).
    """

    REGISTERED = "registered", "Registered"
    AT_FACILITY = "at_facility", "At facility"
    IN_SAMPLE_CHANGER = "in_sample_changer", "In sample changer"
    LOADED = "loaded", "Loaded"
    UNLOADED = "unloaded", "Unloaded"
    CENTRED = "centred", "Centred"
    COLLECTED = "collected", "Collected"
    ERROR = "error", "Error"
    RETURNED = "returned", "Returned"


# What beamline control may report of a pin (ISPyB's blSampleStatus); the other statuses follow the pin's
# dewar and puck and are set by the services only, so that a pin never reads "returned" while mounted.
REPORTED_SAMPLE_STATUSES = (
    SampleStatus.LOADED,
    SampleStatus.UNLOADED,
    SampleStatus.CENTRED,
    SampleStatus.COLLECTED,
    SampleStatus.ERROR,
)


class RobotActionType(models.TextChoices):
    """What the sample changer's robot did, as beamline control reports it (ISPyB's actionType)."""

    LOAD = "LOAD", "Load"
    UNLOAD = "UNLOAD", "Unload"
    DISPOSE = "DISPOSE", "Dispose"
    STORE = "STORE", "Store"
    WASH = "WASH", "Wash"
    ANNEAL = "ANNEAL", "Anneal"
    MOSAIC = "MOSAIC", "Mosaic"
    LASER = "LASER", "Laser"


class RobotActionStatus(models.TextChoices):
    SUCCESS = "SUCCESS", "Success"
    ERROR = "ERROR", "Error"
    CRITICAL = "CRITICAL", "Critical"
    WARNING = "WARNING", "Warning"
    EPICSFAIL = "EPICSFAIL", "EPICS failure"
    COMMANDNOTSENT = "COMMANDNOTSENT", "Command not sent"


class MailinRequest(models.TextChoices):
    """What a mail-in client wants done with a sample."""

    SCREEN = "screen", "Screen only"
    SCREEN_COLLECT = "screen_collect", "Screen, and collect if it diffracts better than a given resolution"
    DATASET = "dataset", "Collect a full data set"


class CentringMethod(models.TextChoices):
    """How beamline control centres the crystal (ISPyB's DiffractionPlan.centringMethod)."""

    OPTICAL = "optical", "Optical"
    DIFFRACTION = "diffraction", "Diffraction (X-ray grid)"
    XRAY = "xray", "X-ray centring"
    LOOP = "loop", "Loop centring"


class ScreeningMethod(models.TextChoices):
    """SynchWeb's screen-and-collect recipe: collect every sample, the best N of its sample group, or none."""

    NONE = "none", "None (collect as planned)"
    ALL = "all", "Screen all, collect those better than the limit"
    BEST = "best", "Screen the group, collect the best N"


class CollectionMode(models.TextChoices):
    MANUAL = "manual", "Manual"
    AUTO = "auto", "Automatic"


class DatasetKind(models.TextChoices):
    NATIVE = "native", "Native"
    SAD = "sad", "SAD"
    MAD = "mad", "MAD"


class MailinState(models.TextChoices):
    """Where the operator is with a mail-in sample."""

    WAITING = "waiting", "Waiting"
    SCREENED = "screened", "Screened"
    COLLECTED = "collected", "Collected"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


# Request fields of a mail-in sample, as the registration form, the sheet and the API carry them.
MAILIN_REQUEST_FIELDS = (
    "mailin_request",
    "mailin_dataset_kind",
    "mailin_collect_better_than",
    "mailin_priority",
    "mailin_comments",
)
