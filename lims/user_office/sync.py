"""Apply the user office's feed: proposals, their members and sessions, as the feed says (docs/user-office.md).

The feed is authoritative for the proposals it lists: their title, kind and mail-in flag, who is a member with
which role (a member missing from the feed loses the membership), and their user-office sessions (matched by
the user office's own id; a moved session is updated in place, so its dewars and data keep pointing at it).
Proposals the feed does not list, sessions booked here (no user-office id) and whatever users entered
(shipments, lab contacts) are never touched. A session gone from the feed is deleted only when nothing refers
to it; otherwise it stays and the run reports a warning.

One transaction: the feed is checked whole first, and anything wrong anywhere leaves the database as it was.
Every change is audited (``lims.audit``, message "user-office sync"); a dry run makes the same changes and
rolls them back, so it reports exactly what a sync would do. Every run, refused or dry, is recorded as a
``UserOfficeSync``.
"""

import logging
from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from .. import audit
from ..choices import AuditAction
from ..models import Beamline, Proposal, ProposalMember, Session, UserOfficeSync
from ..services import proposal_member_add
from . import feed
from .feed import FeedError, FeedProposal, FeedRefused, FeedSession

log = logging.getLogger(__name__)
MESSAGE = "user-office sync"
_LOCK_KEY = 0x55_4F_53_59  # "UOSY": one sync at a time on PostgreSQL (SQLite serialises writers anyway)
_SYMBOLS = {"create": "+", "update": "~", "delete": "-"}


def run(source: str = "", *, fmt: str = "", dry_run: bool = False, trigger: str = "command", user=None):
    """Read, check and apply the feed at ``source`` (default USER_OFFICE_FEED); record the run and return it."""
    started = timezone.now()
    source = source or settings.USER_OFFICE_FEED
    record = UserOfficeSync(
        started_at=started,
        source=feed.redact(source)[:500] if source else "(none)",
        trigger=trigger,
        user=user if getattr(user, "is_authenticated", False) else None,
        dry_run=dry_run,
        status=UserOfficeSync.Status.OK,
    )
    try:
        if not source:
            raise FeedRefused([FeedError(None, "", "", "no feed: set USER_OFFICE_FEED or name a file or URL")])
        data, hint = feed.read(
            source,
            timeout=settings.USER_OFFICE_TIMEOUT,
            token=settings.USER_OFFICE_TOKEN,
            token_header=settings.USER_OFFICE_TOKEN_HEADER,
            max_bytes=settings.USER_OFFICE_MAX_BYTES,
        )
        beamlines = {name.lower(): name for name in Beamline.objects.values_list("name", flat=True)}
        proposals = feed.parse(data, fmt=fmt or settings.USER_OFFICE_FORMAT or hint, beamlines=beamlines)
        record.changes, record.warnings = apply(proposals, dry_run=dry_run)
    except FeedRefused as exc:
        record.status = UserOfficeSync.Status.FAILED
        record.errors = [e.as_dict() for e in exc.errors]
        log.error("User-office sync from %s refused: %s", record.source, exc)
    except Exception as exc:
        record.status = UserOfficeSync.Status.FAILED
        record.errors = [FeedError(None, "", "", f"internal error: {exc!r}").as_dict()]
        _save(record)
        raise
    for action in ("create", "update", "delete"):
        setattr(record, f"{action}d", sum(1 for c in record.changes if c["action"] == action))
    _save(record)
    if record.status == UserOfficeSync.Status.OK:
        log.info("User-office sync from %s%s: %s", record.source, " (dry run)" if dry_run else "", summary(record))
    return record


def _save(record: UserOfficeSync) -> None:
    record.finished_at = timezone.now()
    record.save()


def apply(proposals: list[FeedProposal], *, dry_run: bool = False) -> tuple[list[dict], list[str]]:
    """Make the database say what the (checked) feed says; the changes made and the warnings.
    Raises ``FeedRefused`` (nothing written) when the feed contradicts the database."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        applier = _Applier(proposals)
        applier.sync_users()
        for proposal in proposals:
            applier.sync_proposal(proposal)
        if applier.errors:
            raise FeedRefused(applier.errors)
        if dry_run:
            transaction.set_rollback(True)
    return applier.changes, applier.warnings


def references(session: Session) -> list[str]:
    """What refers to ``session`` (dewars, data collections, ...), found through the model's reverse relations
    so that the core needs no import of the apps that refer to it."""
    found = []
    for relation in Session._meta.get_fields(include_hidden=True):
        if not (relation.is_relation and relation.auto_created and not relation.concrete):
            continue
        model = relation.related_model
        if model._base_manager.filter(**{relation.field.name: session.pk}).exists():
            found.append(str(model._meta.verbose_name_plural))
    return found


def describe(change: dict) -> str:
    """A change as one line: "+ proposal mx2345: title 'Kinases', ...", "~ session UO-7 (mx2345): start '…' → '…'",
    "- member bob in mx2345: role 'coi'"."""
    action, items = change["action"], change.get("fields", {}).items()
    if action == "create":
        fields = ", ".join(f"{name} {after!r}" for name, (_, after) in items)
    elif action == "delete":
        fields = ", ".join(f"{name} {before!r}" for name, (before, _) in items)
    else:
        fields = ", ".join(f"{name} {before!r} → {after!r}" for name, (before, after) in items)
    head = f"{_SYMBOLS.get(action, '?')} {change['model']} {change['object']}"
    return f"{head}: {fields}" if fields else head


def summary(record: UserOfficeSync) -> str:
    if record.status == UserOfficeSync.Status.FAILED:
        return f"refused, {len(record.errors)} error(s)"
    if not record.changes:
        text = "no changes"
    else:
        text = f"{record.created} created, {record.updated} updated, {record.deleted} deleted"
    return text + (f", {len(record.warnings)} warning(s)" if record.warnings else "")


def _users_named(usernames) -> dict:
    """The LIMS's users by username, matched as the logins match them: case-insensitively (the exact spelling
    under its own key first, then each under its lower-cased name)."""
    users = get_user_model().objects.annotate(lower_name=Lower("username"))
    found = {}
    for chunk in _chunks({n.lower() for n in usernames}):
        for user in users.filter(lower_name__in=chunk).order_by("pk"):
            found.setdefault(user.username, user)
            found.setdefault(user.lower_name, user)
    return found


def _chunks(values, size: int = 2000):
    """``values`` in lists of ``size``: an IN (...) of at most that many parameters (SQLite caps them)."""
    values = sorted(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _shown(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


class _Applier:
    def __init__(self, proposals: list[FeedProposal]):
        self.proposals = proposals
        self.changes: list[dict] = []
        self.warnings: list[str] = []
        self.errors: list[FeedError] = []
        self.users: dict[str, object] = {}
        self.beamlines = {b.name: b for b in Beamline.objects.all()}
        self.feed_session_ids = {s.external_id for p in proposals for s in p.sessions}
        # What the LIMS holds of the listed proposals, read once (a re-run of a large feed costs a few queries).
        self.existing = {}
        for chunk in _chunks({p.number for p in proposals}):
            self.existing.update(((p.code.lower(), p.number), p) for p in Proposal.objects.filter(number__in=chunk))
        self.memberships = defaultdict(dict)
        self.own_sessions = defaultdict(list)  # the user office's sessions of each listed proposal
        for chunk in _chunks([p.pk for p in self.existing.values()]):
            for m in ProposalMember.objects.filter(proposal_id__in=chunk).select_related("user"):
                self.memberships[m.proposal_id][m.user_id] = m
            for session in (
                Session.objects.filter(proposal_id__in=chunk).exclude(external_id="").select_related("beamline")
            ):
                self.own_sessions[session.proposal_id].append(session)
        self.sessions = {}
        related = ("proposal", "beamline", "local_contact")
        for chunk in _chunks(self.feed_session_ids):
            self.sessions.update(
                (s.external_id, s) for s in Session.objects.filter(external_id__in=chunk).select_related(*related)
            )

    def change(self, action: str, model: str, name: str, fields: dict, obj=None, before=None) -> None:
        self.changes.append(
            {
                "action": action,
                "model": model,
                "object": name,
                "fields": {k: [_shown(b), _shown(a)] for k, (b, a) in fields.items()},
            }
        )
        if obj is not None:
            audit.record(user=None, action=action, obj=obj, before=before, message=MESSAGE)

    # People ----------------------------------------------------------------------------------------------

    def sync_users(self) -> None:
        """Create the members the LIMS does not know (no password: they sign in through the identity provider)
        and bring names and e-mails up to date (an empty value in the feed leaves the LIMS's)."""
        User = get_user_model()
        people = {m.username: m for p in self.proposals for m in p.members}
        contacts = {s.local_contact for p in self.proposals for s in p.sessions if s.local_contact}
        existing = _users_named([*people, *(contacts - set(people))])
        for username in contacts - set(people):
            self.users[username] = existing.get(username) or existing.get(username.lower())
        for username, person in people.items():
            wanted = {"email": person.email, "first_name": person.first_name, "last_name": person.last_name}
            user = existing.get(username) or existing.get(username.lower())
            if user is None:
                user = User(username=username, **wanted)
                user.set_unusable_password()
                user.save()
                shown = {"username": username, **{k: v for k, v in wanted.items() if v}}
                audit.record(user=None, action=AuditAction.CREATE, obj=user, after=shown, message=MESSAGE)
                self.change("create", "user", username, {k: [None, v] for k, v in shown.items() if k != "username"})
            else:
                fields = {k: [getattr(user, k), v] for k, v in wanted.items() if v and getattr(user, k) != v}
                if fields:
                    for name, (_, value) in fields.items():
                        setattr(user, name, value)
                    user.save(update_fields=list(fields))
                    # The user row is never snapshotted whole (its password hash stays out of the log).
                    before = {k: b for k, (b, _) in fields.items()}
                    after = {k: a for k, (_, a) in fields.items()}
                    audit.record(
                        user=None, action=AuditAction.UPDATE, obj=user, before=before, after=after, message=MESSAGE
                    )
                    self.change("update", "user", username, fields)
            self.users[username] = user

    def local_contact(self, session: FeedSession):
        username = session.local_contact
        if not username:
            return None
        if username not in self.users:
            found = _users_named([username])
            self.users[username] = found.get(username) or found.get(username.lower())
        user = self.users[username]
        if user is None:
            self.warnings.append(
                f"session {session.external_id}: no user {username!r} in the LIMS; the local contact is left "
                "empty until they sign in once or an admin creates them"
            )
        return user

    # Proposals and members -------------------------------------------------------------------------------

    def sync_proposal(self, item: FeedProposal) -> None:
        wanted = {"title": item.title, "kind": item.kind, "mail_in": item.mail_in}
        proposal = self.existing.get((item.code, item.number))
        if proposal is None:
            proposal = Proposal.objects.create(code=item.code, number=item.number, **wanted)
            self.change("create", "proposal", item.name, {k: [None, v] for k, v in wanted.items()}, proposal)
        else:
            fields = {k: [getattr(proposal, k), v] for k, v in wanted.items() if getattr(proposal, k) != v}
            if fields:
                before = audit.snapshot(proposal)
                for name, (_, value) in fields.items():
                    setattr(proposal, name, value)
                proposal.save(update_fields=list(fields))
                self.change("update", "proposal", item.name, fields, proposal, before)
        self.sync_members(proposal, item)
        self.sync_sessions(proposal, item)

    def sync_members(self, proposal: Proposal, item: FeedProposal) -> None:
        current = dict(self.memberships[proposal.pk])
        for member in item.members:
            user = self.users[member.username]
            existing = current.pop(user.pk, None)
            if existing is not None and existing.role == member.role:
                continue
            # The service writes the membership and its audit entry.
            proposal_member_add(proposal=proposal, user=None, member=user, role=member.role)
            action = "create" if existing is None else "update"
            role = [existing.role if existing else None, member.role]
            self.change(action, "member", f"{user.username} in {proposal.name}", {"role": role})
        for membership in current.values():
            self.change(
                "delete",
                "member",
                f"{membership.user.username} in {proposal.name}",
                {"role": [membership.role, None]},
                membership,
                audit.snapshot(membership),
            )
            membership.delete()

    # Sessions --------------------------------------------------------------------------------------------

    def sync_sessions(self, proposal: Proposal, item: FeedProposal) -> None:
        existing = self.sessions
        for wanted in item.sessions:
            beamline = self.beamlines[wanted.beamline]
            contact = self.local_contact(wanted)
            session = existing.get(wanted.external_id)
            name = f"{wanted.external_id} ({proposal.name})"
            if session is None:
                session = Session.objects.create(
                    proposal=proposal,
                    beamline=beamline,
                    start=wanted.start,
                    end=wanted.end,
                    local_contact=contact,
                    external_id=wanted.external_id,
                )
                fields = {"beamline": [None, beamline.name], "start": [None, wanted.start], "end": [None, wanted.end]}
                if contact is not None:
                    fields["local_contact"] = [None, contact.username]
                self.change("create", "session", name, fields, session)
                continue
            self.update_session(session, wanted, proposal, beamline, contact, name)
        gone = [s for s in self.own_sessions[proposal.pk] if s.external_id not in self.feed_session_ids]
        for session in gone:
            name = f"{session.external_id} ({proposal.name})"
            used_by = references(session)
            if used_by:
                self.warnings.append(
                    f"session {name} is no longer in the feed but is kept: it has {', '.join(used_by)}"
                )
                continue
            fields = {"beamline": [session.beamline.name, None], "start": [session.start, None]}
            self.change("delete", "session", name, fields, session, audit.snapshot(session))
            session.delete()

    def update_session(self, session: Session, wanted: FeedSession, proposal, beamline, contact, name: str) -> None:
        before = audit.snapshot(session)
        fields = {}
        if session.proposal_id != proposal.pk:
            used_by = references(session)
            if used_by:
                self.errors.append(
                    FeedError(
                        wanted.line,
                        wanted.where,
                        "id",
                        f"session {wanted.external_id} belongs to {session.proposal.name} and has "
                        f"{', '.join(used_by)}: it cannot move to {proposal.name}",
                    )
                )
                return
            fields["proposal"] = [session.proposal.name, proposal.name]
            session.proposal = proposal
        if session.beamline_id != beamline.pk:
            fields["beamline"] = [session.beamline.name, beamline.name]
            session.beamline = beamline
        for attr in ("start", "end"):
            if getattr(session, attr) != getattr(wanted, attr):
                fields[attr] = [getattr(session, attr), getattr(wanted, attr)]
                setattr(session, attr, getattr(wanted, attr))
        if session.local_contact_id != (contact.pk if contact else None):
            old = session.local_contact.username if session.local_contact else None
            fields["local_contact"] = [old, contact.username if contact else None]
            session.local_contact = contact
        if fields:
            session.save()
            self.change("update", "session", name, fields, session, before)
