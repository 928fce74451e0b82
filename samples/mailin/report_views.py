"""Result reports of mail-in shipments: complete the work, re-issue, download a version."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from lims import access
from lims.errors import DomainError
from shipping.models import Shipment

from .delivery import report_reissue, shipment_work_complete
from .selectors import report_visible_to


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
