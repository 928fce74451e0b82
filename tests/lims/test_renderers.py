"""The API's JSON goes out through orjson (lims.api.renderers): the same JSON as DRF's own renderer."""

import datetime as dt
import json
import uuid
from decimal import Decimal

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
