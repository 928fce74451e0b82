"""Writes of the ISPyB-compatible API that have no service in the core yet.

session_create(*, proposal, beamline, start, end, by, comments="") -> Session
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from lims import audit
from lims.choices import AuditAction
from lims.models import Beamline, Proposal, Session
from lims.tokens import actor


@transaction.atomic
def session_create(
    *, proposal: Proposal, beamline: Beamline, start: datetime, end: datetime, by, comments: str = ""
) -> Session:
    """A beamtime for ``proposal`` on ``beamline``, as beamline control books it (validated, audited).
    Who may book is the caller's check (beamline staff, admins, the beamline's own API token)."""
    session = Session(proposal=proposal, beamline=beamline, start=start, end=end, comments=comments)
    session.full_clean()
    session.save()
    audit.record(user=actor(by)["user"], action=AuditAction.CREATE, obj=session, message=f"Session booked by {by}")
    return session
