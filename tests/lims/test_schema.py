"""The OpenAPI schema tells the truth about the answers, and the API refuses loosely typed input."""

import json
from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from lims.api.fields import DateTimeField

from .. import factories as f
from ..conftest import api_as

ERROR_CODES = {"400", "401", "403", "404", "409"}


@pytest.fixture
def schema(api, db):
    return json.loads(api.get("/api/v1/schema/", {"format": "json"}).content)


def resolve(schema, ref: str) -> dict:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_every_error_answer_is_documented_in_the_error_shape(schema):
    responses = schema["paths"]["/api/v1/shipments/{id}/"]["patch"]["responses"]
    assert set(responses) >= ERROR_CODES
    for code in ERROR_CODES:
        body = resolve(schema, responses[code]["content"]["application/json"]["schema"]["$ref"])
        assert {"detail", "code"} <= set(body["required"]), code
    invalid = resolve(schema, responses["400"]["content"]["application/json"]["schema"]["$ref"])
    assert invalid["properties"]["errors"]["additionalProperties"]["type"] == "array"
    # Anonymous callers are told 401 even where a view documents nothing but its success.
    assert "401" in schema["paths"]["/api/v1/proposals/"]["get"]["responses"]


def test_a_blank_mailin_request_is_in_the_read_enum(schema):
    field = resolve(schema, "#/components/schemas/ShipmentSample")["properties"]["mailin_request"]
    values = [v for option in field["oneOf"] for v in resolve(schema, option["$ref"])["enum"]]
    assert "" in values


def test_the_sheet_import_documents_its_problem_list(schema):
    response = schema["paths"]["/api/v1/shipments/{id}/import/"]["post"]["responses"]["400"]
    shapes = resolve(schema, response["content"]["application/json"]["schema"]["$ref"])["oneOf"]
    sheet = resolve(schema, shapes[0]["$ref"])
    problem = resolve(schema, sheet["properties"]["errors"]["items"]["$ref"])
    assert set(problem["properties"]) == {"line", "column", "message"}


@pytest.mark.parametrize(("field", "value"), [("proposal", 1.5), ("name", 123), ("name", 1.5)])
def test_a_shipment_refuses_loosely_typed_fields(member, proposal, field, value):
    body = {"proposal": proposal.pk, "name": "Typed"} | {field: value}
    response = api_as(member).post("/api/v1/shipments/", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]


def test_a_nested_sample_name_must_be_text(member, shipment):
    dewar = shipment.dewars.get()
    container = dewar.containers.get()
    body = {
        "dewars": [
            {"name": dewar.name, "containers": [{"name": container.name, "samples": [{"position": 1, "name": 123}]}]}
        ]
    }
    response = api_as(member).patch(f"/api/v1/shipments/{shipment.pk}/", body, format="json")
    assert response.status_code == 400, response.json()
    assert "dewars.0.containers.0.samples.0.name" in response.json()["errors"]


def test_a_lab_contact_refuses_loosely_typed_fields(member, proposal):
    body = {
        "proposal": proposal.pk + 0.5,
        "card_name": 42,
        "name": 123,
        "telephone": "1",
        "email": "a@example.org",
        "lab_name": "Lab",
        "address": "Somewhere",
    }
    response = api_as(member).post("/api/v1/lab-contacts/", body, format="json")
    assert response.status_code == 400, response.json()
    assert {"proposal", "card_name", "name"} <= set(response.json()["errors"])


def test_a_time_before_1911_is_answered_as_rfc_3339_has_it(isara):
    """Paris kept its local mean time (+00:09:21) until 1911: an offset in seconds, which no RFC 3339 reader
    takes. Such a time is answered in UTC, every other in the facility's zone."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {f.api_token(isara)}")
    old = client.post(
        "/api/v1/robot-actions/", {"action_type": "WASH", "started_at": "0409-10-23T13:19:33Z"}, format="json"
    )
    assert old.status_code == 201, old.json()
    assert old.json()["started_at"] == "0409-10-23T13:19:33Z"
    recent = DateTimeField().to_representation(datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    assert recent == "2026-07-01T14:00:00+02:00"
