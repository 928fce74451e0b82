"""The REST API under /api/v1/: one router for every app's endpoints, the token, the schema and its docs."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from lims.api import barcodes, views
from lims.api.docs import ApiDocsView
from samples.api import changer_views
from samples.api.urls import router as samples_router
from samples.data.api.urls import router as data_router
from samples.data.api.urls import urlpatterns as data_paths
from shipping.api.urls import router as shipping_router

app_name = "api"


class Router(DefaultRouter):
    """The API root lists the endpoints; no ``.json`` suffixes (``?format=`` names downloads instead)."""

    include_format_suffixes = False


router = Router()
router.register("proposals", views.ProposalViewSet, basename="proposal")
# The core's sessions and beamlines, with what the samples app adds to them (their samples, the changer).
router.register("sessions", changer_views.SessionViewSet, basename="session")
router.register("beamlines", changer_views.BeamlineViewSet, basename="beamline")
router.register("lab-contacts", views.LabContactViewSet, basename="labcontact")
# One router, so that the API root lists every app's endpoints.
router.registry.extend(shipping_router.registry)
router.registry.extend(samples_router.registry)
router.registry.extend(data_router.registry)

urlpatterns = [
    path("auth/token/", views.ObtainTokenView.as_view(), name="token"),
    path("auth/token/revoke/", views.RevokeTokenView.as_view(), name="token-revoke"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="api:schema"), name="docs"),
    path("barcodes/decode/", barcodes.BarcodeDecodeView.as_view(), name="barcode-decode"),
    path("barcodes/check/", barcodes.BarcodeCheckView.as_view(), name="barcode-check"),
    *data_paths,
    *router.urls,
]
