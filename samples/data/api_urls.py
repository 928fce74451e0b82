"""Data endpoints (ingest for pipelines; reads); registered on the API's one router in ``lims.api.urls``."""

from rest_framework.routers import SimpleRouter

router = SimpleRouter()

# Plain paths that are no viewset (added to lims.api.urls as they are).
urlpatterns = []
