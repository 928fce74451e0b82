"""Admin for shipments, dewars, locations and transport events. Statuses change only through services."""

from django.contrib import admin, messages
from django.db import transaction

from lims.admin import AuditedAdmin, ReadOnlyAdmin, run_service

from .choices import NotificationStatus
from .models import Dewar, DewarEvent, Location, Notification, Shipment
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


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The log of transport emails, written by the task: staff find the failed ones here and send them again."""

    list_display = ["created_at", "event_dewar", "reason", "status", "attempts", "to", "sent_at", "last_error"]
    list_filter = ["status", "reason"]
    search_fields = ["event__dewar__barcode", "event__dewar__shipment__name", "subject"]
    list_select_related = ["event__dewar"]
    date_hierarchy = "created_at"
    actions = ["send_again"]

    @admin.display(description="dewar", ordering="event__dewar__barcode")
    def event_dewar(self, obj):
        return obj.event.dewar

    @admin.display(description="to")
    def to(self, obj):
        return ", ".join(obj.recipients + obj.cc)

    @admin.action(description="Send the selected failed notifications again")
    def send_again(self, request, queryset):
        from .tasks import notify_dewar_event

        failed = list(queryset.filter(status=NotificationStatus.FAILED).values_list("pk", "event_id", "reason"))
        Notification.objects.filter(pk__in=[pk for pk, _, _ in failed]).update(status=NotificationStatus.QUEUED)
        for _, event_id, reason in failed:
            # After commit, like every task: the worker must see the notification queued again.
            transaction.on_commit(lambda e=event_id, r=reason: notify_dewar_event.delay(e, r), robust=True)
        self.message_user(request, f"{len(failed)} notification(s) queued again.", messages.SUCCESS)
