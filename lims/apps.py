from django.apps import AppConfig


class LimsConfig(AppConfig):
    name = "lims"
    verbose_name = "LIMS core"

    def ready(self):
        from django.db import models
        from rest_framework.serializers import ModelSerializer

        from .api.fields import DateTimeField

        # Every model time in the API is read and written as RFC 3339 allows (see DateTimeField); DRF's
        # documented mapping is the one place that reaches every ModelSerializer of every app.
        ModelSerializer.serializer_field_mapping[models.DateTimeField] = DateTimeField
