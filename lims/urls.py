from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("lims.api.urls")),
    path("shipments/", include("shipping.urls")),
    path("", include("lims.web_urls")),
]
