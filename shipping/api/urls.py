"""Shipping endpoints; registered on the API's one router in ``config.api_urls``."""

from rest_framework.routers import SimpleRouter

from . import scans, views

router = SimpleRouter()
router.register("shipments", views.ShipmentViewSet, basename="shipment")
router.register("locations", views.LocationViewSet, basename="location")
router.register("scans", scans.ScanViewSet, basename="scan")
router.register("dewars", scans.DewarViewSet, basename="dewar")

urlpatterns = router.urls
