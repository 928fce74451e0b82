from django.contrib import admin
from django.urls import include, path, re_path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("ispyb/api/v1/", include("samples.ispyb.urls")),
    re_path(r"^ispyb/", include("samples.ispyb.fallback_urls")),
    path("shipments/", include("shipping.urls")),
    path("stores/", include("shipping.stores_urls")),
    path("pucks/", include("samples.urls")),
    path("mailin/", include("samples.mailin.urls")),
    path("data/", include("samples.data.urls")),
    path("", include("samples.beamline.urls")),
    path("", views.dashboard, name="dashboard"),
    path("", include("lims.web_urls")),
]

handler400 = "lims.api.errors.bad_request"
handler404 = "lims.api.errors.not_found"
handler500 = "lims.api.errors.server_error"
