"""Beamline pages: sample changers, sessions, samples."""

app_name = "beamline"

urlpatterns = []
