"""Sample endpoints; registered on the API's one router in ``config.api_urls``."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("proteins", views.ProteinViewSet, basename="protein")
router.register("containers", views.ContainerViewSet, basename="container")
router.register("samples", views.SampleViewSet, basename="sample")
router.register("robot-actions", views.RobotActionViewSet, basename="robotaction")

urlpatterns = router.urls
