"""The plumbing of the ISPyB-compatible API: bearer auth, JSON in and out, every error in one shape.

Plain Django views rather than DRF: beamline control polls the sample list and reports every robot move,
so a request does only what it must: one query for the bearer, then the endpoint's own. Errors have the
shape of the native API (``lims.api.errors``): ``{"detail": str, "code": str}`` plus ``"errors"``
(``{field: [messages]}``) for bad input; a reply is always a JSON object or list.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime

from django.core.exceptions import PermissionDenied, SuspiciousOperation, ValidationError
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from lims.api.errors import NON_FIELD, django_errors, refused_request
from lims.api.parsers import loads
from lims.errors import DomainError
from lims.tokens import principal_for_bearer
from lims.validators import DATETIME_OUT_OF_RANGE, datetime_in_range

try:  # orjson is in the dependencies; the standard library keeps the API up should it be missing
    import orjson

    def dumps(data) -> bytes:
        return orjson.dumps(data)

except ImportError:  # pragma: no cover

    def dumps(data) -> bytes:
        return json.dumps(data, separators=(",", ":")).encode()


# PostgreSQL refuses NUL in text: refused here, as bad input, rather than by the database as a 500.
NUL_REFUSED = "Text may not contain NUL characters."
# Largest value of a bigint id; anything above is no id of ours (and must not reach the database).
MAX_ID = 2**63 - 1
# People who may write what beamline control writes (robot actions, sample statuses): any facility role.


class ApiError(Exception):
    """An error answer: status, a sentence for people, a code for programs and optional field errors."""

    def __init__(self, status: int, detail: str, code: str, errors: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.code, self.errors = status, detail, code, errors


def not_found(what: str = "Not found.") -> ApiError:
    return ApiError(404, what, "not_found")


def one_of(queryset):
    """The first row of ``queryset`` or None, unordered: ``.first()`` would sort by the model's ordering,
    joins included, to pick one of rows that a unique lookup narrows to one anyway."""
    for row in queryset.order_by()[:1]:
        return row
    return None


def reply(data, status: int = 200) -> HttpResponse:
    return HttpResponse(dumps(data), status=status, content_type="application/json")


def error_reply(exc: ApiError) -> HttpResponse:
    data = {"detail": exc.detail, "code": exc.code}
    if exc.errors is not None:
        data["errors"] = exc.errors
    response = reply(data, exc.status)
    if exc.status == 401:
        # The client refreshes once on a 401 and retries; the challenge says what to send.
        response["WWW-Authenticate"] = 'Bearer realm="ispyb"'
    return response


def invalid(errors: dict[str, list[str]]) -> ApiError:
    """400 for bad input; the detail repeats the first problem, as the native API does."""
    path, messages = next(iter(errors.items()))
    where = "" if path == NON_FIELD else f"{path}: "
    more = len(errors) - 1
    detail = f"Invalid input: {where}{messages[0]}" + (f" (and {more} more)" if more else "")
    return ApiError(400, detail, "invalid", errors)


def authenticate(request):
    """The principal of ``Authorization: Bearer <login token | API token key>``: one query; 401 otherwise."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(
            401, "Send Authorization: Bearer <token> (from auth/login, or an API token).", "not_authenticated"
        )
    principal = principal_for_bearer(value)
    if principal is None:
        raise ApiError(401, "The token is unknown, revoked or expired.", "authentication_failed")
    return principal


def endpoint(view=None, *, auth: bool = True):
    """A view of this API: ``view(request, principal, **kwargs)`` (``view(request)`` with ``auth=False``).

    Turns every refusal into the error shape: ApiError, django ValidationError (400), DomainError (409),
    Http404, PermissionDenied; never a 500 for bad input.
    """

    def decorate(view):
        @functools.wraps(view)
        def handler(request, *args, **kwargs):
            try:
                if "%00" in request.META.get("QUERY_STRING", ""):
                    raise ApiError(400, NUL_REFUSED, "invalid")
                if not auth:
                    return view(request, *args, **kwargs)
                return view(request, authenticate(request), *args, **kwargs)
            except ApiError as exc:
                return error_reply(exc)
            except ValidationError as exc:
                return error_reply(invalid(django_errors(exc)))
            except DomainError as exc:
                return error_reply(ApiError(409, exc.message, exc.code))
            except Http404:
                return error_reply(not_found())
            except PermissionDenied as exc:  # a rule's refusal (lims.access) says who may
                detail = str(exc) or "You do not have permission to do this."
                return error_reply(ApiError(403, detail, "permission_denied"))
            except SuspiciousOperation as exc:  # e.g. a body above DATA_UPLOAD_MAX_MEMORY_SIZE
                return error_reply(ApiError(*refused_request(exc)))

        return handler

    return decorate(view) if view is not None else decorate


def methods(**handlers):
    """One URL, a handler per HTTP method (``methods(GET=..., POST=...)``); others get 405. No CSRF: the
    credential is a bearer header, which a browser never sends on its own."""
    allowed = ", ".join(handlers)

    @csrf_exempt
    def view(request, *args, **kwargs):
        handler = handlers.get(request.method)
        if handler is None:
            response = error_reply(ApiError(405, f"Method {request.method} not allowed.", "method_not_allowed"))
            response["Allow"] = allowed
            return response
        return handler(request, *args, **kwargs)

    return view


# Reading input.


def body(request) -> dict:
    """The request's JSON object (``{}`` when empty)."""
    raw = request.body
    if not raw:
        return {}
    if b"\\u0000" in raw:
        raise ApiError(400, NUL_REFUSED, "invalid")
    try:
        data = loads(raw)
    except ValueError:
        raise ApiError(400, "The body is not JSON.", "parse_error") from None
    if not isinstance(data, dict):
        raise ApiError(400, "Send a JSON object.", "parse_error")
    return data


def parse_id(value, field: str, errors: dict, *, blank: bool = True) -> int | None:
    """An id as beamline control sends it (a number or a digit string); None when blank; error otherwise."""
    if value is None or value == "":
        if not blank:
            errors[field] = ["This field is required."]
        return None
    number = _integer(value)
    if number is None or not 1 <= number <= MAX_ID:
        errors[field] = ["Give a positive whole number."]
        return None
    return number


def _integer(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and len(text) < 20:
            return int(text)
    return None


def parse_reference(value) -> int | None:
    """The sample id as beamline control sent it (-1, 0, an id nobody has), kept if it fits a bigint."""
    number = _integer(value)
    return number if number is not None and -MAX_ID <= number <= MAX_ID else None


def parse_timestamp(
    value, field: str, errors: dict, *, dates: bool = False, zulu_is_local: bool = False
) -> datetime | None:
    """ "YYYY-MM-DD HH:MM:SS" (local time, no zone) or ISO 8601 (with or without a zone); None when blank.
    With ``dates``, a bare date ("2025-03-01") is its midnight, local time. With ``zulu_is_local``, a
    trailing "Z" is the facility's wall-clock time, as ISPyB stores it: MXCuBE writes its naive local time
    with ``strftime("...%fZ")``, a "Z" that names no zone."""
    if value is None or value == "":
        return None
    parsed = None
    if isinstance(value, str) and len(value) <= 40:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] if zulu_is_local else text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is not None and not dates and len(text) == 10:
            parsed = None  # a date alone is no time of a robot's move
    if parsed is None:
        errors[field] = ['Give a time as "YYYY-MM-DD HH:MM:SS" (local) or ISO 8601.']
        return None
    if not datetime_in_range(parsed):
        errors[field] = [DATETIME_OUT_OF_RANGE]
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def iso(value: datetime | None) -> str | None:
    """A time as ISPyB answers it: ISO 8601, the facility's wall-clock time, no offset. Beamline control
    compares it with its own naive ``datetime.today()`` (an offset makes that comparison raise, and the
    session running now is never found)."""
    return timezone.localtime(value).replace(tzinfo=None).isoformat() if value is not None else None
