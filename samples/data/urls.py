"""Pages of the data: the "Where's my data?" catalogue and a collection's page, mounted at /data/."""

from django.urls import path

from . import views

app_name = "data"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("<int:pk>/", views.collection_detail, name="collection"),
    # Spelled out: /data/<id>/<anything>/ is also where the actions (samples.data.action_urls) live.
    path("<int:pk>/thumbnail/", views.collection_image, {"kind": "thumbnail"}, name="thumbnail"),
    path("<int:pk>/snapshot/", views.collection_image, {"kind": "snapshot"}, name="snapshot"),
]
