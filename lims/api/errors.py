"""One shape for every error body of the API: ``{"detail": str, "code": str}``, plus ``"errors"``.

``errors`` is ``{path: [messages]}`` for bad input: a field name ("name"), or the path of a field in
a nested tree ("dewars.0.containers.1.samples.2.name"), the same paths that the shipment services
raise, so a client can point at the cell that is wrong whichever layer refused it. A sample sheet
that cannot be imported gives ``errors`` as a list of ``{"line", "column", "message"}`` instead.

    DRF ValidationError, django ValidationError   → 400 "invalid"
    InvalidInput (e.g. shipping.sheets.SheetError) → 400 with its code and "errors"
    NotAuthenticated, AuthenticationFailed        → 401
    PermissionDenied                              → 403 "permission_denied"
    Http404, NotFound                             → 404 "not_found"
    DomainError (InvalidTransition, Frozen, ...)  → 409 with its own code
    any other APIException                        → its status and code
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from django.views.defaults import server_error as django_server_error
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from lims.errors import DomainError, InvalidInput

NON_FIELD = "non_field_errors"


def flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as ``{"a.0.b": [messages]}``; items without errors are skipped."""
    errors: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            # A nested serializer's own (non-field) errors belong to the nested field itself.
            path = prefix.rstrip(".") if key == NON_FIELD and prefix else f"{prefix}{key}"
            for sub_path, messages in flatten(value, f"{path}.").items():
                errors.setdefault(sub_path, []).extend(messages)
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for index, item in enumerate(detail):
            for sub_path, messages in flatten(item, f"{prefix}{index}.").items():
                errors.setdefault(sub_path, []).extend(messages)
    else:
        messages = detail if isinstance(detail, list) else [detail]
        key = prefix.rstrip(".") or NON_FIELD
        errors.setdefault(key, []).extend(str(m) for m in messages)
    return errors


def django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A django ``ValidationError`` (from a service or ``full_clean``) as ``{path: [messages]}``."""
    if hasattr(exc, "error_dict"):
        return {(NON_FIELD if key == "__all__" else key): list(msgs) for key, msgs in exc.message_dict.items()}
    return {NON_FIELD: list(exc.messages)}


def invalid(errors: dict[str, list[str]]) -> Response:
    """400 for bad input; the detail repeats the first problem so that a human sees it at once."""
    detail = "Invalid input."
    if errors:
        path, messages = next(iter(errors.items()))
        first = messages[0] if messages else ""
        where = "" if path == NON_FIELD else f"{path}: "
        more = len(errors) - 1
        detail = f"Invalid input: {where}{first}" + (f" (and {more} more)" if more else "")
    return Response({"detail": detail, "code": "invalid", "errors": errors}, status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc, context):
    """DRF's ``EXCEPTION_HANDLER``: every error in the shape of the module docstring."""
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        return invalid(django_errors(exc))
    if isinstance(exc, InvalidInput):
        return Response(
            {"detail": exc.detail, "code": exc.code, "errors": exc.problems_json()}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, exceptions.ValidationError):
        return invalid(flatten(exc.detail))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: a bug, which Django reports as a 500
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # DRF answers 403 when the first authentication class (session) has no challenge to offer;
        # a missing or bad credential is a 401, and token clients need the challenge to know what to send.
        response.status_code = status.HTTP_401_UNAUTHORIZED
        response["WWW-Authenticate"] = 'Token realm="api"'
    response.data = {"detail": str(exc.detail), "code": code}
    return response


# Paths whose errors are JSON in the API's shape: the native API and the ISPyB-compatible one.
API_PREFIXES = ("/api/", "/ispyb/")


def not_found(request, exception=None):
    """Django's 404 handler: under /api/ and /ispyb/ the API's error shape, elsewhere the usual page."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)


def refused_request(exc) -> tuple[int, str, str]:
    """Status, detail and code for a request Django itself refused (a SuspiciousOperation) while reading it."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        return 413, f"The request body is larger than {limit / 2**20:g} MB; send less at a time.", "too_large"
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return 400, "The request has too many fields or files; send less at a time.", "too_many_fields"
    return 400, "Bad request.", "bad_request"


def bad_request(request, exception=None):
    """Django's 400 handler (an oversized or malformed request, refused before any view): under /api/ and
    /ispyb/ the API's error shape, elsewhere the usual page."""
    if request.path.startswith(API_PREFIXES):
        status_code, detail, code = refused_request(exception)
        return JsonResponse({"detail": detail, "code": code}, status=status_code)
    return django_bad_request(request, exception)


def server_error(request):
    """Django's 500 handler: under /api/ and /ispyb/ the API's error shape, elsewhere the usual page."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
    return django_server_error(request)
