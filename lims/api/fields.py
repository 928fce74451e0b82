"""Serializer fields shared by the apps' APIs."""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lims.validators import validate_datetime


class CharField(serializers.CharField):
    """Text that must arrive as text: DRF's turns ``123`` into ``"123"``, hiding a client's mistake."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class DateTimeField(serializers.DateTimeField):
    """A time as RFC 3339 has it, both ways. In: one the database can hold (``lims.validators``). Out: in the
    facility's zone, except where that zone's offset is not whole minutes (Paris before 1911 kept its local
    mean time, +00:09:21, which no RFC 3339 reader takes): then in UTC. Every ModelSerializer uses it
    (``LimsConfig.ready``)."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        try:
            validate_datetime(parsed)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code="out_of_range") from None
        return parsed

    def to_representation(self, value):
        if isinstance(value, datetime):
            offset = self.enforce_timezone(value).utcoffset()
            if offset is not None and offset.total_seconds() % 60:
                return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return super().to_representation(value)


class PrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id that must arrive as an integer (or its digits in a form): DRF's takes ``1.5`` for id 1, and
    ``true`` for id 1 too (booleans are ints to Python)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyRelatedField(PrimaryKeyRelatedField):
    """An id resolved within what the requesting user may see: another proposal's id is "does not exist".

    ``scope`` is a selector taking the user (``lims.selectors.lab_contact_visible_to``...), called per
    request, so the choices can never leak across proposals whatever serializer the field sits in.
    """

    def __init__(self, scope, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        return self.scope(getattr(request, "user", None))


class UserSummarySerializer(serializers.Serializer):
    """A person as other objects show them: no more than a name and a way to reach them."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField()
    email = serializers.EmailField(read_only=True)

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()
