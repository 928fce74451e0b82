"""The mail-in operator's pages, mounted at /mailin/."""

from django.urls import path

from . import views

app_name = "mailin"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("samples/<int:pk>/state/", views.sample_state, name="sample_state"),
]
