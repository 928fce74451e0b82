"""Core endpoints (proposals, sessions, beamlines, locations, lab contacts), token, schema, docs, error shape."""

import datetime as dt
import json
import re

import pytest
import yaml
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import exceptions

from lims.api.errors import exception_handler, flatten
from lims.errors import DomainError, Frozen, InvalidTransition
from lims.models import AuditEntry, LabContact
from shipping.choices import LocationKind
from tests import factories as f
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


# --- proposals, sessions, beamlines, locations ------------------------------------------------------------


def test_members_see_their_proposals_and_staff_see_all(proposal, other_proposal, member, stores):
    assert ids(api_as(member).get("/api/v1/proposals/")) == [proposal.pk]
    assert set(ids(api_as(stores).get("/api/v1/proposals/"))) == {proposal.pk, other_proposal.pk}
    body = api_as(member).get(f"/api/v1/proposals/{proposal.pk}/").json()
    assert body["name"] == "mx2345" and body["title"] == "Alice's kinases"
    assert api_as(member).get(f"/api/v1/proposals/{other_proposal.pk}/").status_code == 404


def test_sessions_are_scoped_and_filtered_by_proposal_and_beamline(proposal, other_proposal, member, admin_user):
    bl1, bl2 = f.BeamlineFactory(name="ID23-1"), f.BeamlineFactory(name="ID30B")
    lc = f.UserFactory(username="lc")
    ours_1 = f.SessionFactory(proposal=proposal, beamline=bl1, local_contact=lc)
    ours_2 = f.SessionFactory(proposal=proposal, beamline=bl2, start=timezone.now() + dt.timedelta(days=30))
    theirs = f.SessionFactory(proposal=other_proposal, beamline=bl1)
    client, staff = api_as(member), api_as(admin_user)

    assert set(ids(client.get("/api/v1/sessions/"))) == {ours_1.pk, ours_2.pk}
    assert ids(client.get("/api/v1/sessions/", {"beamline": bl2.pk})) == [ours_2.pk]
    assert set(ids(staff.get("/api/v1/sessions/", {"beamline": bl1.pk}))) == {ours_1.pk, theirs.pk}
    assert ids(staff.get("/api/v1/sessions/", {"proposal": other_proposal.pk})) == [theirs.pk]
    later = (timezone.now() + dt.timedelta(days=20)).isoformat()
    assert ids(client.get("/api/v1/sessions/", {"start_after": later})) == [ours_2.pk]
    body = client.get(f"/api/v1/sessions/{ours_1.pk}/").json()
    assert body["beamline_name"] == "ID23-1" and body["proposal_name"] == "mx2345"
    assert body["local_contact"]["username"] == "lc"
    assert client.get(f"/api/v1/sessions/{theirs.pk}/").status_code == 404
    assert client.get("/api/v1/sessions/", {"beamline": "x"}).status_code == 400


def test_beamlines_and_locations_are_for_any_signed_in_user(outsider):
    beamline = f.BeamlineFactory(name="ID30A-3")
    f.BeamlineFactory(name="Retired", active=False)
    stores = f.LocationFactory(name="Stores", kind=LocationKind.STORES)
    at_beamline = f.LocationFactory(name="ID30A-3 hutch", kind=LocationKind.BEAMLINE, beamline=beamline)
    client = api_as(outsider)
    assert ids(client.get("/api/v1/beamlines/")) == [beamline.pk]
    assert client.get(f"/api/v1/beamlines/{beamline.pk}/").json()["puck_positions"] == 29
    assert set(ids(client.get("/api/v1/locations/"))) == {stores.pk, at_beamline.pk}
    assert ids(client.get("/api/v1/locations/", {"kind": "beamline"})) == [at_beamline.pk]


# --- lab contacts ---------------------------------------------------------------------------------------

CARD = {
    "card_name": "Grenoble lab",
    "name": "Alice Martin",
    "telephone": "+33 4 76 00 00 01",
    "email": "alice@example.org",
    "lab_name": "Kinase Lab",
    "address": "1 Lab Road\nGrenoble",
    "default_courier": "DHL",
    "courier_account": "123",
    "default_customs_value": "100.00",
}


def test_a_member_creates_and_updates_a_lab_contact_through_the_service(proposal, member):
    client = api_as(member)
    created = client.post("/api/v1/lab-contacts/", {"proposal": proposal.pk, **CARD}, format="json")
    assert created.status_code == 201, created.json()
    contact = LabContact.objects.get(pk=created.json()["id"])
    assert contact.proposal == proposal and contact.default_customs_value == 100
    assert AuditEntry.objects.filter(user=member, object_id=str(contact.pk), action="create").exists()

    updated = client.patch(f"/api/v1/lab-contacts/{contact.pk}/", {"telephone": " +33 1 "}, format="json")
    assert updated.status_code == 200 and updated.json()["telephone"] == "+33 1"
    assert AuditEntry.objects.filter(user=member, object_id=str(contact.pk), action="update").exists()
    assert client.get(f"/api/v1/lab-contacts/{contact.pk}/").json()["card_name"] == "Grenoble lab"


def test_a_lab_contact_stays_with_its_proposal(proposal, other_proposal, member, lab_contact):
    f.ProposalMemberFactory(proposal=other_proposal, user=member)
    response = api_as(member).patch(
        f"/api/v1/lab-contacts/{lab_contact.pk}/", {"proposal": other_proposal.pk}, format="json"
    )
    assert response.status_code == 200
    lab_contact.refresh_from_db()
    assert lab_contact.proposal == proposal


def test_a_lab_contact_for_another_proposal_is_a_field_error(other_proposal, member):
    response = api_as(member).post("/api/v1/lab-contacts/", {"proposal": other_proposal.pk, **CARD}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["proposal"]
    assert not LabContact.objects.exists()


def test_lab_contact_errors(proposal, member, lab_contact):
    client = api_as(member)
    duplicate = client.post(
        "/api/v1/lab-contacts/", {"proposal": proposal.pk, **CARD, "card_name": "Home lab"}, format="json"
    )
    assert duplicate.status_code == 400 and list(duplicate.json()["errors"]) == ["card_name"]
    bad = client.post(
        "/api/v1/lab-contacts/",
        {"proposal": proposal.pk, **CARD, "email": "nope", "default_transport_value": "1e12"},
        format="json",
    )
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"email", "default_transport_value"}


def test_another_proposals_lab_contact_is_not_found(other_proposal, member):
    theirs = f.LabContactFactory(proposal=other_proposal)
    client = api_as(member)
    assert client.get(f"/api/v1/lab-contacts/{theirs.pk}/").status_code == 404
    assert client.patch(f"/api/v1/lab-contacts/{theirs.pk}/", {"name": "x"}, format="json").status_code == 404
    assert ids(client.get("/api/v1/lab-contacts/")) == []


# --- token ----------------------------------------------------------------------------------------------


def test_a_token_is_obtained_with_username_and_password_and_then_authenticates(member, api):
    response = api.post("/api/v1/auth/token/", {"username": "alice", "password": f.PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/proposals/").status_code == 200


def test_a_wrong_password_gets_no_token(member, api):
    response = api.post("/api/v1/auth/token/", {"username": "alice", "password": "guess"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "non_field_errors" in response.json()["errors"]


# --- schema and docs ------------------------------------------------------------------------------------


def test_the_schema_lists_the_shipment_endpoints(api):
    response = api.get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/shipments/",
        "/api/v1/shipments/{id}/",
        "/api/v1/shipments/{id}/send/",
        "/api/v1/shipments/{id}/cancel/",
        "/api/v1/shipments/{id}/import/",
        "/api/v1/shipments/sample-sheet-template/",
    ):
        assert path in schema["paths"], path
    methods = set(schema["paths"]["/api/v1/shipments/{id}/"])
    assert {"get", "put", "patch"} <= methods and "delete" not in methods
    as_json = json.loads(api.get("/api/v1/schema/", {"format": "json"}).content)
    assert as_json["paths"].keys() == schema["paths"].keys()


def test_the_docs_page_uses_no_external_host(api):
    # Beamline networks are often closed: the page must work from vendored assets alone.
    response = api.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]*)"', html)
    # The init script comes from the page's own address (no inline code under the Content-Security-Policy).
    init_script = "/api/v1/docs/?script="
    assert assets and all(a.startswith("/static/") or a == init_script for a in assets), assets
    assert not re.search(r"https?://", html)
    script = api.get(init_script)
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert not re.search(r"https?://", script.content.decode())
    assert "/api/v1/schema/" in script.content.decode()


# --- the error shape ------------------------------------------------------------------------------------


def test_nested_errors_are_flattened_to_paths():
    detail = {
        "name": ["Required."],
        "dewars": [{}, {"containers": [{"samples": [{}, {"name": ["Bad."]}]}]}],
        "sessions": {"non_field_errors": ["Expected a list."]},
        "non_field_errors": ["Whole thing."],
    }
    assert flatten(detail) == {
        "name": ["Required."],
        "dewars.1.containers.0.samples.1.name": ["Bad."],
        "sessions": ["Expected a list."],
        "non_field_errors": ["Whole thing."],
    }
    assert flatten(["Not a dict."]) == {"non_field_errors": ["Not a dict."]}


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (DomainError("No.", code="not_ready"), 409, {"detail": "No.", "code": "not_ready"}),
        (InvalidTransition("Sent already."), 409, {"detail": "Sent already.", "code": "invalid_transition"}),
        (Frozen("Frozen."), 409, {"detail": "Frozen.", "code": "frozen"}),
        (
            DjangoValidationError({"dewars.0.containers.1.samples.2.name": ["Bad."]}),
            400,
            {
                "detail": "Invalid input: dewars.0.containers.1.samples.2.name: Bad.",
                "code": "invalid",
                "errors": {"dewars.0.containers.1.samples.2.name": ["Bad."]},
            },
        ),
        (
            DjangoValidationError("Whole."),
            400,
            {"detail": "Invalid input: Whole.", "code": "invalid", "errors": {"non_field_errors": ["Whole."]}},
        ),
        (exceptions.NotFound(), 404, {"detail": "Not found.", "code": "not_found"}),
        (
            exceptions.PermissionDenied(),
            403,
            {"detail": "You do not have permission to perform this action.", "code": "permission_denied"},
        ),
        (
            exceptions.NotAuthenticated(),
            401,
            {"detail": "Authentication credentials were not provided.", "code": "not_authenticated"},
        ),
        (
            exceptions.AuthenticationFailed(),
            401,
            {"detail": "Incorrect authentication credentials.", "code": "authentication_failed"},
        ),
    ],
)
def test_every_error_has_detail_and_code(exc, status, body):
    response = exception_handler(exc, {})
    assert (response.status_code, response.data) == (status, body)


def test_a_bug_is_left_to_django():
    assert exception_handler(ZeroDivisionError(), {}) is None


def test_a_browser_session_authenticates_and_its_writes_need_the_csrf_token(proposal, member):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    # django-axes counts password logins per client: it needs a request, which Client.login does not give.
    assert client.login(request=HttpRequest(), username="alice", password=f.PASSWORD)
    assert ids(client.get("/api/v1/proposals/")) == [proposal.pk]
    response = client.post("/api/v1/lab-contacts/", {"proposal": proposal.pk, **CARD}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["detail"]


def test_an_unknown_api_url_answers_in_the_api_error_shape(client, member, settings):
    settings.DEBUG = False
    client.force_login(member)
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert "text/html" in client.get("/no-such-page/")["Content-Type"]
