"""Routes of the ISPyB-compatible API, mounted at /ispyb/api/v1/: the paths exactly as beamline control
joins them (no trailing slash)."""

from django.urls import path

from . import views
from .http import methods

app_name = "ispyb"

urlpatterns = [
    path("auth/login", methods(POST=views.login), name="login"),
    path("auth/refresh", methods(POST=views.refresh), name="refresh"),
    path("proposals", methods(GET=views.proposal_list), name="proposals"),
    path("sessions", methods(GET=views.session_list, POST=views.session_book), name="sessions"),
    path("sessions/<int:pk>", methods(GET=views.session_detail), name="session"),
    path("samples", methods(GET=views.sample_list), name="samples"),
    path("samples/<int:pk>", methods(GET=views.sample_detail, PATCH=views.sample_update), name="sample"),
    path("events/robot-action", methods(POST=views.robot_action_report), name="robot-action-report"),
    path("robot-actions/<int:pk>", methods(PATCH=views.robot_action_update), name="robot-action"),
]
