"""Completing a mail-in shipment's work and its result reports, mounted at /mailin/."""

app_name = "mailin_reports"

urlpatterns = []
