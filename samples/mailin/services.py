"""The mail-in operator's writes.

sample_mailin_state_set(*, sample, user, state, reason="", notes=None) -> Sample
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from lims import access, audit
from lims.choices import AuditAction
from samples.choices import MailinState
from samples.models import Sample

NEEDS_REASON = frozenset({MailinState.SKIPPED, MailinState.FAILED})


@transaction.atomic
def sample_mailin_state_set(*, sample: Sample, user, state: str, reason: str = "", notes: str | None = None) -> Sample:
    """Set where the operator is with a mail-in sample; "skipped" and "failed" need a reason.

    ``notes`` None leaves the operator notes as they are. The reason is kept only for the states that take
    one. Audited as a transition, with the fields before and after.
    """
    access.may_operate_mailin.require(user)
    if state not in MailinState.values:
        raise ValidationError({"state": f"Unknown state {state!r}."})
    reason = (reason or "").strip()
    errors = {}
    if state in NEEDS_REASON and not reason:
        errors["reason"] = f"Say why the sample is {MailinState(state).label.lower()}."
    if len(reason) > 255:
        errors["reason"] = "At most 255 characters."
    if errors:
        raise ValidationError(errors)
    sample = Sample.objects.select_for_update().get(pk=sample.pk)
    before = audit.snapshot(sample)
    sample.mailin_state = state
    sample.mailin_state_reason = reason if state in NEEDS_REASON else ""
    if notes is not None:
        sample.mailin_notes = notes.strip()
    sample.save(update_fields=["mailin_state", "mailin_state_reason", "mailin_notes"])
    audit.record(
        user=user,
        action=AuditAction.TRANSITION,
        obj=sample,
        before=before,
        after=audit.snapshot(sample),
        message=f"Mail-in state: {MailinState(state).label}",
    )
    return sample
