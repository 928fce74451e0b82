"""The OpenAPI schema of /api/v1/ tells the truth: schemathesis generates requests from it and every answer
must be documented (status code, content type, body), and never a 5xx. Four personas: a proposal member,
stores, a beamline's API token and anonymous. Bounded: a few examples an operation, no shrinking."""

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .. import factories as f

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 6
PASSWORD = "schema-pass-1"


@pytest.fixture
def app():
    """Django as a WSGI app on the test's database: like Django's test client, keep the connection open
    across requests, or the test's transaction would be closed under it."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(proposal, member, stores, isara, lab_contact, shipment):
    """Something to find behind the ids that schemathesis tries: a shipment tree, a session on MX-3."""
    f.SessionFactory(proposal=proposal, beamline=isara)
    return {"beamline_key": f.api_token(isara)}


def token_for(app, user) -> str:
    user.set_password(PASSWORD)
    user.save()
    client = schemathesis.python.wsgi.get_client(app)
    response = client.post("/api/v1/auth/token/", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["token"]


def run_all(app, headers: dict):
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except Exception as exc:  # every operation is tried; the failures are reported together
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("persona", ["member", "stores", "beamline", "anonymous"])
def test_the_api_answers_as_its_schema_says(persona, app, world, member, stores):
    headers = {
        "member": lambda: {"Authorization": f"Token {token_for(app, member)}"},
        "stores": lambda: {"Authorization": f"Token {token_for(app, stores)}"},
        "beamline": lambda: {"Authorization": f"Bearer {world['beamline_key']}"},
        "anonymous": lambda: {},
    }[persona]()
    run_all(app, headers)
