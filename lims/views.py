"""Web pages of the core domain: the dashboard and the lab contact cards of a proposal."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from shipping.labels import may_print_location_labels
from shipping.selectors import shipment_list

from .forms import LabContactForm
from .models import LabContact
from .selectors import lab_contact_visible_to, proposal_visible_to
from .services import lab_contact_create as create_contact
from .services import lab_contact_update as update_contact

SHIPMENTS_PER_PAGE = 50


@login_required
def dashboard(request):
    """The user's proposals and shipments; facility staff see every proposal's (the selectors decide)."""
    shipments = Paginator(shipment_list(request.user).order_by("-created_at", "-id"), SHIPMENTS_PER_PAGE)
    return render(
        request,
        "lims/dashboard.html",
        {
            "proposals": proposal_visible_to(request.user),
            "page": shipments.get_page(request.GET.get("page")),
            "may_print_location_labels": may_print_location_labels(request.user),
        },
    )


@login_required
def lab_contact_list(request, proposal_id: int):
    proposal = get_object_or_404(proposal_visible_to(request.user), pk=proposal_id)
    contacts = lab_contact_visible_to(request.user).filter(proposal=proposal)
    return render(request, "lims/labcontact_list.html", {"proposal": proposal, "contacts": contacts})


def _save_card(request, form: LabContactForm, write) -> LabContact | None:
    """Validate ``form`` and hand its data to the service; the service's refusals land on the form."""
    if not form.is_valid():
        return None
    try:
        return write(form.cleaned_data)
    except ValidationError as exc:
        form.add_error(None, exc)
        return None


@login_required
def lab_contact_create(request, proposal_id: int):
    proposal = get_object_or_404(proposal_visible_to(request.user), pk=proposal_id)
    form = LabContactForm(request.POST or None, instance=LabContact(proposal=proposal))
    if request.method == "POST":
        contact = _save_card(
            request, form, lambda data: create_contact(proposal=proposal, user=request.user, data=data)
        )
        if contact:
            messages.success(request, f"Lab contact card {contact.card_name} created.")
            return redirect("lab_contact_list", proposal_id=proposal.pk)
    return render(request, "lims/labcontact_form.html", {"proposal": proposal, "form": form, "contact": None})


@login_required
def lab_contact_edit(request, pk: int):
    contact = get_object_or_404(lab_contact_visible_to(request.user), pk=pk)
    # The form fills in a copy, so that a refused change leaves the page title with the saved card name.
    form = LabContactForm(request.POST or None, instance=LabContact.objects.get(pk=contact.pk))
    if request.method == "POST":
        saved = _save_card(request, form, lambda data: update_contact(contact=contact, user=request.user, data=data))
        if saved:
            messages.success(request, f"Lab contact card {saved.card_name} saved.")
            return redirect("lab_contact_list", proposal_id=contact.proposal_id)
    return render(
        request, "lims/labcontact_form.html", {"proposal": contact.proposal, "form": form, "contact": contact}
    )
