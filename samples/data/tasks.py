"""Celery tasks of the data: they take primary keys and are sent after the transaction commits."""

import logging
import smtplib

from celery import shared_task

from lims import after_commit
from lims.errors import InvalidTransition

from .cart import build_ready_message, cart_build, cart_fail
from .choices import CartStatus
from .models import DownloadCart

log = logging.getLogger(__name__)

# A file system that hiccups (NFS, GPFS, a full disk being cleared) or a mail server that is down: worth
# trying again later. ConnectionError and socket timeouts are OSErrors.
RETRYABLE = (OSError, smtplib.SMTPException)


@shared_task(bind=True, max_retries=after_commit.MAX_RETRIES)
def build_download(self, cart_id: int) -> str:
    """Build a cart's tar (``samples.data.cart.cart_build``), then email its owner the link.

    A file-system or mail error is retried by a worker (``lims.after_commit``'s policy); on the last attempt, and the only one
    when the task runs in-process (no broker), the cart is marked failed with the error, which the cart
    page shows. A retry after the tar was written (the mail failed) only sends the mail. Returns the
    cart's status.
    """
    cart = DownloadCart.objects.select_related("user").filter(pk=cart_id).first()
    if cart is None:
        log.warning("download cart %s no longer exists", cart_id)
        return "missing"
    try:
        if cart.status != CartStatus.READY:
            cart = cart_build(cart_id)
    except InvalidTransition as exc:
        # Delivered twice, or the cart changed meanwhile: nothing of ours to do.
        log.warning("download cart %s: %s", cart_id, exc)
        return cart.status
    except Exception as exc:
        return _failed(self, cart, exc)
    try:
        if cart.status == CartStatus.READY and cart.user.email:
            build_ready_message(cart).send()
    except RETRYABLE as exc:
        # The tar is there and the page links it: only the email is missing; try again, then give up.
        if not after_commit.is_final_attempt(self):
            raise self.retry(exc=exc, countdown=after_commit.retry_countdown(self.request.retries)) from exc
        log.error("download cart %s is ready but its email failed for good: %s", cart_id, exc)
    return cart.status


def _failed(task, cart: DownloadCart, exc: Exception) -> str:
    retryable = isinstance(exc, RETRYABLE)
    if retryable and not after_commit.is_final_attempt(task):
        # The next attempt, by the one policy; the cart stays "building" meanwhile.
        raise task.retry(exc=exc, countdown=after_commit.retry_countdown(task.request.retries)) from exc
    cart_fail(cart, f"The download could not be built: {type(exc).__name__}: {exc}")
    if not retryable:
        raise exc  # a fault of ours: recorded on the cart and left loud
    log.error("download cart %s failed for good: %s", cart.pk, exc)
    return CartStatus.FAILED
