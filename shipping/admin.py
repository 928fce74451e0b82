"""Admin for shipments, dewars, locations and transport events. Statuses change only through services."""

from django.contrib import admin, messages
from django.db.models import Q
from django.utils import timezone

from lims import outbox
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


class StuckFilter(admin.SimpleListFilter):
    """Queued or sending for longer than NOTIFICATION_STUCK_MINUTES: the dashboard's "stuck" link."""

    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [("yes", "Stuck")]

    def queryset(self, request, queryset):
        return queryset.filter(outbox.stuck_filter()) if self.value() == "yes" else queryset


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The outbox of emails to users, written by the tasks: staff find the failed and the stuck ones here
    and send them again."""

    list_display = ["created_at", "about", "reason", "status", "attempts", "to", "sent_at", "last_error"]
    list_filter = ["status", "reason", StuckFilter]
    search_fields = ["event__dewar__barcode", "event__dewar__shipment__name", "shipment__name", "subject"]
    list_select_related = ["event__dewar", "shipment"]
    date_hierarchy = "created_at"
    actions = ["send_again"]

    @admin.display(description="dewar or shipment")
    def about(self, obj):
        return obj.shipment if obj.event_id is None else obj.event.dewar

    @admin.display(description="to")
    def to(self, obj):
        return ", ".join(obj.recipients + obj.cc)

    @admin.action(description="Send the selected failed or stuck notifications again")
    def send_again(self, request, queryset):
        rows = list(queryset.filter(Q(status=NotificationStatus.FAILED) | outbox.stuck_filter()))
        # A stuck "sending" row is one whose worker was lost, perhaps after the mail went: staff decide.
        Notification.objects.filter(pk__in=[row.pk for row in rows]).update(
            status=NotificationStatus.QUEUED, due_at=timezone.now()
        )
        for row in rows:
            # After commit, like every task: the worker must see the notification queued again.
            row.hand_over_after_commit()
        self.message_user(request, f"{len(rows)} notification(s) queued again.", messages.SUCCESS)
