"""Beamline pages: the list of beamlines, a sample changer's picture and assignment form, a session's
samples by position, and a sample's page with its journey.

Who sees what:
- the beamline list and the changer pages show every proposal's pucks: beamline staff, local contacts
  and admins (``lims.access.may_see_changer``); anybody else signed in gets a 403 page that says so
  (a beamline is a facility fact, not a proposal's object, so the 403 confirms nothing). An unknown
  beamline is a 404.
- filling and emptying a changer: ``lims.access.may_fill_changer`` (beamline staff, admins).
- a session and a sample: members of the proposal and facility staff; another proposal's is a 404.

Every write is a POST that calls one service and redirects (post/redirect/get); a refusal re-renders the
form with the message beside its field, and nothing is written.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from lims import access
from lims.errors import DomainError
from lims.models import Beamline
from lims.selectors import beamline_visible_to, session_visible_to
from samples import selectors
from samples.data.plots import session_collections
from samples.models import CRYSTAL_FIELDS, DIFFRACTION_PLAN_FIELDS, Container, Sample
from samples.services import container_assign, container_unassign, session_unload

from .forms import TYPE_LABELS, AssignForm

# Which field a refusal of container_assign belongs beside; any other goes above the form.
REFUSAL_FIELDS = {
    "dewar_not_at_facility": "puck",
    "other_beamline_session": "puck",
    "container_gone": "puck",
    "wrong_container_type": "position",
}
FORBIDDEN = "The sample changers are for beamline staff, local contacts and admins."


def _forbidden(request):
    return render(request, "forbidden.html", {"reason": FORBIDDEN}, status=403)


def _sees_changers(user) -> bool:
    """Whether a person may see sample changers at all: for people the rule does not depend on the
    beamline (it does for API tokens, which never reach these pages)."""
    return access.may_see_changer(user)


def _accepts(types: list[str]) -> str:
    return ", ".join(TYPE_LABELS.get(t, t) for t in types) or "nothing"


def _picture(beamline: Beamline, slots: list[dict]) -> list[dict]:
    """The changer's positions grouped as the changer groups them: cells of ``positions_per_cell`` pucks
    (FlexHCD-type changers), else one group of every position."""
    for slot in slots:
        slot["accepts_label"] = _accepts(slot["accepts"])
        container = slot["container"]
        slot["url"] = reverse("samples:container", args=[container.pk]) if container else ""
    size = beamline.positions_per_cell
    if not size:
        return [{"cell": None, "slots": slots}]
    return [{"cell": i // size + 1, "slots": slots[i : i + size]} for i in range(0, len(slots), size)]


@login_required
def beamline_list(request):
    """The active beamlines whose changers the user may see, with how many positions are filled."""
    if not _sees_changers(request.user):
        return _forbidden(request)
    beamlines = beamline_visible_to(request.user).annotate(filled=Count("containers"))
    return render(request, "samples/beamline/beamline_list.html", {"beamlines": beamlines})


def _render_changer(request, beamline: Beamline, form: AssignForm | None = None, *, slots=None, status=200):
    slots = slots if slots is not None else selectors.changer_contents(beamline)
    can_assign = access.may_fill_changer(request.user, beamline.pk)
    if can_assign and form is None:
        chosen = request.GET.get("position", "")
        form = AssignForm(
            beamline=beamline,
            containers=selectors.container_visible_to(request.user),
            slots=slots,
            initial={"slot": int(chosen)} if chosen.isdigit() else None,
        )
    refused = ""
    if form is not None and form.is_bound and form.errors and not form.wants_position_only:
        # A refusal: the messages stay beside their fields, the scans are cleared (the next code scanned must
        # not be glued onto the refused one) and the next scan goes to the puck, as for a new assignment.
        refused = " → ".join(v for v in (form.data.get("puck", "").strip(), form.data.get("position", "").strip()) if v)
        form.data = form.data.copy()
        for name in ("puck", "position", "slot"):
            form.data[name] = ""
    if form is not None:
        # The scanner types where the focus is: the position after a puck alone, else the puck.
        form.fields["position" if form.is_bound and form.wants_position_only else "puck"].widget.attrs["autofocus"] = (
            True
        )
    placed = request.GET.get("placed", "")
    return render(
        request,
        "samples/beamline/changer.html",
        {
            "beamline": beamline,
            "groups": _picture(beamline, slots),
            "filled": sum(1 for s in slots if s["container"]),
            "can_assign": can_assign,
            "form": form,
            "refused": refused,
            "placed": int(placed) if placed.isdigit() else None,
        },
        status=status,
    )


@login_required
def changer(request, name: str):
    """The sample changer drawn position by position, and (for who may fill it) the assignment form."""
    beamline = get_object_or_404(beamline_visible_to(request.user), name=name)
    if not access.may_see_changer(request.user, beamline.pk):
        return _forbidden(request)
    return _render_changer(request, beamline)


@login_required
@require_POST
def assign(request, name: str):
    """Put the scanned puck into the scanned (or chosen) position. A puck alone asks for the position."""
    beamline = get_object_or_404(beamline_visible_to(request.user), name=name)
    if not access.may_fill_changer(request.user, beamline.pk):
        return _forbidden(request)
    slots = selectors.changer_contents(beamline)
    form = AssignForm(
        request.POST, beamline=beamline, containers=selectors.container_visible_to(request.user), slots=slots
    )
    if form.is_valid():
        try:
            result = container_assign(
                container=form.cleaned_data["container"],
                beamline=beamline,
                position=form.cleaned_data["position"],
                user=request.user,
            )
        except DomainError as exc:
            form.add_error(REFUSAL_FIELDS.get(exc.code), exc.message)
        except DjangoValidationError as exc:
            for field, errors in exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]:
                form.add_error(field if field in form.fields else None, errors)
        else:
            (messages.success if result.changed else messages.info)(request, result.message)
            url = reverse("beamline:changer", args=[beamline.name])
            return redirect(f"{url}?placed={result.container.changer_position}#changer")
    # The scanner's first half (a puck, no position yet) is not a mistake: 200, the form asks for the rest.
    return _render_changer(request, beamline, form, slots=slots, status=200 if form.wants_position_only else 400)


@login_required
@require_POST
def unload(request, name: str):
    """Take one puck out of the changer (the puck of the button, not whatever is in its position now)."""
    beamline = get_object_or_404(beamline_visible_to(request.user), name=name)
    if not access.may_fill_changer(request.user, beamline.pk):
        return _forbidden(request)
    container_id = request.POST.get("container", "")
    container = Container.objects.filter(pk=container_id, beamline=beamline).first() if container_id.isdigit() else None
    if container is None:
        messages.info(request, f"That puck is no longer in {beamline}'s sample changer.")
    else:
        where = beamline.position_code(container.changer_position)
        container_unassign(container=container, user=request.user)
        messages.success(request, f"{container.barcode or container.name} was taken out of {where}.")
    return redirect(f"{reverse('beamline:changer', args=[beamline.name])}#changer")


def _session_pucks(session):
    """The pucks of the session's proposal in the session's beamline's changer, by position, with their
    samples by pin position. (A candidate for samples.selectors.)"""
    return (
        Container.objects.filter(beamline_id=session.beamline_id, shipment__proposal_id=session.proposal_id)
        .select_related("dewar")
        .prefetch_related(Prefetch("samples", queryset=Sample.objects.select_related("protein").order_by("position")))
        .order_by("changer_position")
    )


@login_required
def session_detail(request, pk: int):
    """A session: its proposal, beamline, dates and local contact, and its samples by changer position."""
    session = get_object_or_404(session_visible_to(request.user), pk=pk)
    over = session.end < timezone.now()
    if over:
        # A past session: what was loaded during it, from the pucks' history, not today's changer.
        pucks = selectors.session_loaded(session)
    else:
        pucks = list(_session_pucks(session))
        for puck in pucks:
            puck.code = session.beamline.position_code(puck.changer_position)
    return render(
        request,
        "samples/beamline/session_detail.html",
        {
            "session": session,
            "data": session_collections(session, request.user),
            "pucks": pucks,
            "over": over,
            "can_unload": not over and access.may_fill_changer(request.user, session.beamline_id),
            "can_see_changer": access.may_see_changer(request.user, session.beamline_id),
        },
    )


@login_required
def session_unload_page(request, pk: int):
    """Unload everything of a session: GET asks for confirmation (what will be taken out), POST does it."""
    session = get_object_or_404(session_visible_to(request.user), pk=pk)
    if not access.may_fill_changer(request.user, session.beamline_id):
        return render(
            request,
            "forbidden.html",
            {"reason": "Only beamline staff and admins empty a sample changer."},
            status=403,
        )
    if session.end < timezone.now() or request.method == "POST":
        try:
            taken = session_unload(session=session, user=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("beamline:session", pk=session.pk)
        if taken:
            names = ", ".join(c.barcode or c.name for c in taken)
            messages.success(
                request, f"{len(taken)} puck{'s' if len(taken) != 1 else ''} taken out of {session.beamline}: {names}."
            )
        else:
            messages.info(request, f"Nothing of this session was in {session.beamline}'s sample changer.")
        return redirect("beamline:session", pk=session.pk)
    pucks = list(_session_pucks(session))
    for puck in pucks:
        puck.code = session.beamline.position_code(puck.changer_position)
    return render(request, "samples/beamline/session_unload.html", {"session": session, "pucks": pucks})


def _described(sample: Sample, names: tuple[str, ...]) -> list[tuple[str, object]]:
    """(label, value) of each field, as the model names it; choices by their label, blanks as None."""
    rows = []
    for name in names:
        field = Sample._meta.get_field(name)
        value = getattr(sample, f"get_{name}_display")() if field.choices else getattr(sample, name)
        rows.append((field.verbose_name[:1].upper() + field.verbose_name[1:], None if value in ("", None) else value))
    return rows


@login_required
def sample_detail(request, pk: int):
    """A sample: its crystal and diffraction plan, where its puck is now, its journey so far, its data
    collections with their best screening and processing results, and the energy scans and fluorescence
    spectra the beamline measured on it (six queries, however many)."""
    sample = get_object_or_404(
        selectors.sample_visible_to(request.user).select_related(
            "container__beamline", "container__dewar__location", "container__shipment"
        ),
        pk=pk,
    )
    container = sample.container
    journey = selectors.sample_journey(sample)
    from samples.data.catalogue import sample_collections  # the data pages' read; imported where it is used

    collections, collections_total = sample_collections(request.user, sample)
    from samples.data.models import EnergyScan, XrfSpectrum
    from samples.data.records import record_visible_to

    energy_scans = list(record_visible_to(EnergyScan, request.user).filter(sample=sample).select_related("beamline"))
    xrf_spectra = list(record_visible_to(XrfSpectrum, request.user).filter(sample=sample).select_related("beamline"))
    # The puck's history: its arrival and return with its dewar, and its times in sample changers.
    assignments = list(journey["assignments"])
    return render(
        request,
        "samples/beamline/sample_detail.html",
        {
            "sample": sample,
            "container": container,
            "dewar": container.dewar,
            "shipment": container.shipment,
            "crystal": _described(sample, CRYSTAL_FIELDS),
            "plan": _described(sample, DIFFRACTION_PLAN_FIELDS),
            "changer_code": container.beamline.position_code(container.changer_position)
            if container.beamline_id
            else "",
            "can_see_changer": container.beamline_id and access.may_see_changer(request.user, container.beamline_id),
            "dewar_events": list(journey["dewar_events"]),
            "assignments": assignments,
            "been_in_changer": any(row.beamline_id for row in assignments),
            "robot_actions": list(journey["robot_actions"]),
            "status_history": list(journey["status_history"]),
            "collections": collections,
            "collections_total": collections_total,
            "energy_scans": energy_scans,
            "xrf_spectra": xrf_spectra,
        },
    )
