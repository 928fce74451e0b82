"""Data collections, screening and processing results: what the beamline recorded on a sample.

A million collections after ten years: the catalogue filters and sorts them by proposal, beamline, session,
sample, protein, time, type, status and resolution, so each collection carries those (denormalised from its
group, its sample and the results; kept by ``samples.data.ingest``) with an index per way of reading, and a
lower-cased ``search_text`` (sample name, protein acronym, directory, file template) under a trigram index on
PostgreSQL for substring search.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from lims.models import ApiToken, Beamline, Proposal, Session
from lims.validators import validate_name

from .choices import CartStatus, CollectionStatus, ExperimentType, Flag, Shell

CELL_FIELDS = ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")


class DataCollectionGroup(models.Model):
    """One experiment on one sample in one session: a screening, a data set, a mesh... (ISPyB's group)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="+")
    beamline = models.ForeignKey(Beamline, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(Session, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    sample = models.ForeignKey(
        "samples.Sample", on_delete=models.SET_NULL, null=True, blank=True, related_name="collection_groups"
    )
    experiment_type = models.CharField(max_length=20, choices=ExperimentType.choices, default=ExperimentType.OSC)
    external_id = models.CharField(max_length=100, help_text="The pipeline's own id of the group.")
    comments = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["beamline", "external_id"], name="dcgroup_external_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_experiment_type_display()} {self.external_id}"


class Tag(models.Model):
    """A word users put on collections ("ligand-soak", "best"), lower-case."""

    name = models.CharField(max_length=40, unique=True, validators=[validate_name])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DataCollection(models.Model):
    """A sweep of images: where, when, how, and where the files are."""

    group = models.ForeignKey(DataCollectionGroup, on_delete=models.CASCADE, related_name="collections")
    # Denormalised from the group, its sample and the results, for the catalogue's filters (see the docstring).
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="+", db_index=False)
    beamline = models.ForeignKey(Beamline, on_delete=models.PROTECT, related_name="+", db_index=False)
    session = models.ForeignKey(
        Session, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    sample = models.ForeignKey(
        "samples.Sample",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="data_collections",
        db_index=False,
    )
    protein = models.ForeignKey(
        "samples.Protein", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    experiment_type = models.CharField(max_length=20, choices=ExperimentType.choices, default=ExperimentType.OSC)
    external_id = models.CharField(max_length=100, help_text="The pipeline's own id: a re-sent item updates.")
    token = models.ForeignKey(ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    status = models.CharField(max_length=12, choices=CollectionStatus.choices, default=CollectionStatus.RUNNING)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField(null=True, blank=True)
    end_time_estimated = models.BooleanField(
        default=False, help_text="The end time is the writer's estimate, not when the collection ended."
    )
    directory = models.CharField(max_length=255)
    file_template = models.CharField(max_length=255, help_text='e.g. "lyso_1_####.cbf" or "lyso_1_master.h5".')
    first_image = models.PositiveIntegerField(default=1)
    number_of_images = models.PositiveIntegerField(default=0)
    wavelength = models.FloatField("wavelength (Å)", null=True, blank=True)
    exposure_time = models.FloatField("exposure time (s)", null=True, blank=True)
    scan_axis = models.CharField(max_length=30, blank=True, help_text="The goniometer axis turned (omega, phi...).")
    oscillation_start = models.FloatField("oscillation start (°)", null=True, blank=True)
    oscillation_range = models.FloatField("oscillation range (°)", null=True, blank=True, help_text="Per image.")
    detector_distance = models.FloatField("detector distance (mm)", null=True, blank=True)
    resolution = models.FloatField("resolution at edge (Å)", null=True, blank=True)
    transmission = models.FloatField("transmission (%)", null=True, blank=True)
    beam_size_x = models.FloatField("beam size x (µm)", null=True, blank=True)
    beam_size_y = models.FloatField("beam size y (µm)", null=True, blank=True)
    flux = models.FloatField("flux (ph/s)", null=True, blank=True)
    detector = models.CharField(max_length=60, blank=True)
    beam_centre_x = models.FloatField("beam centre x (px)", null=True, blank=True)
    beam_centre_y = models.FloatField("beam centre y (px)", null=True, blank=True)
    snapshot_path = models.CharField(max_length=255, blank=True)
    thumbnail_path = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True, help_text="Free metadata from the pipeline.")
    comments = models.TextField(blank=True)

    flags = models.PositiveSmallIntegerField(default=0, help_text="Sum of samples.data.choices.Flag values.")
    tags = models.ManyToManyField(Tag, blank=True, related_name="collections")
    best_resolution = models.FloatField(
        "best resolution (Å)", null=True, blank=True, help_text="The best of processing and screening estimates."
    )
    search_text = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_time", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["beamline", "external_id"], name="dc_external_id_unique"),
            models.CheckConstraint(
                condition=Q(end_time__isnull=True) | Q(end_time__gte=models.F("start_time")),
                name="dc_ends_after_start",
            ),
        ]
        # One index per way the catalogue reads (keyset pagination sorts by a column, then id).
        indexes = [
            # Covering on PostgreSQL: a user's pages filter on these, so the scan of their proposals'
            # collections reads the index alone (SQLite ignores ``include``).
            models.Index(
                fields=["proposal", "-start_time", "-id"],
                include=["beamline", "experiment_type", "status", "flags", "best_resolution", "number_of_images"],
                name="dc_proposal_cover_idx",
            ),
            models.Index(fields=["beamline", "-start_time", "-id"], name="dc_beamline_start_idx"),
            models.Index(fields=["session", "-start_time"], name="dc_session_start_idx"),
            models.Index(fields=["sample", "-start_time"], name="dc_sample_start_idx"),
            models.Index(fields=["protein", "-start_time"], name="dc_protein_start_idx"),
            # Covering on PostgreSQL too: a search's first look, down the newest, reads the index alone (the
            # text to match and the proposal that scopes it), never the table (``samples.data.catalogue``).
            models.Index(fields=["-start_time", "-id"], include=["proposal", "search_text"], name="dc_start_cover_idx"),
            models.Index(fields=["proposal", "best_resolution", "id"], name="dc_proposal_resolution_idx"),
            models.Index(fields=["best_resolution", "id"], name="dc_resolution_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.directory}/{self.file_template}"

    @property
    def flag_names(self) -> list[str]:
        return [flag.label for flag in Flag if self.flags & flag]


class UnitCell(models.Model):
    """The space group and unit cell a program found (screening or processing)."""

    space_group = models.CharField(max_length=20, blank=True)
    cell_a = models.FloatField(null=True, blank=True)
    cell_b = models.FloatField(null=True, blank=True)
    cell_c = models.FloatField(null=True, blank=True)
    cell_alpha = models.FloatField(null=True, blank=True)
    cell_beta = models.FloatField(null=True, blank=True)
    cell_gamma = models.FloatField(null=True, blank=True)

    class Meta:
        abstract = True


class ScreeningResult(UnitCell):
    """What a screening program made of a characterisation: indexing, cell, quality, and a strategy."""

    data_collection = models.ForeignKey(DataCollection, on_delete=models.CASCADE, related_name="screenings")
    program = models.CharField(max_length=45, help_text='e.g. "EDNA", "XDS", "dials".')
    indexing_success = models.BooleanField(default=False)
    mosaicity = models.FloatField("mosaicity (°)", null=True, blank=True)
    estimated_resolution = models.FloatField("estimated resolution (Å)", null=True, blank=True)
    spots_found = models.PositiveIntegerField(null=True, blank=True)
    ranking = models.FloatField(null=True, blank=True)
    comments = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["data_collection", "program"]
        constraints = [
            models.UniqueConstraint(fields=["data_collection", "program"], name="screening_one_per_program"),
        ]

    def __str__(self) -> str:
        return f"{self.program} on {self.data_collection_id}"


class ScreeningStrategy(models.Model):
    """One row of a screening's proposed strategy."""

    screening = models.ForeignKey(ScreeningResult, on_delete=models.CASCADE, related_name="strategies")
    phi_start = models.FloatField(null=True, blank=True)
    phi_end = models.FloatField(null=True, blank=True)
    oscillation = models.FloatField(null=True, blank=True)
    exposure_time = models.FloatField(null=True, blank=True)
    completeness = models.FloatField(null=True, blank=True)
    multiplicity = models.FloatField(null=True, blank=True)
    resolution = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["screening", "id"]
        verbose_name_plural = "screening strategies"

    def __str__(self) -> str:
        return f"φ {self.phi_start}–{self.phi_end}° by {self.oscillation}°"


class ProcessingResult(UnitCell):
    """A data set processed by a program: space group, cell, and statistics by shell."""

    data_collection = models.ForeignKey(DataCollection, on_delete=models.CASCADE, related_name="processings")
    program = models.CharField(max_length=45, help_text='e.g. "autoPROC", "xia2-dials", "fast_dp".')
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["data_collection", "program"]
        constraints = [
            models.UniqueConstraint(fields=["data_collection", "program"], name="processing_one_per_program"),
        ]

    def __str__(self) -> str:
        return f"{self.program} on {self.data_collection_id}"


class ProcessingShell(models.Model):
    """Statistics of one resolution shell (overall, inner, outer) of a processing result."""

    processing = models.ForeignKey(ProcessingResult, on_delete=models.CASCADE, related_name="shells")
    shell = models.CharField(max_length=10, choices=Shell.choices)
    resolution_low = models.FloatField(null=True, blank=True)
    resolution_high = models.FloatField(null=True, blank=True)
    completeness = models.FloatField(null=True, blank=True)
    multiplicity = models.FloatField(null=True, blank=True)
    i_sigma = models.FloatField("I/σ(I)", null=True, blank=True)
    r_merge = models.FloatField("Rmerge", null=True, blank=True)
    cc_half = models.FloatField("CC½", null=True, blank=True)

    class Meta:
        ordering = ["processing", "shell"]
        constraints = [models.UniqueConstraint(fields=["processing", "shell"], name="processing_shell_unique")]

    def __str__(self) -> str:
        return f"{self.get_shell_display()} {self.resolution_low}–{self.resolution_high} Å"


class DownloadCart(models.Model):
    """Collections a user selected to download: a Celery job tars their files (``samples.data.cart``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="download_carts")
    collections = models.ManyToManyField(DataCollection, blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=CartStatus.choices, default=CartStatus.OPEN)
    files_done = models.PositiveIntegerField(default=0)
    files_total = models.PositiveIntegerField(default=0)
    archive = models.CharField(max_length=255, blank=True, help_text="The tar's path under the download root.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Download of {self.user} ({self.get_status_display()})"


# --- what beamline control records besides the sweeps (MXCuBE through the ISPyB-compatible API) -------------


class Image(models.Model):
    """One image of a collection that beamline control reported, with the machine's state when it was taken
    and its JPEG and thumbnail (ISPyB's Image)."""

    data_collection = models.ForeignKey(DataCollection, on_delete=models.CASCADE, related_name="images")
    image_number = models.PositiveIntegerField()
    file_name = models.CharField(max_length=255)
    file_location = models.CharField(max_length=255, blank=True)
    jpeg_path = models.CharField(max_length=255, blank=True)
    thumbnail_path = models.CharField(max_length=255, blank=True)
    measured_intensity = models.FloatField(null=True, blank=True)
    synchrotron_current = models.FloatField("synchrotron current (mA)", null=True, blank=True)
    temperature = models.FloatField("temperature (K)", null=True, blank=True)
    machine_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["data_collection", "image_number"]
        constraints = [
            models.UniqueConstraint(fields=["data_collection", "image_number"], name="image_one_per_number"),
        ]

    def __str__(self) -> str:
        return f"{self.file_location}/{self.file_name}"


class Detector(models.Model):
    """A detector as beamline control names it (ISPyB's Detector): made when a beamline reports its setup."""

    manufacturer = models.CharField(max_length=60)
    model = models.CharField(max_length=60)
    mode = models.CharField(max_length=30, blank=True, help_text='Binning or readout mode, e.g. "1x1".')
    type = models.CharField(max_length=60, blank=True, help_text='e.g. "HPC", "CCD", "Photon counting".')

    class Meta:
        ordering = ["manufacturer", "model", "mode"]
        constraints = [
            models.UniqueConstraint(fields=["manufacturer", "model", "mode", "type"], name="detector_unique"),
        ]

    def __str__(self) -> str:
        return " ".join(part for part in (self.manufacturer, self.model, self.mode) if part)


class BeamlineSetup(models.Model):
    """The beamline's configuration as beamline control reported it before a collection (ISPyB's
    BeamLineSetup): the detector, the machine's filling mode, and the rest as it came."""

    beamline = models.ForeignKey(Beamline, on_delete=models.PROTECT, related_name="+")
    detector = models.ForeignKey(Detector, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    synchrotron_mode = models.CharField(max_length=60, blank=True)
    values = models.JSONField(default=dict, blank=True, help_text="Every value beamline control sent.")
    token = models.ForeignKey(ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Setup of {self.beamline} at {self.created_at:%Y-%m-%d %H:%M}"


class SessionSetup(models.Model):
    """The beamline setup a session ran with (ISPyB's BLSession.beamLineSetupId), one per session."""

    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="beamline_setup_link")
    setup = models.ForeignKey(BeamlineSetup, on_delete=models.CASCADE, related_name="session_links")

    def __str__(self) -> str:
        return f"{self.session} with {self.setup}"


class BeamlineRecord(models.Model):
    """What a beamline measured on a sample outside a sweep: whose it is (the session's proposal, or the
    sample's), where and when, the beam, and the files. Each reader sees what it sees of data collections."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="+")
    beamline = models.ForeignKey(Beamline, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(Session, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    token = models.ForeignKey(ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    start_time = models.DateTimeField()
    end_time = models.DateTimeField(null=True, blank=True)
    exposure_time = models.FloatField("exposure time (s)", null=True, blank=True)
    transmission = models.FloatField("transmission (%)", null=True, blank=True)
    beam_size_x = models.FloatField("beam size x (µm)", null=True, blank=True)
    beam_size_y = models.FloatField("beam size y (µm)", null=True, blank=True)
    flux = models.FloatField("flux (ph/s)", null=True, blank=True)
    scan_file = models.CharField(max_length=255, blank=True)
    comments = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True, help_text="The other values beamline control sent.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["-start_time", "-id"]


class EnergyScan(BeamlineRecord):
    """An absorption-edge scan (MAD/SAD): the edge, the scan's span, and what CHOOCH made of it."""

    sample = models.ForeignKey(
        "samples.Sample", on_delete=models.SET_NULL, null=True, blank=True, related_name="energy_scans"
    )
    element = models.CharField(max_length=3)
    edge = models.CharField(max_length=5, blank=True, help_text='e.g. "K", "L3".')
    start_energy = models.FloatField("start energy (keV)", null=True, blank=True)
    end_energy = models.FloatField("end energy (keV)", null=True, blank=True)
    peak_energy = models.FloatField("peak energy (keV)", null=True, blank=True)
    peak_f_prime = models.FloatField("f′ at the peak (e)", null=True, blank=True)
    peak_f_double_prime = models.FloatField("f″ at the peak (e)", null=True, blank=True)
    inflection_energy = models.FloatField("inflection energy (keV)", null=True, blank=True)
    inflection_f_prime = models.FloatField("f′ at the inflection (e)", null=True, blank=True)
    inflection_f_double_prime = models.FloatField("f″ at the inflection (e)", null=True, blank=True)
    fluorescence_detector = models.CharField(max_length=60, blank=True)
    chooch_file = models.CharField(max_length=255, blank=True)
    chooch_plot = models.CharField(max_length=255, blank=True)

    class Meta(BeamlineRecord.Meta):
        indexes = [models.Index(fields=["sample", "-start_time"], name="energyscan_sample_idx")]

    def __str__(self) -> str:
        return f"{self.element} {self.edge} scan"


class XrfSpectrum(BeamlineRecord):
    """A fluorescence spectrum (ISPyB's XFEFluorescenceSpectrum): which elements are in the crystal."""

    sample = models.ForeignKey(
        "samples.Sample", on_delete=models.SET_NULL, null=True, blank=True, related_name="xrf_spectra"
    )
    energy = models.FloatField("excitation energy (keV)", null=True, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    plot_file = models.CharField(max_length=255, blank=True)
    annotated_file = models.CharField(max_length=255, blank=True)
    fitted_file = models.CharField(max_length=255, blank=True)

    class Meta(BeamlineRecord.Meta):
        verbose_name = "XRF spectrum"
        verbose_name_plural = "XRF spectra"
        indexes = [models.Index(fields=["sample", "-start_time"], name="xrf_sample_idx")]

    def __str__(self) -> str:
        return f"XRF spectrum at {self.energy} keV"
