"""Beamline pages: sample changers, sessions, samples."""

from django.urls import path

from . import views

app_name = "beamline"

urlpatterns = [
    path("beamlines/", views.beamline_list, name="list"),
    path("beamlines/<str:name>/", views.changer, name="changer"),
    path("beamlines/<str:name>/assign/", views.assign, name="assign"),
    path("beamlines/<str:name>/unload/", views.unload, name="unload"),
    path("sessions/<int:pk>/", views.session_detail, name="session"),
    path("sessions/<int:pk>/unload/", views.session_unload_page, name="session_unload"),
    path("samples/<int:pk>/", views.sample_detail, name="sample"),
]
