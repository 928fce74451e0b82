"""Who may see and do what: the read scoping of every queryset, and one rule per write action.

Reading. Every queryset of a proposal's objects is scoped through ``scope()``. Users see what belongs to the
proposals they are members of; facility staff (the Django groups of ``FacilityRole``, and superusers) see every
proposal. Another proposal's object is then simply not in the queryset, so views answer 404 and never confirm
that it exists.

Writing. One rule per write action (``may_*``), asked by every surface that offers the action.

The pages, the native API (/api/v1/) and the ISPyB-compatible API (/ispyb/api/v1/) each call the rule of
the action they offer, so the same write gets the same answer whichever way it comes in. A rule is keyed
on the facility roles (``lims.access.facility_roles``) and on the principal: a person, or a beamline's API
token (``lims.tokens.TokenPrincipal``, ``is_machine``), which acts on its own beamline only.

Rules answer "may this principal do this kind of thing"; what the principal may *see* is the scoped
selectors' business, and runs first: another proposal's (or another beamline's) object is a 404 before
any rule is asked, and a rule's refusal is a 403 (``require`` raises Django's ``PermissionDenied``,
which every surface turns into its own 403).

Who, in short (the README says the same):

    register, edit, send, cancel a shipment; lab contacts   its proposal's members, facility staff
    correct a shipment after it was sent                    facility staff
    scan and move dewars; print location labels            stores, beamline staff, admins
    see a whole sample changer                              beamline staff, local contacts, admins, the token
    assign / unassign pucks, unload a session               beamline staff, admins, the beamline's token
    report robot actions, sample statuses and centring     beamline staff, local contacts, admins, the token
    book a session                                          beamline staff, admins, the beamline's token
    ingest collections and results                          beamline staff, admins, a beamline's token
    flag, tag, move, comment collections                    members (their own), facility staff; no token
    work the mail-in queue, complete and re-issue reports   mail-in operators, admins

No import of another app here: the core ``lims`` app knows roles and principals, not shipments or pucks.
"""

import functools
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from .choices import FacilityRole, ProposalKind
from .compiled import CompiledQuery

STAFF_ROLES = frozenset(FacilityRole.values)


def _roles_of(user):
    from django.contrib.auth import get_user_model

    memberships = get_user_model().groups.through.objects
    return memberships.filter(user_id=user, group__name__in=sorted(STAFF_ROLES)).values_list("group__name")


# Read on every request of facility staff (a scan checks its scanner's roles): compiled once per process.
_ROLES = CompiledQuery(_roles_of)


def facility_roles(user) -> frozenset[str]:
    """The facility roles (group names) a user holds; cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_facility_roles", None)
    if cached is None:
        names = {name for (name,) in _ROLES.rows(user=user.pk)}
        if user.is_superuser:
            names.add(FacilityRole.ADMIN)
        cached = frozenset(names)
        user._facility_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(facility_roles(user) & set(roles))


def is_facility_staff(user) -> bool:
    """Any facility role: sees every proposal's shipments and may correct them after sending."""
    return bool(facility_roles(user))


def is_admin(user) -> bool:
    return has_role(user, FacilityRole.ADMIN)


def member_proposal_ids(user) -> QuerySet:
    """The ids of the proposals the user is a member of, as a subquery."""
    from .models import ProposalMember

    return ProposalMember.objects.filter(user=user).values("proposal_id")


def scope(queryset: QuerySet, user, proposal_path: str) -> QuerySet:
    """Restrict ``queryset`` to what ``user`` may see; ``proposal_path`` leads from the model to Proposal.

    ``proposal_path`` is a lookup path such as ``"shipment__proposal"`` (or ``""`` for Proposal itself).
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if getattr(user, "is_machine", False):
        # An API token sees only what its beamline's selectors grant (lims.tokens), never a proposal's all.
        return queryset.none()
    if is_facility_staff(user):
        return queryset
    field = f"{proposal_path}__id__in" if proposal_path else "id__in"
    return queryset.filter(**{field: member_proposal_ids(user)})


def sees_confidential(user) -> bool:
    """Admins and mail-in operators see industrial proposals' data; no other role and no token does."""
    if getattr(user, "is_machine", False):
        return False
    return has_role(user, FacilityRole.ADMIN, FacilityRole.MAILIN_OPERATOR)


def scope_confidential(queryset: QuerySet, user, proposal_path: str) -> QuerySet:
    """``scope()`` for a proposal's DATA (collections, groups, result reports): industrial proposals' are
    confidential, visible only to their members, mail-in operators and admins.

    Members see their proposals' (industrial or not); admins and mail-in operators every proposal's; other
    facility staff (stores, beamline staff, local contacts) every proposal's but the industrial ones; an API
    token nothing of an industrial proposal (what else it sees is its selector's business: this only
    excludes, so a beamline selector keeps its beamline filter).
    """
    kind = f"{proposal_path}__kind" if proposal_path else "kind"
    if getattr(user, "is_machine", False):
        if not getattr(user, "is_active", False):
            return queryset.none()
        return queryset.exclude(**{kind: ProposalKind.INDUSTRIAL})
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if sees_confidential(user):
        return queryset
    if is_facility_staff(user):
        field = f"{proposal_path}__id__in" if proposal_path else "id__in"
        # Staff without the confidential roles: every academic proposal's, and their own industrial ones.
        return queryset.exclude(Q(**{kind: ProposalKind.INDUSTRIAL}) & ~Q(**{field: member_proposal_ids(user)}))
    field = f"{proposal_path}__id__in" if proposal_path else "id__in"
    return queryset.filter(**{field: member_proposal_ids(user)})


def is_member(user, proposal) -> bool:
    if not getattr(user, "is_authenticated", False) or getattr(user, "is_machine", False):
        return False
    return proposal.memberships.filter(user=user).exists()


# --- write rules ----------------------------------------------------------------------------------------------

SCANNERS = (FacilityRole.STORES, FacilityRole.BEAMLINE_STAFF, FacilityRole.ADMIN)
CHANGER_VIEWERS = (FacilityRole.BEAMLINE_STAFF, FacilityRole.LOCAL_CONTACT, FacilityRole.ADMIN)
CHANGER_FILLERS = (FacilityRole.BEAMLINE_STAFF, FacilityRole.ADMIN)
OPERATORS = (FacilityRole.BEAMLINE_STAFF, FacilityRole.LOCAL_CONTACT, FacilityRole.ADMIN)
INGESTERS = (FacilityRole.BEAMLINE_STAFF, FacilityRole.ADMIN)
MAILIN_OPERATORS = (FacilityRole.MAILIN_OPERATOR, FacilityRole.ADMIN)


def is_machine(principal) -> bool:
    """A beamline's API token rather than a person."""
    return getattr(principal, "is_machine", False)


def _token_on(principal, beamline_id: int | None) -> bool:
    """A token acts on its own beamline; ``beamline_id`` None: on whatever the service resolves for it
    (always its own: the services take a token's beamline from the token)."""
    return beamline_id is None or getattr(principal, "beamline_id", None) == beamline_id


def rule(refusal: str) -> Callable:
    """Mark a ``may_*`` function as a rule: ``may_x.require(...)`` raises ``PermissionDenied(refusal)``
    when ``may_x(...)`` is false; ``may_x.refusal`` is the words every surface says."""

    def decorate(check: Callable[..., bool]) -> Callable[..., bool]:
        @functools.wraps(check)
        def require(*args, **kwargs) -> None:
            if not check(*args, **kwargs):
                raise PermissionDenied(refusal)

        check.refusal = refusal
        check.require = require
        return check

    return decorate


# --- proposals and shipments --------------------------------------------------------------------------------


@rule("Only the proposal's members and facility staff write for a proposal.")
def may_write_proposal(principal, proposal) -> bool:
    """Register, edit, send or cancel a shipment, import a sample sheet, write lab contacts: the proposal's
    members and facility staff (any role). No API token: machines have no proposal."""
    if is_machine(principal):
        return False
    return is_facility_staff(principal) or is_member(principal, proposal)


@rule("The shipment has been sent; ask the facility staff to correct it.")
def may_correct_sent_shipment(principal) -> bool:
    """Change a shipment after it was sent (and before it is closed or cancelled): facility staff only."""
    return not is_machine(principal) and is_facility_staff(principal)


# --- dewars: the scan station --------------------------------------------------------------------------------


@rule("Scanning dewars is for stores staff, beamline staff and admins.")
def may_scan(principal) -> bool:
    """Receive, move, dispatch dewars and note incidents (the scan station and ``/api/v1/scans/``): stores,
    beamline staff and admins. No API token."""
    return not is_machine(principal) and has_role(principal, *SCANNERS)


@rule("Location barcode sheets are for stores and beamline staff.")
def may_print_location_labels(principal) -> bool:
    """Print the barcode sheets of locations and changer positions: who runs the scan station and fills the
    changers (stores, beamline staff, admins)."""
    return not is_machine(principal) and has_role(principal, *SCANNERS)


# --- the sample changer ----------------------------------------------------------------------------------------


@rule("The sample changer's contents are for beamline staff and local contacts.")
def may_see_changer(principal, beamline_id: int | None = None) -> bool:
    """The whole contents of a sample changer (every proposal's pucks): beamline staff, local contacts,
    admins, and the beamline's own API token. Members see their own samples' positions only."""
    if is_machine(principal):
        return _token_on(principal, beamline_id)
    return has_role(principal, *CHANGER_VIEWERS)


@rule("Filling and emptying sample changers is for beamline staff, admins and the beamline's API token.")
def may_fill_changer(principal, beamline_id: int | None = None) -> bool:
    """Assign a puck to a changer position, take it out, unload a session's pucks: beamline staff and admins
    on any beamline, a beamline's API token on its own (``beamline_id`` None: on some beamline)."""
    if is_machine(principal):
        return _token_on(principal, beamline_id)
    return has_role(principal, *CHANGER_FILLERS)


@rule("Robot actions are reported by beamline control, beamline staff and local contacts.")
def may_report_robot_action(principal, beamline_id: int | None = None) -> bool:
    """Report a robot action and complete it: beamline staff, local contacts and admins on any beamline; a
    beamline's API token on its own. Not stores, not mail-in operators, not members."""
    if is_machine(principal):
        return _token_on(principal, beamline_id)
    return has_role(principal, *OPERATORS)


@rule("Sample statuses are reported by beamline control, beamline staff and local contacts.")
def may_set_sample_status(principal, beamline_id: int | None = None) -> bool:
    """Set a sample's status (loaded, centred, collected, error...) and its centring position: the same
    people as robot actions (beamline staff, local contacts, admins, the beamline's API token)."""
    return may_report_robot_action(principal, beamline_id)


@rule("Only beamline staff, admins and beamline control book sessions.")
def may_book_session(principal, beamline_id: int | None = None) -> bool:
    """Book a session (beamtime) on a beamline: beamline staff and admins, a beamline's API token on its own."""
    if is_machine(principal):
        return _token_on(principal, beamline_id)
    return has_role(principal, *CHANGER_FILLERS)


@rule("Only the proposal's members, beamline staff, admins and beamline control open a session for it.")
def may_open_session_today(principal, proposal, beamline_id: int | None = None) -> bool:
    """Open today's session for ``proposal`` from beamline control (MXCuBE books one at login when the
    proposal has none today): whoever may book sessions, and the proposal's own members, for today only
    (the caller checks the day)."""
    if may_book_session(principal, beamline_id):
        return True
    return not is_machine(principal) and is_member(principal, proposal)


# --- data ----------------------------------------------------------------------------------------------------


@rule("Only beamline pipelines, beamline staff and admins write data.")
def may_ingest(principal) -> bool:
    """Ingest data collections, screening and processing results: a beamline's API token (its own
    beamline's data: the ingest services see to it), beamline staff and admins."""
    return is_machine(principal) or has_role(principal, *INGESTERS)


@rule("Collections are flagged, tagged and moved by people, not API tokens.")
def may_annotate_collections(principal) -> bool:
    """Flag, tag, move or comment collections: any signed-in person, on the collections they may change
    (their proposals', or every one for facility staff: ``samples.data.actions.editable_by``). No token."""
    return getattr(principal, "is_authenticated", False) and not is_machine(principal)


# --- mail-in ---------------------------------------------------------------------------------------------------


@rule("The mail-in queue is for mail-in operators and admins.")
def may_operate_mailin(principal) -> bool:
    """Work the mail-in queue (set a sample's mail-in state), complete a shipment's work, re-issue its
    report: mail-in operators and admins; nobody else, and no API token."""
    return not is_machine(principal) and has_role(principal, *MAILIN_OPERATORS)
