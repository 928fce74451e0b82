"""The API's JSON goes out through orjson (lims.api.renderers): the same JSON as DRF's own renderer."""

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers

from lims.api.renderers import JSONRenderer
from shipping.choices import DewarStatus


def test_what_drf_would_write_is_what_orjson_writes():
    data = {
        "when": dt.datetime(2026, 3, 10, 10, 0, 42, 123456, tzinfo=dt.UTC),
        "day": dt.date(2026, 3, 10),
        "price": Decimal("12.50"),
        "label": gettext_lazy("Sent to facility"),
        "status": DewarStatus.AT_FACILITY,
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "name": "Lysozyme ß-form, 10 Å",
        "nested": [{"n": 1, "x": 1.5, "none": None, "ok": True}],
        "tags": {"b"},
        1: "an integer key",
    }
    ours = JSONRenderer().render(data)
    theirs = renderers.JSONRenderer().render(data)
    assert isinstance(ours, bytes) and json.loads(ours) == json.loads(theirs)
    assert b'"2026-03-10T10:00:42.123456Z"' in ours  # DRF's rule for times, not orjson's own


def test_an_indented_answer_when_asked_and_nothing_for_none():
    indented = JSONRenderer().render({"a": 1}, "application/json; indent=2")
    assert indented == renderers.JSONRenderer().render({"a": 1}, "application/json; indent=2")
    assert JSONRenderer().render(None) == b""


@pytest.mark.django_db
def test_an_answer_goes_when_written_not_when_the_garbage_collector_comes(isara):
    """DRF leaves a response in cycles (its context holds it and the view, the view holds it): a long list's data
    then waited for the collector, whose passes over it cost several ms a request (beamline control's 464
    samples). Through Django's WSGI handler, as gunicorn calls it: once written and closed, the answer is freed
    by its reference count alone (lims.api.middleware.ReleaseRenderedResponse)."""
    import gc
    import weakref

    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from django.test import RequestFactory

    from tests import factories as f

    environ = RequestFactory().get("/api/v1/beamlines/", HTTP_AUTHORIZATION=f"Bearer {f.api_token(isara)}").environ
    handler = WSGIHandler()
    gc.collect()
    gc.disable()
    # As Django's test client does: the test's database connection stays open across the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        handler(dict(environ), lambda status, headers: None).close()  # the first request imports the URLconf
        response = handler(environ, lambda status, headers: None)
        assert response.status_code == 200 and isara.name in b"".join(response).decode()
        response.close()
        answer = weakref.ref(response)
        del response
        assert answer() is None  # freed by its reference count alone
    finally:
        gc.enable()
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
