"""Pages that act on collections afterwards (flags, tags, moves) and the download cart, mounted at /data/."""

from django.urls import path

from . import action_views as views

app_name = "data_actions"

urlpatterns = [
    path("bulk/", views.bulk, name="bulk"),
    path("<int:pk>/comment/", views.comment, name="comment"),
    path("cart/", views.cart_page, name="cart"),
    path("cart/remove/", views.cart_remove_view, name="cart_remove"),
    path("cart/build/", views.cart_build_view, name="cart_build"),
    path("cart/<int:pk>/status/", views.cart_status, name="cart_status"),
    path("cart/<int:pk>/download/", views.cart_download, name="cart_download"),
]
