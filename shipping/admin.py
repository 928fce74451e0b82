"""Admin for shipments, dewars, locations and transport events. Statuses change only through services."""

from django.contrib import admin

from lims.admin import AuditedAdmin, ReadOnlyAdmin, run_service

from .models import Dewar, DewarEvent, Location, Shipment
from .services import shipment_cancel, shipment_send


@admin.register(Location)
class LocationAdmin(AuditedAdmin):
    list_display = ["name", "kind", "barcode", "beamline", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "barcode"]


class DewarInline(admin.TabularInline):
    model = Dewar
    extra = 0
    fields = ["name", "barcode", "status", "location", "delivery_location", "session"]
    readonly_fields = ["barcode", "status", "location"]
    show_change_link = True


@admin.register(Shipment)
class ShipmentAdmin(AuditedAdmin):
    list_display = ["name", "proposal", "status", "created_at", "sent_at", "expected_arrival", "safety_level"]
    list_filter = ["status", "safety_level"]
    search_fields = ["name", "proposal__number"]
    readonly_fields = ["status", "sent_at", "created_at", "created_by"]
    autocomplete_fields = ["proposal", "sending_contact", "return_contact"]
    inlines = [DewarInline]
    actions = ["send", "cancel"]

    @admin.action(description="Mark selected shipments as sent")
    def send(self, request, queryset):
        run_service(self, request, queryset, lambda s, u: shipment_send(shipment=s, user=u), "sent")

    @admin.action(description="Cancel selected draft shipments")
    def cancel(self, request, queryset):
        run_service(self, request, queryset, lambda s, u: shipment_cancel(shipment=s, user=u), "cancelled")


class DewarEventInline(admin.TabularInline):
    model = DewarEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "kind", "status", "location", "user", "courier", "tracking_number", "note"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Dewar)
class DewarAdmin(AuditedAdmin):
    list_display = ["name", "barcode", "shipment", "status", "location", "delivery_location"]
    list_filter = ["status", "location"]
    search_fields = ["name", "barcode", "shipment__name"]
    readonly_fields = ["barcode", "status", "location"]
    autocomplete_fields = ["shipment", "session", "local_contact"]
    inlines = [DewarEventInline]


@admin.register(DewarEvent)
class DewarEventAdmin(ReadOnlyAdmin):
    """Transport events are append-only and written by the services."""

    list_display = ["at", "dewar", "kind", "status", "location", "user", "tracking_number"]
    list_filter = ["kind", "status"]
    search_fields = ["dewar__barcode", "dewar__name", "tracking_number"]
