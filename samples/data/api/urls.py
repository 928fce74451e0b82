"""Data endpoints (ingest for pipelines; reads); registered on the API's one router in ``config.api_urls``."""

from rest_framework.routers import SimpleRouter

from . import views as api

router = SimpleRouter()
router.register("data-collections", api.DataCollectionViewSet, basename="datacollection")
router.register("screening-results", api.ScreeningResultViewSet, basename="screeningresult")
router.register("processing-results", api.ProcessingResultViewSet, basename="processingresult")

# Plain paths that are no viewset (added to config.api_urls as they are).
urlpatterns = []
