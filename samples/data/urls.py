"""Pages of the data, mounted at /data/: the "Where's my data?" catalogue, a collection's page, and the pages
that act on collections afterwards (flags, tags, moves: ``action_views``) with the download cart."""

from django.urls import path

from . import action_views, views

app_name = "data"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("<int:pk>/", views.collection_detail, name="collection"),
    # Spelled out: /data/<id>/<anything>/ is also where a collection's comment is posted.
    path("<int:pk>/thumbnail/", views.collection_image, {"kind": "thumbnail"}, name="thumbnail"),
    path("<int:pk>/snapshot/", views.collection_image, {"kind": "snapshot"}, name="snapshot"),
    path("bulk/", action_views.bulk, name="bulk"),
    path("<int:pk>/comment/", action_views.comment, name="comment"),
    path("cart/", action_views.cart_page, name="cart"),
    path("cart/remove/", action_views.cart_remove_view, name="cart_remove"),
    path("cart/build/", action_views.cart_build_view, name="cart_build"),
    path("cart/<int:pk>/status/", action_views.cart_status, name="cart_status"),
    path("cart/<int:pk>/download/", action_views.cart_download, name="cart_download"),
]
