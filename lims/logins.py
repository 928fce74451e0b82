"""Password logins, limited by django-axes: the sign-in page, the API's token and the ISPyB-compatible login.

    password_login(*, request, username, password) -> User | None     raises LockedOut
    lockout_response(request, original_response=None, credentials=None)   AXES_LOCKOUT_CALLABLE

Failures are counted per username and client address together (``AXES_LOCKOUT_PARAMETERS``): after
``AXES_FAILURE_LIMIT`` of them that username is refused from that address, even with the right password,
until ``AXES_COOLOFF_TIME`` has passed or an admin deletes the access attempt (admin, or
``manage.py axes_reset_username``). A beamline's API token given to the ISPyB login is no password and is
never counted.
"""

from __future__ import annotations

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

LOCKED_OUT = "locked_out"


class LockedOut(Exception):
    """Too many failed logins for this username from this address: refused whatever the password."""

    def __init__(self):
        super().__init__(lockout_message())


def _cool_off_seconds() -> int | None:
    cool_off = settings.AXES_COOLOFF_TIME
    return int(cool_off.total_seconds()) if cool_off else None


def lockout_message() -> str:
    seconds = _cool_off_seconds()
    if seconds is None:
        wait = "ask the facility's admin to lift the lock"
    elif seconds < 3600:
        wait = f"try again in {max(1, round(seconds / 60))} minutes, or ask the facility's admin to lift the lock"
    else:
        wait = f"try again in {seconds / 3600:g} hours, or ask the facility's admin to lift the lock"
    return f"Too many failed sign-ins for this user from your address: {wait}."


def password_login(*, request, username: str, password: str):
    """The active user that ``username`` and ``password`` name, or None; every failure is counted by axes.

    ``request`` may be DRF's: axes marks the Django request beneath it, so that its middleware answers for
    a lockout too. An API login is no session login (Django's ``user_logged_in``, on which axes resets the
    count, is not sent), so the count is reset here on success, as axes does on a page login.
    """
    http_request = getattr(request, "_request", request)
    user = authenticate(http_request, username=username, password=password)
    if getattr(http_request, "axes_locked_out", False):
        raise LockedOut
    if user is None or not user.is_active:
        return None
    if settings.AXES_ENABLED and settings.AXES_RESET_ON_SUCCESS:
        axes_reset(ip=getattr(http_request, "axes_ip_address", None), username=user.get_username())
    return user


def locked_out_json() -> JsonResponse:
    """The API's answer to a locked-out login: 429 in the error shape of every API error."""
    response = JsonResponse({"detail": lockout_message(), "code": LOCKED_OUT}, status=429)
    seconds = _cool_off_seconds()
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: JSON under the API paths, else the sign-in page with the message."""
    from lims.api.errors import API_PREFIXES  # lims.api imports other apps: not at module level

    if request.path.startswith(API_PREFIXES):
        return locked_out_json()
    form = AuthenticationForm(request, initial={"username": (credentials or {}).get("username") or ""})
    return render(request, "registration/login.html", {"form": form, "locked_out": lockout_message()}, status=429)
