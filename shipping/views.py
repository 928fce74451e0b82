"""Web pages of shipments: register and edit (the whole tree on one page), follow, send, import a sheet,
download the samples as a sheet, print labels."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from lims import access
from lims.errors import DomainError, Frozen
from lims.selectors import proposal_visible_to
from shipping import sheets

from . import labels, services
from .forms import SheetUploadForm, ShipmentForm
from .pdf import LabelLayoutError
from .selectors import shipment_audit_entries, shipment_detail, shipment_visible_to


def _editable(shipment, user) -> bool:
    try:
        services.shipment_check_editable(shipment=shipment, user=user)
    except Frozen:
        return False
    return True


def _render_form(request, form: ShipmentForm, status: int = 200):
    return render(request, "shipping/shipment_form.html", {"form": form, "proposal": form.proposal}, status=status)


def _save(request, form: ShipmentForm):
    """Save the form; on a refusal, the page again with what the user typed and every message."""
    try:
        shipment = form.save()
    except Frozen:
        raise  # the edit view answers it with a message on the shipment page
    except DomainError as exc:
        form.top_errors.append(exc.message)
        shipment = None
    if shipment is None:
        return _render_form(request, form, status=400)
    messages.success(request, f"Shipment {shipment.name} saved.")
    return redirect("shipping:detail", pk=shipment.pk)


@login_required
def shipment_create(request, proposal_id: int):
    proposal = get_object_or_404(proposal_visible_to(request.user), pk=proposal_id)
    data = request.POST if request.method == "POST" else None
    form = ShipmentForm(proposal=proposal, user=request.user, data=data)
    if data is not None:
        return _save(request, form)
    return _render_form(request, form)


@login_required
def shipment_edit(request, pk: int):
    shipment = get_object_or_404(shipment_detail(request.user), pk=pk)
    try:
        services.shipment_check_editable(shipment=shipment, user=request.user)
        data = request.POST if request.method == "POST" else None
        form = ShipmentForm(proposal=shipment.proposal, user=request.user, shipment=shipment, data=data)
        if data is not None:
            return _save(request, form)
    except Frozen as exc:
        messages.error(request, exc.message)
        return redirect("shipping:detail", pk=shipment.pk)
    return _render_form(request, form)


@login_required
def shipment_page(request, pk: int):
    shipment = get_object_or_404(shipment_detail(request.user), pk=pk)
    dewars = list(shipment.dewars.all())
    return render(
        request,
        "shipping/shipment_detail.html",
        {
            "shipment": shipment,
            "dewars": dewars,
            "events": sorted((e for d in dewars for e in d.events.all()), key=lambda e: (e.at, e.pk)),
            "audit": shipment_audit_entries(shipment),
            "editable": _editable(shipment, request.user),
            **_mailin_reports(shipment, request.user),
        },
    )


def _mailin_reports(shipment, user) -> dict:
    """A mail-in shipment's result report versions the user may see, and whether they may (re)issue them."""
    if not shipment.proposal.mail_in:
        return {}
    from samples.models import ShipmentReport

    reports = (
        ShipmentReport.objects.visible_to(user)
        .filter(shipment=shipment)
        .select_related("created_by")
        .order_by("-version")
    )
    return {"mailin": True, "reports": list(reports), "reports_operator": access.may_operate_mailin(user)}


def _status_change(request, pk: int, service, done: str):
    """POST of a status button: run the service; a refusal is shown as a message on the shipment page."""
    shipment = get_object_or_404(shipment_visible_to(request.user), pk=pk)
    try:
        service(shipment=shipment, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Shipment {shipment.name} {done}.")
    return redirect("shipping:detail", pk=shipment.pk)


@login_required
@require_POST
def shipment_send(request, pk: int):
    return _status_change(request, pk, services.shipment_send, "is marked as sent to the facility")


@login_required
@require_POST
def shipment_cancel(request, pk: int):
    return _status_change(request, pk, services.shipment_cancel, "is cancelled")


@login_required
def sheet_import(request, pk: int):
    shipment = get_object_or_404(shipment_visible_to(request.user).select_related("proposal"), pk=pk)
    form = SheetUploadForm(request.POST or None, request.FILES or None)
    problems, read_as = [], ""
    try:
        services.shipment_check_editable(shipment=shipment, user=request.user)
        if request.method == "POST" and form.is_valid():
            result = sheets.import_sheet(shipment=shipment, user=request.user, uploaded_file=form.cleaned_data["file"])
            messages.success(
                request,
                f"Sample sheet imported: {result.dewars} dewar(s), {result.containers} puck(s), "
                f"{result.samples} sample(s).",
            )
            for message in result.messages:
                messages.info(request, message)
            return redirect("shipping:detail", pk=shipment.pk)
    except Frozen as exc:
        messages.error(request, exc.message)
        return redirect("shipping:detail", pk=shipment.pk)
    except sheets.SheetError as exc:
        problems, read_as = exc.problems, exc.read_as
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "samples/sheet_import.html",
        {"shipment": shipment, "form": form, "problems": problems, "read_as": read_as},
        status=status,
    )


TEMPLATES = {
    "csv": (sheets.template_csv, "text/csv"),
    "xlsx": (sheets.template_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


@login_required
def sheet_template(request, fmt: str):
    if fmt not in TEMPLATES:
        raise Http404("No such template.")
    render_template, content_type = TEMPLATES[fmt]
    response = HttpResponse(render_template(), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="sample-sheet-template.{fmt}"'
    return response


EXPORTS = {
    "csv": (sheets.shipment_ispyb_csv, "text/csv; charset=utf-8"),
    "xlsx": (sheets.shipment_xlsx, sheets.XLSX_CONTENT_TYPE),
}


@login_required
def sheet_export(request, pk: int, fmt: str):
    """The shipment's samples as ISPyB's shipping CSV or as this LIMS's XLSX sheet; both import back unchanged."""
    if fmt not in EXPORTS:
        raise Http404("No such format.")
    shipment = get_object_or_404(shipment_visible_to(request.user).select_related("proposal"), pk=pk)
    render_sheet, content_type = EXPORTS[fmt]
    response = HttpResponse(render_sheet(shipment), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{sheets.export_filename(shipment, fmt)}"'
    return response


def pdf_response(label_file: labels.LabelFile) -> HttpResponse:
    """A rendered label file, inline: the browser opens it ready to print (the API sends it as an attachment)."""
    response = HttpResponse(label_file.content, content_type=label_file.content_type)
    response["Content-Disposition"] = f'inline; filename="{label_file.filename}"'
    return response


@login_required
def shipment_labels(request, pk: int, kind: str):
    """Dewar, puck or pin labels of a shipment (``?dewar=``, ``?container=``, ``?page_size=``), any status."""
    if kind not in labels.KINDS:
        raise Http404("No such labels.")
    shipment = get_object_or_404(shipment_detail(request.user), pk=pk)
    try:
        label_file = labels.shipment_labels(shipment, kind, request.GET)
    except labels.LabelQueryError as exc:
        return HttpResponseBadRequest(f"{exc.field}: {exc.message}", content_type="text/plain; charset=utf-8")
    except LabelLayoutError as exc:
        messages.error(request, f"The labels cannot be printed: {exc.message}")
        return redirect("shipping:detail", pk=shipment.pk)
    return pdf_response(label_file)


@login_required
def location_labels(request):
    """Barcode sheets of every location and sample-changer position, for stores and beamline staff."""
    access.may_print_location_labels.require(request.user)
    try:
        label_file = labels.location_labels()
    except LabelLayoutError as exc:
        messages.error(request, f"The location sheets cannot be printed: {exc.message}")
        return redirect("dashboard")
    return pdf_response(label_file)


@login_required
def dewar_page(request, pk: int):
    """One dewar: its card (where it is, where it goes, couriers with tracking links) and its timeline."""
    from .route import dewar_route
    from .selectors import dewar_detail

    dewar = get_object_or_404(dewar_detail(request.user), pk=pk)
    events = dewar.events.all()
    return render(
        request, "shipping/dewar_detail.html", {"dewar": dewar, "events": events, "route": dewar_route(events)}
    )


@login_required
def where_is_my_dewar(request):
    """Every dewar of the user's proposals that is not home: where it is now and its last step."""
    from .selectors import dewars_away_from_home

    return render(request, "shipping/where_is_my_dewar.html", {"dewars": dewars_away_from_home(request.user)})


@login_required
def transport_pdf(request, pk: int):
    """The transport history of a shipment as PDF, for the proposal's users and staff."""
    shipment = get_object_or_404(shipment_detail(request.user), pk=pk)
    return pdf_response(labels.transport_history_file(shipment))
