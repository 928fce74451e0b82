"""API tokens scoped to a beamline: what beamline A's token reaches, and that beamline B's reaches none of it.

A token is a machine, not a person: it reads its beamline's changer, samples and sessions and writes its
robot actions, sample statuses and assignments; it sees no proposal, shipment or lab contact (empty lists,
404 for one of them). Revoked tokens are refused (401); use is recorded at most once a minute.
"""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from lims.models import ApiToken
from lims.tokens import LAST_USED_EVERY, TokenPrincipal, api_token_revoke
from samples.data.ingest import ingest_collections
from samples.data.models import DataCollection
from samples.models import RobotAction
from samples.services import container_assign, robot_action_create
from tests import factories as f

pytestmark = pytest.mark.django_db


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def lines(received, isara, beamline_staff):
    """Beamline A (MX-3) with Alice's puck in position 7 and a robot action; beamline B (MX-1) empty;
    a session of Alice's on A running now; one token each."""
    other = f.BeamlineFactory(name="MX-1", puck_positions=5, accepted_container_types=["unipuck"])
    now = timezone.now()
    session = f.SessionFactory(
        proposal=received.proposal, beamline=isara, start=now - dt.timedelta(hours=1), end=now + dt.timedelta(days=1)
    )
    puck = received.containers.get()
    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    sample = puck.samples.order_by("position").first()
    action = robot_action_create(by=beamline_staff, action_type="LOAD", beamline=isara, sample=sample)
    key_a = f.api_token(isara, name="MXCuBE MX-3")
    # A's pipeline wrote a collection (built on the token itself: its last use is tested below).
    (collection,) = ingest_collections(
        principal=TokenPrincipal(ApiToken.objects.get(name="MXCuBE MX-3")), items=[collection_item(sample.pk)]
    )
    return {
        "A": isara,
        "B": other,
        "a": key_a,
        "b": f.api_token(other, name="MXCuBE MX-1"),
        "data_collection": collection.pk,
        "dc_external_id": collection.external_id,
        "session": session.pk,
        "beamline": isara.pk,
        "container": puck.pk,
        "shipment": received.pk,
        "dewar": received.dewars.get().pk,
        "proposal": received.proposal_id,
        "sample": sample.pk,
        "robot_action": action.pk,
    }


def collection_item(sample_id, external_id="mx3-dc-1"):
    return {
        "external_id": external_id,
        "sample": sample_id,
        "start_time": "2026-03-10 10:00:00",
        "directory": "/data/mx2345",
        "file_template": "lyso_1_####.cbf",
    }


# (name, method, path, body(world) or None, status for A's token, status for B's token)
TOKEN_GRID = [
    ("beamline", "get", "/api/v1/beamlines/{beamline}/", None, 200, 404),
    ("changer", "get", "/api/v1/beamlines/{beamline}/changer/", None, 200, 404),
    ("beamline samples", "get", "/api/v1/beamlines/{beamline}/samples/", None, 200, 404),
    ("session", "get", "/api/v1/sessions/{session}/", None, 200, 404),
    ("session samples", "get", "/api/v1/sessions/{session}/samples/", None, 200, 404),
    ("sample", "get", "/api/v1/samples/{sample}/", None, 200, 404),
    ("sample history", "get", "/api/v1/samples/{sample}/history/", None, 200, 404),
    ("sample status", "post", "/api/v1/samples/{sample}/status/", lambda w: {"status": "LOADED"}, 201, 404),
    ("container", "get", "/api/v1/containers/{container}/", None, 200, 404),
    ("robot action", "get", "/api/v1/robot-actions/{robot_action}/", None, 200, 404),
    (
        "robot action complete",
        "patch",
        "/api/v1/robot-actions/{robot_action}/",
        lambda w: {"status": "SUCCESS"},
        200,
        404,
    ),
    # B's token names A's session: not one it knows of, a field error.
    (
        "robot action create",
        "post",
        "/api/v1/robot-actions/",
        lambda w: {"action_type": "UNLOAD", "session": w["session"], "sample": w["sample"]},
        201,
        400,
    ),
    (
        "assign",
        "post",
        "/api/v1/containers/{container}/assign/",
        lambda w: {"position_code": "MX-3:09"},
        200,
        404,
    ),
    ("unassign", "post", "/api/v1/containers/{container}/unassign/", None, 200, 404),
    ("unload", "post", "/api/v1/sessions/{session}/unload/", None, 200, 404),
    # Data: B's token neither reads A's collections nor writes them; A's sample is no sample B knows of.
    ("data collection", "get", "/api/v1/data-collections/{data_collection}/", None, 200, 404),
    (
        "data collection update",
        "patch",
        "/api/v1/data-collections/by-external-id/{dc_external_id}/",
        lambda w: {"number_of_images": 7, "status": "successful"},
        200,
        404,
    ),
    (
        "data collection create",
        "post",
        "/api/v1/data-collections/",
        lambda w: {"items": [collection_item(w["sample"], "mx3-dc-2")]},
        201,
        400,
    ),
    (
        "screening result",
        "post",
        "/api/v1/screening-results/",
        lambda w: {"data_collection": w["data_collection"], "program": "EDNA"},
        201,
        400,
    ),
    (
        "processing result",
        "post",
        "/api/v1/processing-results/",
        lambda w: {"external_id": w["dc_external_id"], "program": "autoPROC"},
        201,
        400,
    ),
    # Nobody's proposal objects: a token is no member.
    ("proposal", "get", "/api/v1/proposals/{proposal}/", None, 404, 404),
    ("shipment", "get", "/api/v1/shipments/{shipment}/", None, 404, 404),
    ("dewar", "get", "/api/v1/dewars/{dewar}/", None, 404, 404),
    ("scan list", "get", "/api/v1/scans/", None, 403, 403),
]


@pytest.mark.parametrize("who", ["a", "b"])
@pytest.mark.parametrize(
    ("method", "path", "body", "for_a", "for_b"), [pytest.param(*case[1:], id=case[0]) for case in TOKEN_GRID]
)
def test_a_token_reaches_its_own_beamline_only(lines, who, method, path, body, for_a, for_b):
    client = bearer(lines[who])
    response = getattr(client, method)(path.format(**lines), body(lines) if body else None, format="json")
    expected = for_a if who == "a" else for_b
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert {"detail", "code"} <= response.json().keys()


@pytest.mark.parametrize("who", ["a", "b"])
@pytest.mark.parametrize(
    "path", ["/api/v1/proposals/", "/api/v1/shipments/", "/api/v1/lab-contacts/", "/api/v1/proteins/"]
)
def test_proposal_lists_are_empty_for_any_token(lines, lab_contact, who, path):
    response = bearer(lines[who]).get(path)
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_lists_hold_the_token_beamline_only(lines):
    a, b = bearer(lines["a"]), bearer(lines["b"])
    assert [x["name"] for x in a.get("/api/v1/beamlines/").json()["results"]] == ["MX-3"]
    assert [x["id"] for x in a.get("/api/v1/samples/").json()["results"]] != []
    assert b.get("/api/v1/samples/").json()["count"] == 0
    assert b.get("/api/v1/containers/").json()["count"] == 0
    assert [x["id"] for x in a.get("/api/v1/robot-actions/").json()["results"]] == [lines["robot_action"]]
    assert b.get("/api/v1/robot-actions/").json()["count"] == 0
    assert [x["id"] for x in a.get("/api/v1/sessions/").json()["results"]] == [lines["session"]]


def test_a_token_lists_and_writes_its_own_beamline_collections_only(lines):
    a, b = bearer(lines["a"]), bearer(lines["b"])
    assert [x["id"] for x in a.get("/api/v1/data-collections/").json()["results"]] == [lines["data_collection"]]
    assert b.get("/api/v1/data-collections/").json()["results"] == []
    # B's pipeline sends the same external id (with a session of its own beamline): its own collection,
    # A's untouched.
    now = timezone.now()
    session = f.SessionFactory(
        proposal_id=lines["proposal"],
        beamline=lines["B"],
        start=now - dt.timedelta(hours=1),
        end=now + dt.timedelta(hours=1),
    )
    item = {k: v for k, v in collection_item(None).items() if k != "sample"} | {"session": session.pk}
    response = b.post("/api/v1/data-collections/", dict(item, number_of_images=99), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["id"] != lines["data_collection"]
    assert DataCollection.objects.get(pk=lines["data_collection"]).number_of_images == 0
    assert DataCollection.objects.get(pk=response.json()["id"]).token.name == "MXCuBE MX-1"
    # A beamline named outright that is not the token's is refused.
    refused = b.post("/api/v1/data-collections/", dict(item, beamline="MX-3"), format="json")
    assert refused.status_code == 400 and "beamline" in refused.json()["errors"]


def test_a_token_writes_robot_actions_on_its_own_beamline_with_its_name(lines):
    response = bearer(lines["b"]).post("/api/v1/robot-actions/", {"action_type": "LOAD", "sample": -1}, format="json")
    assert response.status_code == 201
    action = RobotAction.objects.get(pk=response.json()["id"])
    assert action.beamline == lines["B"] and action.sample is None and action.sample_reference == -1
    assert action.token.name == "MXCuBE MX-1"
    assert response.json()["by"] == {"user": None, "token": "MXCuBE MX-1"}
    # Another beamline named outright is refused, not silently replaced by the token's own.
    refused = bearer(lines["b"]).post(
        "/api/v1/robot-actions/", {"action_type": "LOAD", "beamline": lines["beamline"]}, format="json"
    )
    assert refused.status_code == 400 and "beamline" in refused.json()["errors"]


def test_a_token_cannot_assign_into_another_beamline(lines):
    response = bearer(lines["a"]).post(
        f"/api/v1/containers/{lines['container']}/assign/", {"position_code": "MX-1:02"}, format="json"
    )
    assert response.status_code == 400 and "position_code" in response.json()["errors"]


def test_a_revoked_token_is_refused(lines):
    api_token_revoke(token=ApiToken.objects.get(name="MXCuBE MX-3"), user=None)
    response = bearer(lines["a"]).get(f"/api/v1/beamlines/{lines['beamline']}/changer/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_an_unknown_key_is_refused(lines):
    assert bearer("lims_not-a-key").get("/api/v1/samples/").status_code == 401


def test_last_used_is_written_on_use_at_most_once_a_minute(lines):
    token = ApiToken.objects.get(name="MXCuBE MX-3")
    assert token.last_used_at is None
    client = bearer(lines["a"])
    client.get("/api/v1/samples/")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    client.get("/api/v1/samples/")
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - LAST_USED_EVERY - dt.timedelta(seconds=1))
    client.get("/api/v1/samples/")
    token.refresh_from_db()
    assert token.last_used_at > first


# --- making and revoking tokens: the admin and the command --------------------------------------------------


def test_the_admin_makes_a_token_and_shows_its_key_once(client, admin_user, isara, beamline_staff):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:lims_apitoken_add"), {"name": "MXCuBE MX-3", "beamline": isara.pk, "user": beamline_staff.pk}
    )
    assert response.status_code == 302
    token = ApiToken.objects.get()
    assert (token.beamline, token.user, token.created_by) == (isara, beamline_staff, admin_user)
    shown = [str(m) for m in get_messages(response.wsgi_request) if "The key of" in str(m)]
    assert len(shown) == 1
    key = shown[0].split(": ", 1)[1].split(" ")[0]
    assert key.startswith(token.prefix) and key not in token.key_hash
    assert bearer(key).get(f"/api/v1/beamlines/{isara.pk}/changer/").status_code == 200
    # The next page shows the message; after that, the key is nowhere, and nothing can be edited.
    listing = client.get(reverse("admin:lims_apitoken_changelist")).content.decode()
    assert key in listing and token.prefix in listing
    listing = client.get(reverse("admin:lims_apitoken_changelist")).content.decode()
    assert key not in listing
    page = client.get(reverse("admin:lims_apitoken_change", args=[token.pk])).content.decode()
    assert key not in page and 'name="name"' not in page


def test_the_admin_revokes_tokens(client, admin_user, isara):
    key = f.api_token(isara, name="Old")
    client.force_login(admin_user)
    token = ApiToken.objects.get()
    client.post(reverse("admin:lims_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert bearer(key).get("/api/v1/samples/").status_code == 401
    assert client.post(reverse("admin:lims_apitoken_delete", args=[token.pk])).status_code == 403


def test_token_create_prints_the_key(isara, beamline_staff, capsys):
    call_command("token_create", "--beamline", "mx-3", "--name", "MXCuBE MX-3", "--user", "blstaff")
    key = capsys.readouterr().out.strip()
    token = ApiToken.objects.get()
    assert key.startswith("lims_") and key.startswith(token.prefix)
    assert (token.name, token.beamline, token.user) == ("MXCuBE MX-3", isara, beamline_staff)
    assert bearer(key).get(f"/api/v1/beamlines/{isara.pk}/changer/").status_code == 200


def test_token_create_names_what_is_wrong(isara):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no beamline 'MX-9'"):
        call_command("token_create", "--beamline", "MX-9", "--name", "x")
    with pytest.raises(CommandError, match="no active user"):
        call_command("token_create", "--beamline", "MX-3", "--name", "x", "--user", "nobody")
