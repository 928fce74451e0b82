"""The download cart: a user collects collections, then a Celery job tars their files for download.

A user has one open cart (made on the first add). "Build download" queues it (``cart_request_build``);
the task ``samples.data.tasks.build_download`` then calls ``cart_build``, which lists the files of every
collection (``collection_files``), writes ``DOWNLOAD_ROOT/<cart id>-<random>.tar`` while counting
``files_done``, and marks the cart ready; the task emails the link. The next add opens a new cart.

Only files under ``settings.DATA_ROOT`` are served: every path is resolved (``realpath``: symlinks and
"..") and must still lie under the root. Anything else (and a directory that is missing) is left out of
the tar and named in the cart's ``error``; a cart with nothing left to archive fails.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from lims import after_commit
from lims.errors import DomainError, InvalidTransition

from .choices import CartStatus
from .models import DataCollection, DownloadCart
from .selectors import collection_visible_to

log = logging.getLogger(__name__)

# How often the task writes its progress: the page polls every couple of seconds.
PROGRESS_EVERY_FILES = 50
PROGRESS_EVERY_SECONDS = 1.0
# An Eiger/NXmx data set: "<prefix>_master.h5" and its "<prefix>_data_000001.h5"...
MASTER_RE = re.compile(r"^(?P<prefix>.+)_master\.(?P<ext>h5|hdf5|nxs)$")
BUILDABLE = (CartStatus.OPEN, CartStatus.FAILED)


# --- which files ------------------------------------------------------------------------------------------


@dataclass
class FileList:
    """The files of some collections that may be archived, and what was refused, with why."""

    files: list[tuple[str, str]] = field(default_factory=list)  # (real path, name in the tar)
    refused: list[str] = field(default_factory=list)
    per_collection: dict[int, int] = field(default_factory=dict)

    @property
    def report(self) -> str:
        return "\n".join(self.refused)


def data_root() -> str:
    return os.path.realpath(settings.DATA_ROOT)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def template_pattern(file_template: str) -> re.Pattern:
    """The names a file template stands for: each "#" is one digit; a NXmx master brings its data files."""
    if "#" in file_template:
        return re.compile("".join(r"\d" if ch == "#" else re.escape(ch) for ch in file_template) + r"\Z")
    master = MASTER_RE.match(file_template)
    if master:
        prefix, ext = re.escape(master["prefix"]), re.escape(master["ext"])
        return re.compile(rf"{prefix}_(master|data_\d+)\.{ext}\Z")
    return re.compile(re.escape(file_template) + r"\Z")


def collection_files(collections, root: str | None = None) -> FileList:
    """The files of ``collections`` that may be archived (sorted, each once), and the refusals.

    A collection's directory is taken relative to the data root when it is not absolute. The directory
    and then every file are resolved: a symlink that leads out of the root is refused like a path outside.
    """
    root = root or data_root()
    result, seen = FileList(), set()
    for collection in collections:
        label = f"Collection {collection.pk} ({collection.directory}/{collection.file_template})"
        count = 0
        directory = os.path.realpath(os.path.join(root, collection.directory))
        if not _under(directory, root):
            result.refused.append(f"{label}: outside the data root, refused.")
        elif not os.path.isdir(directory):
            result.refused.append(f"{label}: the directory is not there.")
        else:
            pattern = template_pattern(collection.file_template)
            names = sorted(n for n in os.listdir(directory) if pattern.match(n))
            for name in names:
                real = os.path.realpath(os.path.join(directory, name))
                if not _under(real, root):
                    result.refused.append(f"{label}: {name} leads outside the data root, refused.")
                    continue
                if not os.path.isfile(real):
                    continue
                count += 1
                if real not in seen:
                    seen.add(real)
                    result.files.append((real, os.path.relpath(real, root)))
            if not names:
                result.refused.append(f"{label}: no files match the template.")
        result.per_collection[collection.pk] = count
    return result


# --- the cart ---------------------------------------------------------------------------------------------


def cart_open_for(user, *, create: bool = False) -> DownloadCart | None:
    """The user's open cart (made when ``create`` and there is none)."""
    cart = DownloadCart.objects.filter(user=user, status=CartStatus.OPEN).order_by("id").first()
    if cart is None and create:
        # Lock the user so that two adds at once (two tabs) make one open cart, not two.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        cart = DownloadCart.objects.filter(user=user, status=CartStatus.OPEN).order_by("id").first()
        cart = cart or DownloadCart.objects.create(user=user)
    return cart


def carts_of(user) -> QuerySet[DownloadCart]:
    """The user's carts with how many collections each holds: only the owner ever sees a cart."""
    if not getattr(user, "is_authenticated", False):
        return DownloadCart.objects.none()
    return DownloadCart.objects.filter(user=user).annotate(collection_count=Count("collections"))


@transaction.atomic
def cart_add(*, user, collections) -> tuple[DownloadCart, int]:
    """Put the collections ``user`` may see into their open cart; returns the cart and how many were new."""
    ids = [c.pk if isinstance(c, DataCollection) else int(c) for c in collections]
    visible = list(collection_visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
    cart = cart_open_for(user, create=True)
    already = set(cart.collections.filter(pk__in=visible).values_list("pk", flat=True))
    new = [pk for pk in visible if pk not in already]
    cart.collections.add(*new)
    return cart, len(new)


@transaction.atomic
def cart_remove(*, user, cart: DownloadCart, collections) -> int:
    """Take collections out of the user's open cart; returns how many."""
    if cart.user_id != user.pk:
        raise DomainError("This is not your cart.", code="not_yours")
    if cart.status != CartStatus.OPEN:
        raise InvalidTransition("The download is built already: its collections no longer change.")
    ids = [c.pk if isinstance(c, DataCollection) else int(c) for c in collections]
    present = list(cart.collections.filter(pk__in=ids).values_list("pk", flat=True))
    cart.collections.remove(*present)
    return len(present)


def cart_request_build(*, user, cart: DownloadCart) -> DownloadCart:
    """Queue the build of an open (or failed) cart; the task is sent once the transaction commits."""
    with transaction.atomic():
        cart = DownloadCart.objects.select_for_update().get(pk=cart.pk)
        if cart.user_id != user.pk:
            raise DomainError("This is not your cart.", code="not_yours")
        if cart.status not in BUILDABLE:
            raise InvalidTransition(f"The download is {cart.get_status_display().lower()} already.")
        if not cart.collections.exists():
            raise DomainError("The cart is empty: add collections from the catalogue first.", code="empty_cart")
        cart.status = CartStatus.QUEUED
        cart.files_done = cart.files_total = 0
        cart.error = ""
        cart.finished_at = None
        cart.save(update_fields=["status", "files_done", "files_total", "error", "finished_at"])
        cart_id = cart.pk
        # robust: the request has committed; a broker that is down leaves the cart queued, not a 500.
        after_commit.send_on_commit("samples.data.tasks.build_download", cart_id)
    return cart


def _progress(cart: DownloadCart, **fields) -> None:
    """Written at once (outside any transaction) so that the page polling the status sees it."""
    DownloadCart.objects.filter(pk=cart.pk).update(**fields)


def archive_path(cart: DownloadCart) -> Path:
    return Path(settings.DOWNLOAD_ROOT) / cart.archive


def cart_build(cart_id: int) -> DownloadCart:
    """Write the cart's tar: called by the task. Ready with the refusals in ``error``, or failed."""
    with transaction.atomic():
        cart = DownloadCart.objects.select_for_update().get(pk=cart_id)
        if cart.status not in (CartStatus.QUEUED, CartStatus.BUILDING):
            raise InvalidTransition(f"Cart {cart_id} is {cart.status}, not queued.")
        cart.status = CartStatus.BUILDING
        cart.save(update_fields=["status"])
    collections = list(cart.collections.order_by("start_time", "id"))
    listing = collection_files(collections)
    _progress(cart, files_total=len(listing.files), files_done=0)
    if not listing.files:
        return cart_fail(cart, "Nothing to archive.\n" + listing.report)

    downloads = Path(settings.DOWNLOAD_ROOT)
    downloads.mkdir(parents=True, exist_ok=True)
    name = f"{cart.pk}-{secrets.token_hex(8)}.tar"
    partial = downloads / f".{name}.part"
    done, last = 0, time.monotonic()
    try:
        with tarfile.open(partial, "w") as tar:
            for real, arcname in listing.files:
                _add(tar, real, arcname)
                done += 1
                if done % PROGRESS_EVERY_FILES == 0 or time.monotonic() - last > PROGRESS_EVERY_SECONDS:
                    _progress(cart, files_done=done)
                    last = time.monotonic()
        os.replace(partial, downloads / name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    cart.status, cart.archive, cart.files_done = CartStatus.READY, name, done
    cart.files_total, cart.error, cart.finished_at = len(listing.files), listing.report, timezone.now()
    cart.save(update_fields=["status", "archive", "files_done", "files_total", "error", "finished_at"])
    return cart


def _add(tar: tarfile.TarFile, real: str, arcname: str) -> None:
    """Add one file, opened without following a symlink: one put in its place since the listing (to lead
    out of the data root) fails here instead of being archived."""
    fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        info = tar.gettarinfo(arcname=arcname, fileobj=handle)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{arcname} is not a regular file")
        info.uname = info.gname = ""
        tar.addfile(info, handle)


def cart_fail(cart: DownloadCart, error: str) -> DownloadCart:
    """Mark the build failed with the reason the page shows."""
    cart.status, cart.error, cart.finished_at = CartStatus.FAILED, error.strip()[:10000], timezone.now()
    DownloadCart.objects.filter(pk=cart.pk).update(status=cart.status, error=cart.error, finished_at=cart.finished_at)
    return cart


# --- the email --------------------------------------------------------------------------------------------


def download_url(cart: DownloadCart) -> str:
    """The absolute address of the tar: emails have no request to build it from."""
    return urljoin(settings.SITE_URL + "/", reverse("data:cart_download", args=[cart.pk]).lstrip("/"))


def build_ready_message(cart: DownloadCart) -> EmailMultiAlternatives:
    """The "your download is ready" email: text and HTML from ``templates/email/download_ready.*``."""
    context = {
        "facility_name": settings.FACILITY_NAME,
        "cart": cart,
        "user": cart.user,
        "collection_count": cart.collections.count(),
        "size": archive_path(cart).stat().st_size if archive_path(cart).exists() else None,
        "download_url": download_url(cart),
        "cart_url": urljoin(settings.SITE_URL + "/", reverse("data:cart").lstrip("/")),
    }
    message = EmailMultiAlternatives(
        subject=f"[{settings.FACILITY_NAME}] Your download is ready ({cart.files_done} files)",
        body=render_to_string("email/download_ready.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[cart.user.email],
    )
    message.attach_alternative(render_to_string("email/download_ready.html", context), "text/html")
    return message
