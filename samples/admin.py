"""Admin for proteins, containers and samples."""

from django.contrib import admin

from lims.admin import AuditedAdmin, ReadOnlyAdmin

from .models import Container, ContainerHistory, Protein, PuckAudit, RobotAction, Sample, SampleStatusChange


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
    """Puck audits are written by ``samples.audit.puck_audit`` only: read-only here."""

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
