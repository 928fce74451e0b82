"""Routes of the ISPyB-compatible API, mounted at /ispyb/api/v1/: the paths exactly as beamline control
joins them (no trailing slash)."""

from django.urls import path, re_path

from . import data_views, record_views, views
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
    path("user/current", methods(GET=views.current_user), name="current-user"),
    path(
        "sessions/<int:pk>/associate-beamline-setup",
        methods(PATCH=record_views.session_setup_associate),
        name="session-setup",
    ),
    path("datacollections/group", methods(POST=data_views.group_store), name="collection-group"),
    path("datacollections/datacollection", methods(POST=data_views.collection_store), name="collection-store"),
    path("datacollections/<int:pk>", methods(GET=data_views.collection_detail), name="collection"),
    path("images/image", methods(POST=data_views.image_store), name="image"),
    path("detectors", methods(GET=record_views.detector_find), name="detectors"),
    path("beamline-setups/beamline-setup", methods(POST=record_views.beamline_setup_store), name="beamline-setup"),
    path("events/energyscan", methods(POST=record_views.energy_scan_store), name="energy-scan"),
    path(
        "events/energyscan/associate-bl-sample",
        methods(PATCH=record_views.energy_scan_link_sample),
        name="energy-scan-sample",
    ),
    path("events/xfe-fluorescence-spectrum", methods(POST=record_views.xrf_spectrum_store), name="xrf-spectrum"),
    # Anything else under the API: its 404 in the API's shape, never Django's page.
    re_path(r"^.*$", record_views.unknown_path),
]
