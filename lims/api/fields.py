"""Serializer fields shared by the apps' APIs."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class CharField(serializers.CharField):
    """Text that must arrive as text: DRF's turns ``123`` into ``"123"``, hiding a client's mistake."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


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
