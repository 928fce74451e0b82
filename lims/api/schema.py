"""The OpenAPI schema's error answers, documented once for every operation (``settings.REST_FRAMEWORK``'s
``DEFAULT_SCHEMA_CLASS``), in the shape that ``lims.api.errors`` gives them:

    401          any operation: a credential was sent and is unknown, revoked or expired (or none was sent)
    403          operations that need a credential: the caller's role may not (or a session without CSRF token)
    404          a path with an id, or a page/cursor past the end
    400          an operation that reads a body or query parameters: ``errors`` says which field is wrong
    409          writes: the object's state forbids it (``code`` says why)
    429          logins and throttled views: too many tries

A view that documents a code itself (``@extend_schema(responses={400: ...})``) keeps its own.
"""

import copy

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers


def blank_in_model(field) -> bool:
    """Whether the model field behind a serializer field may hold "" (``blank=True``)."""
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or len(field.source_attrs) != 1:
        return False
    try:
        return model._meta.get_field(field.source_attrs[0]).blank
    except FieldDoesNotExist:
        return False


WRITES = ("POST", "PUT", "PATCH", "DELETE")
PAGE_PARAMETERS = ("page", "cursor")


class ErrorSerializer(serializers.Serializer):
    """Every error of the API: a message for people and a code for programs."""

    detail = serializers.CharField()
    code = serializers.CharField()


class InvalidSerializer(ErrorSerializer):
    """Bad input: ``errors`` maps each wrong field (or its path in a tree: ``dewars.0.name``) to its messages."""

    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class SheetProblemSerializer(serializers.Serializer):
    """One problem of a sample sheet, where a spreadsheet user finds it."""

    line = serializers.IntegerField(allow_null=True)
    column = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class SheetErrorSerializer(ErrorSerializer):
    """A sample sheet that cannot be imported (``code`` "invalid_sheet"): every problem found, in order."""

    errors = SheetProblemSerializer(many=True)


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's, with the error answers of the module docstring added to each operation, and the
    blank choice of a read-only model field in its enum."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if isinstance(field, serializers.ChoiceField) and field.read_only and blank_in_model(field):
            # ModelSerializer drops allow_blank from read-only fields, but the answer still carries the
            # stored "" (``mailin_request: ""`` on a pin that is not mail-in).
            field = copy.copy(field)
            field.allow_blank = True
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, (serializer, description) in self.error_responses(operation).items():
            if str(code) not in responses:
                response = self._get_response_for_code(serializer, str(code))
                responses[str(code)] = {**response, "description": description}
        return operation

    def error_responses(self, operation: dict) -> dict[int, tuple]:
        """The error codes this operation can answer, with their body and why."""
        needs_credential = bool(operation.get("security")) and {} not in operation["security"]
        query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        write = self.method in WRITES
        errors = {401: (ErrorSerializer, "No credential, or one that is unknown, revoked or expired.")}
        if needs_credential:
            errors[403] = (ErrorSerializer, "The caller may not do this (role, API token scope, CSRF).")
        if "{" in self.path or any(p in PAGE_PARAMETERS for p in query):
            errors[404] = (ErrorSerializer, "No such object among those the caller may see, or no such page.")
        if write or query or "requestBody" in operation:
            errors[400] = (InvalidSerializer, "Invalid input: ``errors`` says which field is wrong, and why.")
        if write and needs_credential:
            errors[409] = (ErrorSerializer, "The object's state forbids it: ``code`` says why.")
        if getattr(self.view, "throttle_classes", None) or (write and not needs_credential):
            errors[429] = (ErrorSerializer, "Too many tries: wait before trying again.")
        return errors
