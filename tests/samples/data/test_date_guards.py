"""Times that parse but that the database cannot compare or store (an offset past ±14:00, the ends of the
calendar) are a 400 on every surface that reads one: list filters, the data catalogue, the ISPyB-compatible
API, ingest; never an OverflowError or a database error as a 500."""

import base64
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from lims.validators import validate_datetime
from samples.data import catalogue_query
from tests import factories as f
from tests.conftest import api_as

pytestmark = pytest.mark.django_db

OUT_OF_RANGE = [
    "0014-05-28T12:26:01+22:10",  # an offset no place has (PostgreSQL refuses it)
    "0001-01-01T00:00:00+05:00",  # before year 1 in UTC
    "0001-01-01T03:00:00-05:00",  # year 1 with a negative offset: shown in local time, the day before
    "9999-12-31T23:59:59-05:00",  # after year 9999 in UTC
    "9999-12-31T20:00:00+03:00",
]


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_the_shared_validator_refuses_them(value):
    from datetime import datetime

    with pytest.raises(ValidationError):
        validate_datetime(datetime.fromisoformat(value))


def test_the_shared_validator_keeps_ordinary_times():
    from datetime import datetime

    for value in ("2026-03-10T10:00:00+14:00", "1970-01-01T00:00:00-12:00", "2026-03-10T10:00:00"):
        validate_datetime(datetime.fromisoformat(value))


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize("param", ["start_after", "start_before"])
def test_session_date_filters_answer_400(member, param, value):
    response = api_as(member).get("/api/v1/sessions/", {param: value})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid" and list(response.json()["errors"]) == [param]


def test_an_ordinary_date_filter_still_works(member, proposal):
    f.SessionFactory(proposal=proposal)
    response = api_as(member).get("/api/v1/sessions/", {"start_after": "2000-01-01T00:00:00+02:00"})
    assert response.status_code == 200 and response.json()["count"] == 1


@pytest.mark.parametrize("param", ["from", "to"])
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_catalogue_dates_at_the_ends_of_the_calendar_are_left_out(member, param, value):
    client = Client(raise_request_exception=False)
    client.force_login(member)
    response = client.get("/data/", {param: value})
    assert response.status_code == 400  # as for any filter left out
    assert "out of range" in response.content.decode()


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_a_catalogue_page_link_with_such_a_time_is_damaged(member, value):
    cursor = base64.urlsafe_b64encode(json.dumps(["-start_time", value, 1]).encode()).decode().rstrip("=")
    with pytest.raises(catalogue_query.CursorError):
        catalogue_query.Cursor.decode(cursor, "-start_time")


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_a_data_collection_page_link_with_such_a_time_is_a_404(member, value):
    from urllib.parse import urlencode

    cursor = base64.b64encode(urlencode({"p": value}).encode()).decode()
    client = Client(raise_request_exception=False)
    client.force_login(member)
    response = client.get("/api/v1/data-collections/", {"cursor": cursor})
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def ispyb(key: str):
    client = Client(raise_request_exception=False)
    return lambda path, data: client.post(
        f"/ispyb/api/v1/{path}", json.dumps(data), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_ispyb_robot_action_times_answer_400(isara, value):
    post = ispyb(f.api_token(isara, name="MXCuBE MX-3"))
    response = post("events/robot-action", {"actionType": "LOAD", "startTimestamp": value})
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["startTimestamp"]


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_ispyb_session_dates_answer_400(isara, proposal, value):
    post = ispyb(f.api_token(isara, name="MXCuBE MX-3"))
    response = post("sessions", {"proposalId": proposal.pk, "startDate": value, "endDate": "2026-03-10T10:00:00+00:00"})
    assert response.status_code == 400, response.content
    assert "startDate" in response.json()["errors"]


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_ingest_times_answer_400(isara, value):
    client = api_as(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {f.api_token(isara, name='pipeline MX-3')}")
    item = {
        "external_id": "dc-1",
        "start_time": value,
        "directory": "/data/mx2345/lyso",
        "file_template": "lyso_1_####.cbf",
        "number_of_images": 3600,
        "wavelength": 0.9763,
        "exposure_time": 0.01,
        "oscillation_start": 0.0,
        "oscillation_range": 0.1,
    }
    response = client.post("/api/v1/data-collections/", item, format="json")
    assert response.status_code == 400, response.content
    assert "start_time" in json.dumps(response.json()["errors"])
