"""The mail-in operator's queue: samples of mail-in shipments at the facility, by priority and arrival,
each with an inline form to set its state, reason and notes.

Mail-in operators and admins only; anybody else signed in gets a 403 page (the queue is a facility page,
not a proposal's object, so the 403 confirms nothing). Writes are POSTs that call the service and redirect.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from lims import access
from samples.choices import MailinState
from samples.models import Sample

from . import selectors
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
