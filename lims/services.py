"""Writes of the core domain: lab contact cards, proposal membership, sessions."""

from django.core.exceptions import ValidationError
from django.db import transaction

from . import audit
from .choices import AuditAction, MemberRole
from .models import LabContact, Proposal, ProposalMember, Session

LAB_CONTACT_FIELDS = (
    "card_name",
    "name",
    "telephone",
    "fax",
    "email",
    "lab_name",
    "address",
    "default_courier",
    "courier_account",
    "billing_reference",
    "default_customs_value",
    "default_transport_value",
)


def _save_contact(contact: LabContact, data: dict, user, before) -> LabContact:
    for name in LAB_CONTACT_FIELDS:
        if name in data:
            value = data[name]
            setattr(contact, name, value.strip() if isinstance(value, str) else value)
    contact.full_clean(exclude=["proposal"], validate_constraints=False, validate_unique=False)
    duplicate = LabContact.objects.filter(proposal=contact.proposal, card_name=contact.card_name)
    if duplicate.exclude(pk=contact.pk).exists():
        raise ValidationError({"card_name": f"The proposal already has a card called {contact.card_name}."})
    contact.save()
    action = AuditAction.CREATE if before is None else AuditAction.UPDATE
    audit.record(user=user, action=action, obj=contact, before=before)
    return contact


@transaction.atomic
def lab_contact_create(*, proposal: Proposal, user, data: dict) -> LabContact:
    """Add a reusable lab contact card to ``proposal``."""
    return _save_contact(LabContact(proposal=proposal), data, user, None)


@transaction.atomic
def lab_contact_update(*, contact: LabContact, user, data: dict) -> LabContact:
    """Change a lab contact card; shipments that use it see the change."""
    contact = LabContact.objects.select_for_update().get(pk=contact.pk)
    return _save_contact(contact, data, user, audit.snapshot(contact))


@transaction.atomic
def proposal_member_add(*, proposal: Proposal, user, member, role: str = MemberRole.MEMBER) -> ProposalMember:
    """Make ``member`` a member of ``proposal`` (or change their role)."""
    membership, created = ProposalMember.objects.get_or_create(proposal=proposal, user=member, defaults={"role": role})
    before = None if created else audit.snapshot(membership)
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    audit.record(user=user, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=membership, before=before)
    return membership


@transaction.atomic
def session_create(*, proposal: Proposal, beamline, start, end, by, comments: str = "") -> Session:
    """A beamtime for ``proposal`` on ``beamline`` (validated, audited). Who may book is the caller's check
    (beamline staff, admins, the beamline's own API token, as the ISPyB-compatible API allows)."""
    from .tokens import actor

    session = Session(proposal=proposal, beamline=beamline, start=start, end=end, comments=comments)
    session.full_clean()
    session.save()
    audit.record(user=actor(by)["user"], action=AuditAction.CREATE, obj=session, message=f"Session booked by {by}")
    return session
