"""The dashboard: the first page after signing in, showing what every app has for the person."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from lims import access
from lims.selectors import proposal_visible_to
from shipping.outbox import failed_count as failed_notifications
from shipping.outbox import stuck_count as stuck_notifications
from shipping.selectors import shipment_list

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
            "may_print_location_labels": access.may_print_location_labels(request.user),
            # Staff can open the admin, where the failed and stuck notifications are listed and can be sent again.
            "failed_notifications": failed_notifications() if request.user.is_staff else 0,
            "stuck_notifications": stuck_notifications() if request.user.is_staff else 0,
        },
    )
