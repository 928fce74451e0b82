"""Completing a mail-in shipment's work and its result reports, mounted at /mailin/."""

from django.urls import path

from . import report_views

app_name = "mailin_reports"

urlpatterns = [
    path("<int:pk>/complete/", report_views.complete, name="complete"),
    path("<int:pk>/reissue/", report_views.reissue, name="reissue"),
    path("reports/<int:pk>/", report_views.download, name="download"),
]
