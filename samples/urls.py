"""Web pages of containers (pucks): the puck page and its photo audit."""

from django.urls import path

from . import views

app_name = "samples"

urlpatterns = [
    path("<int:pk>/", views.container_page, name="container"),
    path("<int:pk>/audit/", views.container_audit, name="container_audit"),
]
