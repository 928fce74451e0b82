"""Routes of the ISPyB-compatible API, mounted at /ispyb/api/v1/."""

app_name = "ispyb"

urlpatterns = []
