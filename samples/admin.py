"""Admin for proteins, containers and samples."""

from django.contrib import admin

from lims.admin import AuditedAdmin, ReadOnlyAdmin

from .models import Container, Protein, PuckAudit, Sample


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
