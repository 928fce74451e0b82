"""Admin for proteins, containers, samples and their data (collections and results, read-only)."""

from django.contrib import admin

from lims.admin import AuditedAdmin, ReadOnlyAdmin

from .data.models import (
    BeamlineSetup,
    DataCollection,
    DataCollectionGroup,
    Detector,
    DownloadCart,
    EnergyScan,
    Image,
    ProcessingResult,
    ProcessingShell,
    ScreeningResult,
    ScreeningStrategy,
    SessionSetup,
    Tag,
    XrfSpectrum,
)
from .models import (
    Container,
    ContainerHistory,
    Protein,
    PuckAudit,
    RobotAction,
    Sample,
    SampleStatusChange,
    ShipmentReport,
)


@admin.register(Protein)
class ProteinAdmin(AuditedAdmin):
    list_display = ["acronym", "name", "proposal"]
    search_fields = ["acronym", "name"]
    autocomplete_fields = ["proposal"]


class SampleInline(admin.TabularInline):
    model = Sample
    extra = 0
    fields = ["position", "name", "pin_code", "protein", "space_group", "experiment_kind", "status"]
    readonly_fields = ["status"]
    autocomplete_fields = ["protein"]


@admin.register(Container)
class ContainerAdmin(AuditedAdmin):
    list_display = ["name", "container_type", "capacity", "barcode", "dewar", "shipment", "status"]
    list_filter = ["container_type", "status"]
    search_fields = ["name", "barcode"]
    readonly_fields = ["status"]
    autocomplete_fields = ["dewar"]
    inlines = [SampleInline]

    def save_model(self, request, obj, form, change):
        obj.shipment = obj.dewar.shipment  # kept in step with the dewar, as the services do
        super().save_model(request, obj, form, change)


@admin.register(Sample)
class SampleAdmin(AuditedAdmin):
    list_display = ["name", "protein", "container", "position", "pin_code", "status"]
    list_filter = ["status", "experiment_kind"]
    search_fields = ["name", "pin_code", "protein__acronym"]
    readonly_fields = ["status", "retired_at"]
    autocomplete_fields = ["container", "protein"]


@admin.register(PuckAudit)
class PuckAuditAdmin(ReadOnlyAdmin):
    """Puck audits are written by ``samples.puck_audit.puck_audit`` only: read-only here."""

    list_display = ["at", "container", "user", "method", "confidence", "ok"]
    list_filter = ["method", "confidence", "ok"]
    search_fields = ["container__name", "container__barcode", "user__username"]
    date_hierarchy = "at"
    list_select_related = ["container", "user"]


@admin.register(ContainerHistory)
class ContainerHistoryAdmin(ReadOnlyAdmin):
    """Pucks put into and taken out of sample changers, written by ``samples.services`` only."""

    list_display = ["at", "container", "status", "location", "session", "user", "token", "message"]
    list_filter = ["beamline", "status"]
    search_fields = ["container__name", "container__barcode", "location", "user__username"]
    date_hierarchy = "at"
    list_select_related = ["container", "session__proposal", "user", "token"]


@admin.register(RobotAction)
class RobotActionAdmin(ReadOnlyAdmin):
    """What the robot did, as beamline control reported it (``samples.services.robot_action_create``)."""

    list_display = ["started_at", "beamline", "action_type", "status", "sample", "sample_reference", "token", "user"]
    list_filter = ["beamline", "action_type", "status"]
    search_fields = ["sample__name", "sample_barcode", "container_location", "message"]
    date_hierarchy = "started_at"
    list_select_related = ["beamline", "sample", "token", "user"]


@admin.register(SampleStatusChange)
class SampleStatusChangeAdmin(ReadOnlyAdmin):
    """Sample statuses as beamline control reported them (``samples.services.sample_status_set``)."""

    list_display = ["at", "sample", "previous", "status", "detail", "token", "user"]
    list_filter = ["status"]
    search_fields = ["sample__name", "sample__pin_code", "detail"]
    date_hierarchy = "at"
    list_select_related = ["sample", "token", "user"]


# --- data: written by the pipelines (samples.data.ingest) and the users' actions; read-only here -------------


@admin.register(DataCollectionGroup)
class DataCollectionGroupAdmin(ReadOnlyAdmin):
    """Groups of collections, made by ingest (one per pipeline group id, or per sample, session and type)."""

    list_display = ["external_id", "experiment_type", "beamline", "proposal", "session", "sample", "created_at"]
    list_filter = ["beamline", "experiment_type"]
    search_fields = ["=external_id"]
    list_select_related = ["beamline", "proposal", "session__proposal", "sample"]
    show_full_result_count = False


class ScreeningInline(admin.TabularInline):
    model = ScreeningResult
    extra = 0
    fields = ["program", "indexing_success", "space_group", "estimated_resolution", "mosaicity", "spots_found"]
    show_change_link = True


class ProcessingInline(admin.TabularInline):
    model = ProcessingResult
    extra = 0
    fields = ["program", "space_group", "cell_a", "cell_b", "cell_c"]
    show_change_link = True


@admin.register(DataCollection)
class DataCollectionAdmin(ReadOnlyAdmin):
    """Collections as the pipelines sent them. A million rows: no full count, search on the lower-cased
    ``search_text`` (trigram-indexed on PostgreSQL) or the exact external id."""

    list_display = [
        "start_time",
        "beamline",
        "proposal",
        "sample",
        "directory",
        "file_template",
        "status",
        "number_of_images",
        "best_resolution",
        "external_id",
    ]
    list_filter = ["beamline", "status", "experiment_type"]
    search_fields = ["search_text__contains", "=external_id"]
    list_select_related = ["beamline", "proposal", "sample"]
    raw_id_fields = ["group", "session", "sample", "protein", "token"]
    show_full_result_count = False
    inlines = [ScreeningInline, ProcessingInline]

    def get_search_results(self, request, queryset, search_term):
        # search_text is lower-cased: a plain (indexed) LIKE on the lower-cased term, not UPPER() on both.
        return super().get_search_results(request, queryset, search_term.lower())


class StrategyInline(admin.TabularInline):
    model = ScreeningStrategy
    extra = 0


@admin.register(ScreeningResult)
class ScreeningResultAdmin(ReadOnlyAdmin):
    list_display = ["data_collection", "program", "indexing_success", "space_group", "estimated_resolution"]
    list_filter = ["program", "indexing_success"]
    raw_id_fields = ["data_collection"]
    show_full_result_count = False
    inlines = [StrategyInline]


@admin.register(ScreeningStrategy)
class ScreeningStrategyAdmin(ReadOnlyAdmin):
    list_display = ["screening", "phi_start", "phi_end", "oscillation", "completeness", "resolution"]
    raw_id_fields = ["screening"]
    show_full_result_count = False


class ShellInline(admin.TabularInline):
    model = ProcessingShell
    extra = 0


@admin.register(ProcessingResult)
class ProcessingResultAdmin(ReadOnlyAdmin):
    list_display = ["data_collection", "program", "space_group", "created_at"]
    list_filter = ["program"]
    raw_id_fields = ["data_collection"]
    show_full_result_count = False
    inlines = [ShellInline]


@admin.register(ProcessingShell)
class ProcessingShellAdmin(ReadOnlyAdmin):
    list_display = ["processing", "shell", "resolution_low", "resolution_high", "completeness", "cc_half"]
    list_filter = ["shell"]
    raw_id_fields = ["processing"]
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    """Tags are put on collections by users (samples.data.actions)."""

    list_display = ["name"]
    search_fields = ["name"]


@admin.register(DownloadCart)
class DownloadCartAdmin(ReadOnlyAdmin):
    """Download carts and the state of their archives (samples.data.cart)."""

    list_display = ["created_at", "user", "status", "files_done", "files_total", "finished_at"]
    list_filter = ["status"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user", "collections"]


@admin.register(ShipmentReport)
class ShipmentReportAdmin(ReadOnlyAdmin):
    """Versions of mail-in result reports, issued by ``samples.mailin.delivery`` only: read-only here."""

    list_display = ["shipment", "version", "created_at", "created_by", "size", "note"]
    search_fields = ["shipment__name", "shipment__proposal__number", "note"]
    date_hierarchy = "created_at"
    list_select_related = ["shipment__proposal", "created_by"]


# What beamline control records besides sweeps (samples.data.records): read-only, as it was reported.


@admin.register(Image)
class ImageAdmin(ReadOnlyAdmin):
    list_display = ["data_collection", "image_number", "file_name", "synchrotron_current", "created_at"]
    raw_id_fields = ["data_collection"]
    show_full_result_count = False


@admin.register(Detector)
class DetectorAdmin(admin.ModelAdmin):
    """Detectors are made when a beamline reports its setup; the facility may correct their names."""

    list_display = ["manufacturer", "model", "mode", "type"]
    search_fields = ["manufacturer", "model"]


@admin.register(BeamlineSetup)
class BeamlineSetupAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "beamline", "detector", "synchrotron_mode"]
    list_filter = ["beamline"]


@admin.register(SessionSetup)
class SessionSetupAdmin(ReadOnlyAdmin):
    """Which setup each session ran with, as beamline control associated them."""

    list_display = ["session", "setup"]
    raw_id_fields = ["session", "setup"]


@admin.register(EnergyScan)
class EnergyScanAdmin(ReadOnlyAdmin):
    list_display = ["start_time", "beamline", "proposal", "sample", "element", "edge", "peak_energy"]
    list_filter = ["beamline", "element"]
    raw_id_fields = ["sample", "session", "proposal"]
    show_full_result_count = False


@admin.register(XrfSpectrum)
class XrfSpectrumAdmin(ReadOnlyAdmin):
    list_display = ["start_time", "beamline", "proposal", "sample", "energy"]
    list_filter = ["beamline"]
    raw_id_fields = ["sample", "session", "proposal"]
    show_full_result_count = False
