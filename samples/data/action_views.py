"""Pages that act on collections afterwards and the download cart (mounted at /data/ beside the catalogue).

- ``bulk``: the catalogue's form posts the ticked rows (``ids``) with an ``action``; the collections the
  user does not see are ignored (none seen: 404), the service does the rest, a message says what
  happened and the user goes back to ``next`` (a local address only).
- ``comment``: a collection page's comment form.
- ``cart``: the user's open cart and their downloads; "Build download" queues the Celery task, and
  ``static/js/cart.js`` polls ``cart_status`` for the progress; ``cart_download`` streams the tar to the
  cart's owner (anybody else: 404).

Every write is a POST that calls one service and redirects; a refusal is a message, nothing is written.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from lims.errors import DomainError

from . import actions
from .cart import (
    archive_path,
    cart_add,
    cart_open_for,
    cart_remove,
    cart_request_build,
    carts_of,
    collection_files,
)
from .choices import CartStatus, Flag
from .selectors import collection_visible_to, group_visible_to

# The catalogue's address (its mount in config/urls.py): where a bulk action returns without a ``next``.
CATALOGUE_URL = "/data/"
ACTIONS = ("flag", "unflag", "tag", "untag", "move", "cart")
RECENT_DOWNLOADS = 10


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def safe_next(request, default: str) -> str:
    """``next`` when it is an address on this site (a path), else ``default``: never an open redirect."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return default


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


def _flag(value: str) -> Flag:
    try:
        return Flag(int(value))
    except ValueError:
        raise ValidationError("Choose a flag: " + ", ".join(f.label for f in Flag) + ".") from None


@login_required
@require_POST
def bulk(request):
    """Apply one action to the ticked collections the user sees."""
    back = safe_next(request, CATALOGUE_URL)
    ids = [int(v) for v in request.POST.getlist("ids") if v.strip().isdigit()]
    action = request.POST.get("action", "")
    collections = list(collection_visible_to(request.user).filter(pk__in=ids).order_by("pk"))
    if not collections:
        raise Http404("None of these collections is yours.")
    if action not in ACTIONS:
        messages.error(request, "Choose what to do with the selected collections.")
        return redirect(back)
    count = _plural(len(collections), "collection")
    user = request.user
    try:
        if action in ("flag", "unflag"):
            flag = _flag(request.POST.get("flag", ""))
            changed = actions.collections_flag(user=user, collections=collections, flag=flag, on=action == "flag")
            done = f"{'Flagged' if action == 'flag' else 'Unflagged'} “{flag.label}” on {len(changed)} of {count}."
        elif action in ("tag", "untag"):
            tag = actions.tag_name(request.POST.get("tag", ""))
            changed = actions.collections_tag(user=user, collections=collections, tag=tag, on=action == "tag")
            done = f"{'Tagged' if action == 'tag' else 'Untagged'} “{tag}” on {len(changed)} of {count}."
        elif action == "move":
            group_id = request.POST.get("group", "")
            group = group_visible_to(user).filter(pk=int(group_id)).first() if group_id.isdigit() else None
            if group is None:
                raise ValidationError("Choose a group of your proposal to move the collections into.")
            changed = actions.collections_move(user=user, collections=collections, group=group)
            done = f"Moved {len(changed)} of {count} into group {group.pk} ({group})."
        else:
            cart, added = cart_add(user=user, collections=collections)
            done = f"Added {_plural(added, 'collection')} to your download cart ({cart.collections.count()} in it)."
    except (DomainError, ValidationError) as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, done)
    return redirect(back)


@login_required
@require_POST
def comment(request, pk: int):
    """Replace a collection's comments (the collection page's form)."""
    collection = get_object_or_404(collection_visible_to(request.user), pk=pk)
    try:
        actions.collection_comment(user=request.user, collection=collection, comments=request.POST.get("comments", ""))
    except (DomainError, ValidationError) as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, "Comment saved.")
    return redirect(safe_next(request, CATALOGUE_URL))


def _cart_rows(cart):
    """The open cart's collections with how many files each would give (read from the data root now)."""
    if cart is None:
        return [], None
    collections = list(cart.collections.select_related("sample", "beamline", "proposal").order_by("-start_time"))
    listing = collection_files(collections)
    for collection in collections:
        collection.file_count = listing.per_collection.get(collection.pk, 0)
    return collections, listing


@login_required
def cart_page(request):
    """The user's open cart (collections, files, remove, build) and their recent downloads with progress."""
    cart = cart_open_for(request.user)
    collections, listing = _cart_rows(cart)
    downloads = carts_of(request.user).exclude(status=CartStatus.OPEN)[:RECENT_DOWNLOADS]
    return render(
        request,
        "samples/data/actions/cart.html",
        {
            "cart": cart,
            "collections": collections,
            "files_total": len(listing.files) if listing else 0,
            "refused": listing.refused if listing else [],
            "downloads": downloads,
            "catalogue_url": CATALOGUE_URL,
            "building": [d for d in downloads if d.status in (CartStatus.QUEUED, CartStatus.BUILDING)],
        },
    )


@login_required
@require_POST
def cart_remove_view(request):
    cart = cart_open_for(request.user)
    ids = [int(v) for v in request.POST.getlist("ids") if v.strip().isdigit()]
    if cart is None:
        raise Http404("No open cart.")
    try:
        removed = cart_remove(user=request.user, cart=cart, collections=ids)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Removed {_plural(removed, 'collection')} from the cart.")
    return redirect("data:cart")


@login_required
@require_POST
def cart_build_view(request):
    """Queue the build of the open cart, or again of a failed download (``cart`` names it)."""
    carts = carts_of(request.user)
    wanted = request.POST.get("cart", "")
    cart = get_object_or_404(carts, pk=int(wanted)) if wanted.isdigit() else cart_open_for(request.user)
    if cart is None:
        raise Http404("No open cart.")
    try:
        cart_request_build(user=request.user, cart=cart)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Your download is being built: you will get an email with the link.")
    return redirect("data:cart")


def _status(cart) -> dict:
    ready = cart.status == CartStatus.READY
    return {
        "id": cart.pk,
        "status": cart.status,
        "status_display": cart.get_status_display(),
        "files_done": cart.files_done,
        "files_total": cart.files_total,
        "error": cart.error,
        "download_url": reverse("data:cart_download", args=[cart.pk]) if ready else None,
    }


@login_required
@require_GET
def cart_status(request, pk: int):
    """The build's progress as JSON, polled by cart.js."""
    cart = get_object_or_404(carts_of(request.user), pk=pk)
    return JsonResponse(_status(cart))


@login_required
@require_GET
def cart_download(request, pk: int):
    """Stream the tar to the cart's owner; anybody else, or a tar not (or no longer) there: 404."""
    cart = get_object_or_404(carts_of(request.user), pk=pk, status=CartStatus.READY)
    path = archive_path(cart)
    if not cart.archive or not path.is_file():
        raise Http404("This download is no longer there.")
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"lims-download-{cart.pk}.tar")
