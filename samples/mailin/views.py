"""The mail-in operator's pages: the queue (samples of mail-in shipments at the facility, by priority and
arrival, each with an inline form to set its state, reason and notes), completing a shipment's work,
re-issuing its result report, and downloading a version of it.

Mail-in operators and admins only; anybody else signed in gets a 403 page (the queue is a facility page,
not a proposal's object, so the 403 confirms nothing). Writes are POSTs that call the service and redirect.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from lims import access
from lims.errors import DomainError
from samples.choices import MailinState
from samples.models import Sample
from shipping.models import Shipment

from . import selectors
from .delivery import report_reissue, shipment_work_complete
from .selectors import report_visible_to
from .services import NEEDS_REASON, sample_mailin_state_set

FORBIDDEN = access.may_operate_mailin.refusal


def _forbidden(request):
    return render(request, "forbidden.html", {"reason": FORBIDDEN}, status=403)


@login_required
def queue(request):
    if not access.may_operate_mailin(request.user):
        return _forbidden(request)
    rows, shipments = selectors.queue()
    return render(
        request,
        "samples/mailin/queue.html",
        {
            "rows": rows,
            "shipments": shipments,
            "states": MailinState.choices,
            "needs_reason": sorted(NEEDS_REASON),
        },
    )


@login_required
@require_POST
def sample_state(request, pk: int):
    if not access.may_operate_mailin(request.user):
        return _forbidden(request)
    sample = get_object_or_404(Sample.objects.filter(container__shipment__proposal__mail_in=True), pk=pk)
    notes = request.POST.get("notes")
    try:
        sample_mailin_state_set(
            sample=sample,
            user=request.user,
            state=request.POST.get("state", ""),
            reason=request.POST.get("reason", ""),
            notes=notes,
        )
    except PermissionDenied:
        return _forbidden(request)
    except DjangoValidationError as error:
        text = "; ".join(m for msgs in error.message_dict.values() for m in msgs)
        messages.error(request, f"{sample.name}: {text}")
    else:
        messages.success(request, f"{sample.name}: {MailinState(request.POST['state']).label.lower()}.")
    return redirect(f"{reverse('mailin:queue')}#sample-{sample.pk}")


# --- a shipment's work and its result reports -------------------------------------------------------------


def _mailin_shipment(request, pk: int) -> Shipment:
    """A mail-in shipment, for operators and admins only: anyone else gets 404 (nothing is confirmed)."""
    if not access.may_operate_mailin(request.user):
        raise Http404
    return get_object_or_404(Shipment.objects.select_related("proposal"), pk=pk, proposal__mail_in=True)


def _back(request, shipment: Shipment):
    target = request.POST.get("next", "")
    if target == "queue":
        try:
            return redirect(reverse("mailin:queue"))
        except NoReverseMatch:
            pass
    return redirect("shipping:detail", pk=shipment.pk)


@login_required
@require_POST
def complete(request, pk: int):
    shipment = _mailin_shipment(request, pk)
    try:
        shipment_work_complete(shipment=shipment, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Work on {shipment.name} complete: the report is on its way to the client.")
    return _back(request, shipment)


@login_required
@require_POST
def reissue(request, pk: int):
    shipment = _mailin_shipment(request, pk)
    try:
        report_reissue(shipment=shipment, user=request.user, note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"A new version of the report of {shipment.name} is on its way to the client.")
    return _back(request, shipment)


@login_required
@require_GET
def download(request, pk: int):
    """The PDF of one version, to the proposal's members, mail-in operators and admins; 404 to anyone else."""
    report = get_object_or_404(report_visible_to(request.user).select_related("shipment__proposal"), pk=pk)
    try:
        handle = report.pdf.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404("The report's file is missing.") from exc
    filename = f"{report.shipment.proposal.name}_{report.shipment.name}_report_v{report.version}.pdf".replace(" ", "_")
    response = FileResponse(handle, content_type="application/pdf", filename=filename)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
