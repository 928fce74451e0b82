"""Web pages of containers (pucks): the puck page with its diagram, and the audit of a photo."""

import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from lims.barcodes.decode import MAX_UPLOAD_BYTES, DecodeError

from . import selectors
from .forms import PuckPhotoForm
from .puck_audit import LAYOUTS, AuditUnsupported, puck_audit

DIAGRAM_SIZE = 320
RECENT_AUDITS = 10
STATUS_LABELS = {
    "registered": "registered",
    "no_pin_code": "no pin code",
    "empty": "empty",
    "match": "match",
    "misplaced": "misplaced: another position's pin",
    "elsewhere": "its pin is at another position",
    "unexpected": "unexpected pin",
    "unplaced": "its pin is in the photo, off the positions",
    "missing": "missing",
    "unread": "unread: not reached in the time the decoder had",
}


def diagram(container, samples: list, audit_result: dict | None) -> dict | None:
    """The puck drawn from above, key at the top: one circle per position, coloured by its status.

    Without an audit a position is "registered", "no_pin_code" or "empty"; with one it carries the
    audit's status ("match", "misplaced", ...). None for containers without a standard layout.
    """
    layout = LAYOUTS.get(container.container_type)
    if layout is None:
        return None
    centre, ring = DIAGRAM_SIZE / 2, DIAGRAM_SIZE * 0.37
    by_position = {s.position: s for s in samples}
    outcome = {p["position"]: p for p in audit_result["positions"]} if audit_result else {}
    circles = []
    for position in layout.positions:
        # Seen from above with the key at the top, anticlockwise runs to the left.
        a = math.pi / 2 + position.angle
        sample = by_position.get(position.number)
        audited = outcome.get(position.number)
        if audited:
            status, found = audited["status"], audited["found"]
        else:
            status = "empty" if sample is None else ("registered" if sample.pin_code else "no_pin_code")
            found = None
        circles.append(
            {
                "number": position.number,
                "x": round(centre + ring * position.radius * math.cos(a), 1),
                "y": round(centre - ring * position.radius * math.sin(a), 1),
                "status": status,
                "label": STATUS_LABELS.get(status, status),
                "sample": sample,
                "found": found,
            }
        )
    return {
        "size": DIAGRAM_SIZE,
        "centre": centre,
        "rim": round(ring * 1.28, 1),
        "key_y": round(centre - ring * 1.28, 1),
        "pin_r": round(DIAGRAM_SIZE * 0.052, 1),
        "circles": circles,
    }


def _render(request, container, form, status=200):
    samples = list(container.samples.all())
    audits = list(selectors.container_audits(container)[:RECENT_AUDITS])
    shown = None
    wanted = request.GET.get("audit")
    if wanted and wanted.isdigit():
        shown = next((a for a in audits if a.pk == int(wanted)), None) or (
            selectors.container_audits(container).filter(pk=int(wanted)).first()
        )
    elif audits:
        shown = audits[0]
    return render(
        request,
        "samples/container_detail.html",
        {
            "container": container,
            "samples": samples,
            "diagram": diagram(container, samples, shown.result if shown else None),
            "shown": shown,
            "audits": audits,
            "form": form,
            "auditable": container.container_type in LAYOUTS,
        },
        status=status,
    )


@login_required
def container_page(request, pk: int):
    container = get_object_or_404(selectors.container_detail(request.user), pk=pk)
    return _render(request, container, PuckPhotoForm())


@login_required
@require_POST
def container_audit(request, pk: int):
    """Audit the uploaded photo; on success, the puck page showing this audit (post/redirect/get)."""
    container = get_object_or_404(selectors.container_detail(request.user), pk=pk)
    form = PuckPhotoForm(request.POST, request.FILES)
    if form.is_valid():
        # One byte more than the limit is enough for the decoder to say the file is too large.
        data = form.cleaned_data["image"].read(MAX_UPLOAD_BYTES + 1)
        try:
            audit = puck_audit(container=container, user=request.user, image_bytes=data)
        except DecodeError as exc:
            form.add_error("image", exc.message)
        except AuditUnsupported as exc:
            form.add_error(None, exc.message)
        else:
            result = audit.result
            messages.success(
                request,
                f"Audit of {container.name}: {len(result['matches'])} match, {len(result['misplaced'])} misplaced, "
                f"{len(result['missing'])} missing, {len(result['unexpected'])} unexpected.",
            )
            return redirect(f"{reverse('samples:container', args=[container.pk])}?audit={audit.pk}#audit")
    return _render(request, container, form, status=400)
