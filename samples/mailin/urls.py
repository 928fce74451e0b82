"""The mail-in operator's pages and the result reports, mounted at /mailin/."""

from django.urls import path

from . import views

app_name = "mailin"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("samples/<int:pk>/state/", views.sample_state, name="sample_state"),
    path("<int:pk>/complete/", views.complete, name="complete"),
    path("<int:pk>/reissue/", views.reissue, name="reissue"),
    path("reports/<int:pk>/", views.download, name="download"),
]
