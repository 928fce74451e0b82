"""Web pages of the core domain: the lab contact cards of a proposal, the barcode decoder, the signed-in person's
API tokens. (The dashboard, which shows every app's, is ``config.views``.)"""

import base64
import time
from io import BytesIO

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from .barcodes.decode import MAX_UPLOAD_BYTES, DecodeError, decode_upload, load_image
from .forms import LabContactForm
from .models import LabContact, PersonalToken
from .selectors import lab_contact_visible_to, proposal_visible_to
from .services import lab_contact_create as create_contact
from .services import lab_contact_update as update_contact
from .tokens import personal_token_create, personal_token_revoke, personal_ttl


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


DECODE_PREVIEW_PX = 960  # the photo is shown at most this wide: enough to see the marks, small to send back


@login_required
def barcode_decode(request):
    """Try the decoder: upload a photo (or take one with the phone's camera), see the codes and where they are."""
    context = {}
    if request.method == "POST":
        upload = request.FILES.get("image")
        if upload is None:
            context["error"] = "Choose a photo, or take one with the camera."
        elif upload.size > MAX_UPLOAD_BYTES:
            context["error"] = f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB."
        else:
            data = upload.read()
            start = time.perf_counter()
            try:
                found, width, height = decode_upload(data)
            except DecodeError as exc:
                context["error"] = exc.message
            else:
                context.update(
                    codes=found,
                    width=width,
                    height=height,
                    elapsed_ms=round((time.perf_counter() - start) * 1000, 1),
                    preview=_preview(data),
                    marks=[
                        {
                            "n": i,
                            "code": f,
                            "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in f.corners),
                            "label_size": max(12.0, max(width, height) / 40),
                        }
                        for i, f in enumerate(found, start=1)
                    ],
                )
    status = 400 if "error" in context else 200
    return render(request, "lims/decode.html", context, status=status)


def _preview(data: bytes) -> str:
    """The uploaded photo as a small JPEG data URL (upright), to show under the marks; no file is kept."""
    image = load_image(data)
    image.thumbnail((DECODE_PREVIEW_PX, DECODE_PREVIEW_PX))
    out = BytesIO()
    image.save(out, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


@never_cache  # the answer that shows a new key must not be kept by any cache
@login_required
def api_tokens(request):
    """The signed-in person's personal API tokens: create one (its key shown in this answer only), list, revoke.

    The way for people with no password here (OpenID Connect sign-in) to use the native API and MXCuBE's
    ISPyB-compatible login (their user name, and the key as the password)."""
    new_key = None
    if request.method == "POST":
        revoke = request.POST.get("revoke", "")
        if revoke:
            token = get_object_or_404(
                PersonalToken.objects.filter(user=request.user), pk=int(revoke) if revoke.isdigit() else 0
            )
            personal_token_revoke(token=token, user=request.user)
            messages.success(request, f"Token {token.prefix}… revoked: it works no more.")
            return redirect("api_tokens")
        _token, new_key = personal_token_create(user=request.user)
    return render(
        request,
        "lims/tokens.html",
        {
            "tokens": PersonalToken.objects.filter(user=request.user),
            "new_key": new_key,
            "now": timezone.now(),
            "ttl_days": round(personal_ttl() / 86400, 1),
        },
    )
