"""The endpoints of the ISPyB-compatible API (``reference/mxcube-contract.md``), as plain Django views.

Who sees what: a beamline's API token its own beamline only (another beamline is a 404, as if it did
not exist); beamline staff, local contacts and admins a whole sample changer; a proposal member their
own proposals' samples. Who writes is asked of ``lims.access``, as the pages and the native API ask it:
robot actions and sample statuses from the beamline's token, beamline staff, local contacts and admins;
anybody else who sees the object is refused (403).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from lims import access
from lims.api.errors import django_errors
from lims.logins import LockedOut, locked_out_json, password_login
from lims.models import Proposal, Session
from lims.selectors import beamline_visible_to, session_visible_to
from lims.services import session_create
from lims.tokens import login_tokens, personal_token_for_login, principal_for_key, refresh_tokens

from ..models import RobotAction, Sample
from ..selectors import robot_action_visible_to, sample_visible_to
from ..services import parse_sample_status, robot_action_complete, robot_action_create, sample_status_set
from . import selectors
from .http import (
    ApiError,
    body,
    endpoint,
    invalid,
    iso,
    not_found,
    one_of,
    parse_id,
    parse_reference,
    parse_timestamp,
    reply,
)

# Auth.


def _text(data: dict, key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


@endpoint(auth=False)
def login(request):
    """``{plugin, login, token}`` or ``{plugin, login, password}``: an API token's key, a person's personal
    token's key (the way for people who sign in with OpenID Connect, who have no password here), or a
    person's password.

    MXCuBE's client always sends the secret as ``token``: a secret that is neither a live API token's key nor
    ``login``'s live personal token is taken as the person's password. A password is counted by django-axes
    (``lims.logins``: 429 ``locked_out`` past the limit); a valid token logs in whatever the count."""
    data = body(request)
    login_name, token, password = _text(data, "login"), _text(data, "token"), _text(data, "password")
    personal = personal_token_for_login(token or password, login_name) if token or password else None
    if personal is not None:
        return reply(login_tokens(personal.user, personal.pk))
    principal = principal_for_key(token) if token else None
    if principal is None and login_name and (password or token):
        try:
            principal = password_login(request=request, username=login_name, password=password or token)
        except LockedOut:
            return locked_out_json()
    if principal is None:
        raise ApiError(401, "Wrong login and password, or an unknown or revoked token.", "authentication_failed")
    return reply(login_tokens(principal))


@endpoint
def current_user(request, principal):
    """The person logged in (a token: the person answerable for it), as ISPyB's ``user/current``."""
    return reply(selectors.person_item(principal))


@endpoint(auth=False)
def refresh(request):
    tokens = refresh_tokens(_text(body(request), "refreshToken"))
    if tokens is None:
        raise ApiError(401, "The refresh token is unknown, expired or revoked: log in again.", "authentication_failed")
    return reply(tokens)


# Proposals and sessions.


@endpoint
def proposal_list(request, principal):
    filtered = request.GET.get("search", "").strip() or "proposalId" in request.GET
    proposals = selectors.proposals_for(principal) if filtered else selectors.proposals_listed_for(principal)
    if request.GET.get("search", "").strip():
        proposals = proposals.filter(selectors.proposal_search(request.GET["search"]))
    if "proposalId" in request.GET:
        errors = {}
        proposal_id = parse_id(request.GET["proposalId"], "proposalId", errors)
        if errors:
            raise invalid(errors)
        proposals = proposals.filter(pk=proposal_id)
    return reply(selectors.proposal_items(proposals))


def _day_range(query, errors: dict) -> tuple[datetime, datetime] | None:
    """``year``, ``year&month`` or ``year&month&day`` as a span of local time; None when not given."""
    parts = {}
    for key in ("year", "month", "day"):
        if query.get(key):
            parts[key] = parse_id(query[key], key, errors)
    if not parts or errors:
        return None
    if "year" not in parts or ("day" in parts and "month" not in parts):
        errors["year"] = ["Give the year (and the month with a day)."]
        return None
    year, month, day = parts["year"], parts.get("month"), parts.get("day")
    try:
        first = datetime(year, month or 1, day or 1)
        if day:
            after = first + timedelta(days=1)
        elif month:
            after = datetime(year + month // 12, month % 12 + 1, 1)
        else:
            after = datetime(year + 1, 1, 1)
    except (ValueError, OverflowError):
        errors["day" if day else "month" if month else "year"] = ["No such date."]
        return None
    return timezone.make_aware(first), timezone.make_aware(after)


@endpoint
def session_list(request, principal):
    """Sessions visible to the principal, by proposal, beamline and the day (month, year) they run on."""
    query = request.GET
    sessions = session_visible_to(principal)
    if query.get("proposal"):
        sessions = sessions.filter(selectors.proposal_match(query["proposal"], "proposal__"))
    if query.get("beamLineName"):
        sessions = sessions.filter(beamline__name__iexact=query["beamLineName"].strip())
    errors = {}
    span = _day_range(query, errors)
    if errors:
        raise invalid(errors)
    if span:
        sessions = sessions.filter(start__lt=span[1], end__gt=span[0])
    return reply(selectors.session_items(sessions.order_by("start", "id")))


@endpoint
def session_detail(request, principal, pk: int):
    items = selectors.session_items(session_visible_to(principal).filter(pk=pk))
    if not items:
        raise not_found("No such session.")
    return reply(items[0])


@endpoint
def session_book(request, principal):
    """Book a session: ``{proposalId | proposal, beamLineName, startDate, endDate, comments}``. Beamline staff
    and admins, or a beamline's API token (for its own beamline); the proposal's members for a session
    starting today (MXCuBE books one at login when the proposal has none today).

    Idempotent for the same proposal, beamline and day: a session of theirs starting that day is answered
    (200) instead of a second one. A "Z" ending the dates is the facility's local time (``parse_timestamp``)."""
    data = body(request)
    errors = {}
    proposal = _booked_proposal(data, errors)
    beamline = _booked_beamline(principal, data, errors)
    start = parse_timestamp(data.get("startDate"), "startDate", errors, dates=True, zulu_is_local=True)
    end = parse_timestamp(data.get("endDate"), "endDate", errors, dates=True, zulu_is_local=True)
    for key, value in (("startDate", start), ("endDate", end)):
        if value is None and key not in errors:
            errors[key] = ["This field is required."]
    if start is not None and end is not None and end <= start:
        errors["endDate"] = ["A session must end after it starts."]
    if proposal is not None and beamline is not None:
        access.may_open_session_today.require(principal, proposal, beamline.pk)
    if errors:
        raise invalid(errors)
    day = timezone.localdate(start)
    if not access.may_book_session(principal, beamline.pk) and day != timezone.localdate():
        raise invalid({"startDate": ["Members open a session for today only; ask the beamline staff for beamtime."]})
    same_day = session_visible_to(principal).filter(
        proposal=proposal, beamline=beamline, start__gte=_midnight(day), start__lt=_midnight(day + timedelta(days=1))
    )
    existing = same_day.order_by("start", "pk").values_list("pk", flat=True).first()
    if existing is not None:
        return reply(selectors.session_items(session_visible_to(principal).filter(pk=existing))[0])
    try:
        session = session_create(
            proposal=proposal, beamline=beamline, start=start, end=end, by=principal, comments=_text(data, "comments")
        )
    except ValidationError as exc:  # the model's field names, as this API spells them
        names = {"start": "startDate", "end": "endDate", "proposal": "proposalId", "beamline": "beamLineName"}
        raise invalid({names.get(key, key): value for key, value in django_errors(exc).items()}) from None
    return reply(selectors.session_items(Session.objects.filter(pk=session.pk))[0], status=201)


def _midnight(day) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day))


def _booked_proposal(data: dict, errors: dict):
    proposal = None
    proposal_id = parse_id(data.get("proposalId"), "proposalId", errors)
    if proposal_id is not None:
        proposal = Proposal.objects.filter(pk=proposal_id).first()
        if proposal is None:
            errors["proposalId"] = ["No such proposal."]
    elif _text(data, "proposal"):
        proposal = Proposal.objects.filter(selectors.proposal_match(data["proposal"])).first()
        if proposal is None:
            errors["proposal"] = ["No such proposal."]
    elif "proposalId" not in errors:
        errors["proposalId"] = ["Give the proposal (proposalId, or proposal such as MX2345)."]
    return proposal


def _booked_beamline(principal, data: dict, errors: dict):
    machine = access.is_machine(principal)
    name = _text(data, "beamLineName").strip()
    if not name and machine:
        name = principal.beamline.name
    if not name:
        errors["beamLineName"] = ["Give the beamline."]
        return None
    beamline = beamline_visible_to(principal).filter(name__iexact=name).first()
    if beamline is None:
        if machine:
            raise not_found("No such beamline.")  # another beamline's: not this token's to see
        errors["beamLineName"] = ["No such beamline."]
    return beamline


# Samples.


def _beamline_id(principal, name: str) -> int:
    """The beamline named ``name`` (case-insensitive) if the principal may address it, else 404.
    An API token knows its beamline already: no query."""
    if getattr(principal, "is_machine", False):
        beamline = principal.beamline
        if beamline.active and beamline.name.lower() == name.lower():
            return beamline.pk
        raise not_found("No such beamline.")
    beamline_id = one_of(beamline_visible_to(principal).filter(name__iexact=name).values_list("pk", flat=True))
    if beamline_id is None:
        raise not_found("No such beamline.")
    return beamline_id


@endpoint
def sample_list(request, principal):
    """The samples in a sample changer: ``?beamLineName=BL[&proposal=CODE]``, or ``?sessionId=`` (the
    session's beamline, its proposal's pucks). A bare list, as beamline control reads it."""
    query = request.GET
    errors = {}
    if query.get("sessionId"):
        session_id = parse_id(query["sessionId"], "sessionId", errors)
        if errors:
            raise invalid(errors)
        session = one_of(session_visible_to(principal).filter(pk=session_id).values_list("beamline_id", "proposal_id"))
        if session is None:
            raise not_found("No such session.")
        return reply(selectors.changer_samples(beamline_id=session[0], proposal_id=session[1]))
    name = query.get("beamLineName", "").strip()
    if not name:
        raise invalid({"beamLineName": ["Give the beamline (beamLineName) or the session (sessionId)."]})
    beamline_id = _beamline_id(principal, name)
    member = None
    if not access.may_see_changer(principal, beamline_id):
        member = principal
    items = selectors.changer_samples(
        beamline_id=beamline_id, proposal_name=query.get("proposal") or None, member=member
    )
    return reply(items)


def _visible_sample_id(principal, pk: int) -> int:
    sample_id = one_of(sample_visible_to(principal).filter(pk=pk).values_list("pk", flat=True))
    if sample_id is None:
        raise not_found("No such sample.")
    return sample_id


@endpoint
def sample_detail(request, principal, pk: int):
    return reply(selectors.sample_item(_visible_sample_id(principal, pk)))


@endpoint
def sample_update(request, principal, pk: int):
    """``{blSampleStatus: "LOADED" | "ERROR - sample" | ..., lastKnownCentringPosition: ...}``."""
    sample_id = _visible_sample_id(principal, pk)  # what the principal does not see is a 404 first
    access.may_set_sample_status.require(principal)
    data = body(request)
    status = detail = None
    raw_status = data.get("blSampleStatus")
    if raw_status is not None:
        if not isinstance(raw_status, str):
            raise invalid({"blSampleStatus": ["Give the status as text, e.g. LOADED."]})
        status, detail = parse_sample_status(raw_status), raw_status
    sample_status_set(
        sample=_sample_ref(sample_id),
        by=principal,
        status=status,
        detail=detail or "",
        centring_position=data.get("lastKnownCentringPosition"),
    )
    return reply(selectors.sample_item(sample_id))


def _sample_ref(pk: int):
    """A sample known only by its id: services that lock or link it need nothing else."""
    return Sample(pk=pk)


# Robot actions.


@endpoint
def robot_action_report(request, principal):
    """What the robot did. The sample may be unknown (null, -1, an id nobody has): stored all the same,
    unlinked, linked by its pin barcode when that names a sample the principal sees."""
    access.may_report_robot_action.require(principal)
    data = body(request)
    errors = {}
    session_id = parse_id(data.get("sessionId"), "sessionId", errors)
    started_at = parse_timestamp(data.get("startTimestamp"), "startTimestamp", errors)
    ended_at = parse_timestamp(data.get("endTimestamp"), "endTimestamp", errors)
    if errors:
        raise invalid(errors)
    reference = parse_reference(data.get("blSampleId"))
    barcode = data.get("sampleBarcode")
    barcode = str(barcode).strip() if barcode is not None else ""
    # The lookups are point reads outside a transaction; the INSERT is the service's own transaction.
    # Wrapping them all in one would add a BEGIN and a SAVEPOINT/RELEASE pair (robot_action_create is
    # atomic itself) and guard nothing: no row is locked, and the foreign keys keep the INSERT honest.
    found_session, sample_id = selectors.report_targets(
        principal,
        session=session_id,
        sample=reference if reference is not None and reference > 0 else None,
        pin_code=barcode or None,
    )
    if session_id is not None and found_session is None:
        raise not_found("No such session.")
    session = Session(pk=found_session[0], beamline_id=found_session[1]) if found_session else None
    action = robot_action_create(
        by=principal,
        action_type=data.get("actionType"),
        session=session,
        sample=_sample_ref(sample_id) if sample_id is not None else None,
        sample_reference=reference,
        status=data.get("status") or "",
        started_at=started_at,
        ended_at=ended_at,
        container_location=_plain(data.get("containerLocation")),
        dewar_location=_plain(data.get("dewarLocation")),
        sample_barcode=barcode,
        message=_plain(data.get("message")),
        snapshot_before=_plain(data.get("xtalSnapshotBefore")),
        snapshot_after=_plain(data.get("xtalSnapshotAfter")),
    )
    # py-ispyb's client takes the answer's ``results`` as the action's id (see data_views' docstring).
    return reply({"robotActionId": action.pk, "results": action.pk}, status=201)


def _plain(value) -> str:
    return "" if value is None else str(value)


def _robot_action_item(action: RobotAction) -> dict:
    return {
        "robotActionId": action.pk,
        "actionType": action.action_type,
        "status": action.status or None,
        "blSampleId": action.sample_id if action.sample_id is not None else action.sample_reference,
        "sessionId": action.session_id,
        "startTimestamp": iso(action.started_at),
        "endTimestamp": iso(action.ended_at),
        "containerLocation": action.container_location or None,
        "dewarLocation": action.dewar_location or None,
        "sampleBarcode": action.sample_barcode or None,
        "message": action.message or None,
        "xtalSnapshotBefore": action.snapshot_before or None,
        "xtalSnapshotAfter": action.snapshot_after or None,
    }


@endpoint
def robot_action_update(request, principal, pk: int):
    """Complete an action: ``{endTimestamp, status, message}`` (the end time defaults to now)."""
    action = one_of(robot_action_visible_to(principal).select_related(None).filter(pk=pk))
    if action is None:
        raise not_found("No such robot action.")
    access.may_report_robot_action.require(principal, action.beamline_id)
    data = body(request)
    errors = {}
    ended_at = parse_timestamp(data.get("endTimestamp"), "endTimestamp", errors)
    if errors:
        raise invalid(errors)
    message = data.get("message")
    action = robot_action_complete(
        action=action,
        by=principal,
        status=data.get("status") or "",
        ended_at=ended_at,
        message=None if message is None else str(message),
    )
    return reply(_robot_action_item(action))
