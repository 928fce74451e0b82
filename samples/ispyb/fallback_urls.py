"""Every other path under /ispyb/: the API's 404 in its error shape, never Django's page (DEBUG or not)."""

from django.urls import re_path

from .record_views import unknown_path

urlpatterns = [re_path(r"^.*$", unknown_path)]
