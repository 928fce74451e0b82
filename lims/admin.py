"""Admin for the core models. Every admin write leaves an audit entry, like any other write."""

import functools

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template import engines
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from . import audit
from .access import is_admin
from .choices import AuditAction
from .errors import DomainError
from .models import (
    ApiToken,
    AuditEntry,
    Beamline,
    LabContact,
    PersonalToken,
    Proposal,
    ProposalMember,
    Session,
    UserOfficeSync,
)
from .tokens import api_token_create, api_token_revoke, personal_token_revoke


class AuditedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose saves and deletes are recorded in the audit log."""

    def save_model(self, request, obj, form, change):
        before = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        action = AuditAction.UPDATE if change else AuditAction.CREATE
        audit.record(user=request.user, action=action, obj=obj, before=before, message="admin")

    def delete_model(self, request, obj):
        audit.record(user=request.user, action=AuditAction.DELETE, obj=obj, before=audit.snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        audit.record_many(
            audit.entry(user=request.user, action=AuditAction.DELETE, obj=obj, before=audit.snapshot(obj))
            for obj in queryset
        )
        super().delete_queryset(request, queryset)


def run_service(modeladmin, request, queryset, service, done: str) -> None:
    """Run a status service on each selected object; refusals become messages, not errors."""
    for obj in queryset:
        try:
            service(obj, request.user)
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{obj}: {done}", messages.SUCCESS)


class MemberInline(admin.TabularInline):
    model = ProposalMember
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Proposal)
class ProposalAdmin(AuditedAdmin):
    list_display = ["name", "title", "kind", "mail_in", "created_at"]
    list_filter = ["kind", "mail_in"]
    search_fields = ["code", "number", "title"]
    inlines = [MemberInline]


@admin.register(ProposalMember)
class ProposalMemberAdmin(AuditedAdmin):
    list_display = ["proposal", "user", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "proposal__number"]
    autocomplete_fields = ["user", "proposal"]


@admin.register(Beamline)
class BeamlineAdmin(AuditedAdmin):
    list_display = ["name", "sample_changer_model", "puck_positions", "positions_per_cell", "active"]
    search_fields = ["name"]


@admin.register(Session)
class SessionAdmin(AuditedAdmin):
    list_display = ["proposal", "beamline", "start", "end", "local_contact"]
    list_filter = ["beamline"]
    date_hierarchy = "start"
    search_fields = ["proposal__number"]
    autocomplete_fields = ["proposal", "local_contact"]


@admin.register(LabContact)
class LabContactAdmin(AuditedAdmin):
    list_display = ["card_name", "name", "proposal", "lab_name", "email", "telephone"]
    search_fields = ["card_name", "name", "lab_name", "email"]
    autocomplete_fields = ["proposal"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """For append-only records written by the services (audit log, transport events)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log is read-only, in the admin as everywhere."""

    list_display = ["at", "user", "action", "content_type", "object_repr", "message"]
    list_filter = ["action", "content_type"]
    search_fields = ["object_repr", "user__username"]
    date_hierarchy = "at"


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens for beamline control: made and revoked through ``lims.tokens``, never edited.

    The key is shown once, in a message after saving; only its hash is stored. Tokens are revoked, not
    deleted, so that what they did keeps its author.
    """

    list_display = ["name", "beamline", "prefix", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["beamline", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["beamline", "user"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]
    fields = ["name", "beamline", "user"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_fields(self, request, obj=None):
        return self.fields if obj is None else [*self.fields, *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        # A token is what it was made as: name, beamline and user included.
        return self.readonly_fields if obj is None else [*self.fields, *self.readonly_fields]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        token, key = api_token_create(name=obj.name, beamline=obj.beamline, user=obj.user, created_by=request.user)
        obj.pk, obj.prefix, obj.key_hash, obj.created_by, obj.created_at = (
            token.pk,
            token.prefix,
            token.key_hash,
            token.created_by,
            token.created_at,
        )
        obj._state.adding = False
        self.message_user(
            request,
            f"The key of {token.name}: {key} — copy it now into the beamline's configuration; "
            "it is not stored and will not be shown again.",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            api_token_revoke(token=token, user=request.user)
        self.message_user(request, f"{queryset.count()} token(s) revoked.", messages.SUCCESS)


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    """People's API tokens (made by ``POST /api/v1/auth/token/``): seen and revoked here, never made or edited.

    Only a hash of each key is stored. Locked-out logins are lifted under "Axes: access attempts"
    (delete the attempt)."""

    list_display = ["user", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "expires_at"]
    search_fields = ["user__username", "prefix"]
    list_select_related = ["user"]
    readonly_fields = ["user", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    fields = readonly_fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            personal_token_revoke(token=token, user=request.user)
        self.message_user(request, f"{queryset.count()} token(s) revoked.", messages.SUCCESS)


# The sync's changelist: the feed and the last sync above the runs, and the buttons that run it now. A template
# made from a string, so that the core's admin needs no template file of its own.
_SYNC_CHANGELIST = """{% extends "admin/change_list.html" %}
{% block content_subtitle %}<p>Feed: {{ feed|default:"none (set USER_OFFICE_FEED)" }}{% if feed %},
synced every {{ minutes }} minutes by Celery beat{% endif %}. Last sync: {% if last %}
<a href="{{ last_url }}">{{ last.started_at }}</a>, {{ last_summary }}{% else %}never{% endif %}.</p>{% endblock %}
{% block object-tools-items %}{% if can_run %}<li><form method="post" action="{% url 'admin:lims_userofficesync_run' %}">
{% csrf_token %}<button type="submit" name="dry_run" value="1">Dry run</button>
<button type="submit">Sync now</button></form></li>{% endif %}{{ block.super }}{% endblock %}
"""


@functools.cache
def _sync_changelist_template():
    return engines["django"].from_string(_SYNC_CHANGELIST)


@admin.register(UserOfficeSync)
class UserOfficeSyncAdmin(ReadOnlyAdmin):
    """Every run of the user-office sync (lims.user_office, docs/user-office.md): when, from where, what it changed,
    its warnings and, for a refused feed, its errors. Read-only; admins can run it now (or a dry run)."""

    list_display = ["started_at", "status", "dry_run", "trigger", "created", "updated", "deleted", "problems", "source"]
    list_filter = ["status", "dry_run", "trigger"]
    list_select_related = ["user"]
    fields = [
        "started_at",
        "finished_at",
        "source",
        "trigger",
        "user",
        "dry_run",
        "status",
        "created",
        "updated",
        "deleted",
        "change_list",
        "warning_list",
        "error_list",
    ]
    readonly_fields = fields

    @admin.display(description="warnings / errors")
    def problems(self, obj):
        return f"{len(obj.warnings)} / {len(obj.errors)}"

    @admin.display(description="changes")
    def change_list(self, obj):
        from .user_office.sync import describe

        return _lines([describe(c) for c in obj.changes], "no changes")

    @admin.display(description="warnings")
    def warning_list(self, obj):
        return _lines(obj.warnings, "none")

    @admin.display(description="errors")
    def error_list(self, obj):
        from .user_office.feed import FeedError

        return _lines([str(FeedError(**e)) for e in obj.errors], "none")

    def get_urls(self):
        run = path("run/", self.admin_site.admin_view(self.run_view), name="lims_userofficesync_run")
        return [run, *super().get_urls()]

    @property
    def change_list_template(self):
        return _sync_changelist_template()

    def changelist_view(self, request, extra_context=None):
        from .user_office.feed import redact
        from .user_office.sync import summary

        last = UserOfficeSync.objects.filter(dry_run=False).first()
        context = {
            "feed": redact(settings.USER_OFFICE_FEED),
            "minutes": f"{settings.USER_OFFICE_SYNC_MINUTES:g}",
            "last": last,
            "last_summary": summary(last) if last else "",
            "last_url": reverse("admin:lims_userofficesync_change", args=[last.pk]) if last else "",
            "can_run": is_admin(request.user) and bool(settings.USER_OFFICE_FEED),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def run_view(self, request):
        """POST: run the sync from USER_OFFICE_FEED now (in-process without a broker, else by a worker)."""
        from .tasks import sync_user_office
        from .user_office.sync import run, summary

        if request.method != "POST" or not is_admin(request.user):
            raise PermissionDenied
        dry_run = bool(request.POST.get("dry_run"))
        back = HttpResponseRedirect(reverse("admin:lims_userofficesync_changelist"))
        if not settings.USER_OFFICE_FEED:
            self.message_user(request, "No feed: set USER_OFFICE_FEED.", messages.ERROR)
            return back
        if settings.CELERY_TASK_ALWAYS_EAGER:
            record = run(dry_run=dry_run, trigger="admin", user=request.user)
            level = messages.SUCCESS if record.status == UserOfficeSync.Status.OK else messages.ERROR
            self.message_user(request, f"{'Dry run' if dry_run else 'Sync'}: {summary(record)}.", level)
        else:
            sync_user_office.delay(dry_run=dry_run, user_id=request.user.pk, trigger="admin")
            self.message_user(request, "The sync is queued: its run appears here when a worker has done it.")
        return back


def _lines(lines: list[str], empty: str):
    """One line each, wrapping in the admin's column (no <pre>: a long error would run off the page; no style
    attribute: the Content-Security-Policy refuses them)."""
    if not lines:
        return empty
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))
