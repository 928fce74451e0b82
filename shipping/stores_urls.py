"""Pages of the stores, under /stores/: the dashboard and the scan station."""

from django.urls import path

from . import stores_views

app_name = "stores"

urlpatterns = [
    path("", stores_views.stores_dashboard, name="dashboard"),
    path("scan/", stores_views.scan_station, name="scan"),
]
