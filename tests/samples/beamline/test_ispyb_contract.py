"""The ISPyB-compatible API under /ispyb/api/v1/, against reference/mxcube-contract.md: the keys and types
beamline control reads, the status codes it acts on, and who may see and write what."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from lims.tokens import api_token_revoke
from samples.models import RobotAction, SampleStatusChange
from samples.services import container_assign, container_unassign
from tests import factories as f
from tests.queries import count_queries
from tests.queries import statements as statements_of

BASE = "/ispyb/api/v1/"
ERROR_KEYS = {"detail", "code"}
SAMPLE_KEYS = {
    "blSampleId",
    "name",
    "code",
    "location",
    "blSampleStatus",
    "Container",
    "Crystal",
    "DiffractionPlan",
    "sampleId",
    "sampleName",
    "sampleLocation",
    "containerCode",
    "containerSampleChangerLocation",
    "proteinAcronym",
    "crystalSpaceGroup",
    "cellA",
    "cellB",
    "cellC",
    "cellAlpha",
    "cellBeta",
    "cellGamma",
}
CONTAINER_KEYS = {"containerId", "code", "barcode", "sampleChangerLocation"}
CRYSTAL_KEYS = {
    "crystalId",
    "space_group",
    "cell_a",
    "cell_b",
    "cell_c",
    "cell_alpha",
    "cell_beta",
    "cell_gamma",
    "Protein",
}
PLAN_KEYS = {
    "diffractionPlanId",
    "experimentKind",
    "requiredResolution",
    "aimedResolution",
    "aimedCompleteness",
    "aimedMultiplicity",
    "preferredBeamSize",
    "anomalousScatterer",
    "numberOfPositions",
    "radiationSensitivity",
    "forcedSpaceGroup",
    "observedResolution",
    "axisRange",
    "minOscWidth",
    "energy",
}
SESSION_KEYS = {
    "sessionId",
    "proposalId",
    "proposal",
    "title",
    "beamLineName",
    "startDate",
    "endDate",
    "comments",
    "beamLineSetupId",
    "BeamLineSetup",
}


class Ispyb:
    """Beamline control's client: JSON in and out, ``Authorization: Bearer`` when it has a token."""

    def __init__(self, bearer: str | None = None):
        self.client = Client()
        self.bearer = bearer

    def _headers(self):
        return {"Authorization": f"Bearer {self.bearer}"} if self.bearer else {}

    def get(self, path, **params):
        return self.client.get(BASE + path, params, headers=self._headers())

    def post(self, path, data):
        return self.client.post(BASE + path, json.dumps(data), content_type="application/json", headers=self._headers())

    def patch(self, path, data):
        return self.client.patch(
            BASE + path, json.dumps(data), content_type="application/json", headers=self._headers()
        )


def login(user) -> Ispyb:
    response = Ispyb().post("auth/login", {"plugin": "lims", "login": user.username, "password": f.PASSWORD})
    assert response.status_code == 200, response.content
    return Ispyb(response.json()["token"])


def assert_error(response, status: int, code: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body.keys() >= ERROR_KEYS and isinstance(body["detail"], str)
    if code:
        assert body["code"] == code
    return body


@pytest.fixture
def mx3(isara):
    return Ispyb(f.api_token(isara, name="MXCuBE MX-3"))


@pytest.fixture
def mx1(db):
    """Another beamline's control, with its own changer."""
    beamline = f.BeamlineFactory(name="MX-1", puck_positions=5, accepted_container_types=["unipuck"])
    return Ispyb(f.api_token(beamline, name="MXCuBE MX-1"))


@pytest.fixture
def other_loaded(other_proposal, outsider, isara, beamline_staff):
    """Charlie's puck (2 samples) in position 1 of MX-3's changer."""
    shipment = f.at_facility(f.shipment_tree(proposal=other_proposal, user=outsider, samples=2, name="Charlie-1"))
    puck = shipment.containers.get()
    container_assign(container=puck, beamline=isara, position=1, user=beamline_staff)
    return puck


# Auth.


def test_login_with_password_then_bearer_then_refresh(member, proposal):
    response = Ispyb().post("auth/login", {"plugin": "lims", "login": "alice", "password": f.PASSWORD})
    assert response.status_code == 200
    tokens = response.json()
    assert tokens.keys() == {"token", "refreshToken", "expiresIn"} and isinstance(tokens["expiresIn"], int)
    assert Ispyb(tokens["token"]).get("proposals").status_code == 200

    refreshed = Ispyb().post("auth/refresh", {"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 200 and refreshed.json().keys() == tokens.keys()
    assert Ispyb(refreshed.json()["token"]).get("proposals").status_code == 200
    # An access token is no refresh token, and the other way round.
    assert_error(Ispyb().post("auth/refresh", {"refreshToken": tokens["token"]}), 401)
    assert_error(Ispyb(tokens["refreshToken"]).get("proposals"), 401, "authentication_failed")


def test_wrong_credentials_are_401(member):
    assert_error(Ispyb().post("auth/login", {"plugin": "lims", "login": "alice", "password": "nope"}), 401)
    assert_error(Ispyb().post("auth/login", {"plugin": "lims", "login": "alice", "token": "lims_nope"}), 401)
    assert_error(Ispyb().post("auth/login", {"plugin": "lims"}), 401)
    assert_error(Ispyb().post("auth/refresh", {"refreshToken": "garbage"}), 401)
    assert_error(Ispyb().post("auth/refresh", {}), 401)


def test_login_with_an_api_token_and_bearer_with_the_raw_key(isara):
    key = f.api_token(isara)
    response = Ispyb().post("auth/login", {"plugin": "lims", "login": "mxcube", "token": key})
    assert response.status_code == 200
    assert Ispyb(response.json()["token"]).get("samples", beamLineName="MX-3").status_code == 200
    assert Ispyb(key).get("samples", beamLineName="MX-3").status_code == 200


def test_every_call_needs_a_valid_bearer(isara):
    assert_error(Ispyb().get("samples", beamLineName="MX-3"), 401, "not_authenticated")
    response = Ispyb("lims_unknown").get("samples", beamLineName="MX-3")
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_error(Ispyb("not-a-token").post("events/robot-action", {"actionType": "LOAD"}), 401)
    client = Client()
    response = client.get(BASE + "proposals", headers={"Authorization": "Token abc"})
    assert_error(response, 401, "not_authenticated")


def test_a_revoked_token_is_refused_at_once(isara, admin_user):
    from lims.models import ApiToken

    key = f.api_token(isara)
    login = Ispyb().post("auth/login", {"plugin": "lims", "login": "mxcube", "token": key}).json()
    api_token_revoke(token=ApiToken.objects.get(), user=admin_user)
    assert_error(Ispyb(key).get("samples", beamLineName="MX-3"), 401)
    assert_error(Ispyb(login["token"]).get("samples", beamLineName="MX-3"), 401)
    assert_error(Ispyb().post("auth/refresh", {"refreshToken": login["refreshToken"]}), 401)
    assert_error(Ispyb().post("auth/login", {"plugin": "lims", "login": "mxcube", "token": key}), 401)


def test_an_expired_login_token_is_401(member, settings):
    client = login(member)
    settings.BEARER_TOKEN_TTL = -1
    assert_error(client.get("proposals"), 401)


def test_errors_are_json_objects(mx3):
    response = mx3.client.post(
        BASE + "events/robot-action", "{not json", content_type="application/json", headers=mx3._headers()
    )
    assert_error(response, 400)
    assert_error(mx3.post("events/robot-action", [1, 2]), 400)
    assert_error(mx3.client.delete(BASE + "samples", headers=mx3._headers()), 405)
    assert_error(mx3.get("samples/99999999999999999999999"), 404)
    assert_error(mx3.get("nothing-here"), 404, "not_found")
    # NUL characters, which PostgreSQL refuses in text, are bad input rather than a server error.
    assert_error(mx3.post("events/robot-action", robot_action(message="a\x00b")), 400, "invalid")
    assert_error(mx3.get("sessions", beamLineName="MX\x003"), 400, "invalid")
    assert_error(Ispyb().post("auth/login", {"plugin": "lims", "login": "a\x00", "password": "x"}), 400)


# Proposals.


def test_proposals_of_a_member(member, proposal, other_proposal):
    response = login(member).get("proposals")
    assert response.status_code == 200
    assert response.json() == [
        {
            "proposalId": proposal.pk,
            "proposalCode": "mx",
            "proposalNumber": "2345",
            "title": "Alice's kinases",
            "proposal": "mx2345",
        }
    ]
    assert login(member).get("proposals", proposalId=other_proposal.pk).json() == []
    assert login(member).get("proposals", proposalId=proposal.pk).json()[0]["proposalId"] == proposal.pk
    assert_error(login(member).get("proposals", proposalId="abc"), 400, "invalid")


def test_a_token_sees_proposals_with_sessions_or_pucks_on_its_beamline(
    mx3, mx1, loaded, proposal, isara, other_proposal
):
    booked = f.ProposalFactory(code="mx", number="4444")
    f.SessionFactory(proposal=booked, beamline=isara)
    names = sorted(item["proposal"] for item in mx3.get("proposals").json())
    assert names == ["mx2345", "mx4444"]
    assert mx1.get("proposals").json() == []


# Sessions.


def test_sessions_by_proposal_beamline_and_day(member, proposal, isara, mx3, mx1):
    start = timezone.make_aware(dt.datetime(2026, 3, 10, 8, 0))
    session = f.SessionFactory(proposal=proposal, beamline=isara, start=start, end=start + dt.timedelta(hours=24))
    f.SessionFactory(
        proposal=proposal, beamline=isara, start=start + dt.timedelta(days=30), end=start + dt.timedelta(days=31)
    )

    response = mx3.get("sessions", proposal="MX2345", beamLineName="MX-3", year=2026, month=3, day=11)
    assert response.status_code == 200
    items = response.json()
    assert [i["sessionId"] for i in items] == [session.pk]
    assert items[0].keys() == SESSION_KEYS
    assert items[0]["proposal"] == "mx2345" and items[0]["beamLineName"] == "MX-3"
    # The facility's wall-clock time without an offset, as ISPyB answers: MXCuBE compares it with a naive now.
    assert dt.datetime.fromisoformat(items[0]["startDate"]) == timezone.localtime(start).replace(tzinfo=None)
    assert len(mx3.get("sessions", proposal="MX2345", beamLineName="MX-3").json()) == 2
    assert len(mx3.get("sessions", proposal="MX2345", year=2026, month=3).json()) == 1
    assert mx3.get("sessions", proposal="MX9999").json() == []
    assert_error(mx3.get("sessions", month=13, year=2026), 400)

    assert mx3.get(f"sessions/{session.pk}").json()["sessionId"] == session.pk
    assert login(member).get(f"sessions/{session.pk}").status_code == 200
    assert_error(mx1.get(f"sessions/{session.pk}"), 404, "not_found")
    assert mx1.get("sessions", proposal="MX2345").json() == []


def test_booking_a_session(proposal, isara, mx3, mx1, member, beamline_staff, outsider):
    data = {
        "proposal": "MX2345",
        "beamLineName": "MX-3",
        "startDate": "2026-05-01 08:00:00",
        "endDate": "2026-05-02T08:00:00+02:00",
    }
    response = mx3.post("sessions", data)
    assert response.status_code == 201, response.content
    item = response.json()
    assert item.keys() == SESSION_KEYS and item["proposalId"] == proposal.pk and item["beamLineName"] == "MX-3"
    another_day = {"startDate": "2026-05-03 08:00:00", "endDate": "2026-05-04 08:00:00"}
    by_staff = login(beamline_staff).post(
        "sessions", {**data, **another_day, "proposal": None, "proposalId": proposal.pk}
    )
    assert by_staff.status_code == 201

    # The same proposal, beamline and day again: the session booked, not a second one.
    again = mx3.post("sessions", {**data, "startDate": "2026-05-01 09:00:00"})
    assert again.status_code == 200 and again.json()["sessionId"] == item["sessionId"]

    # Members open today's session of their own proposal (MXCuBE books one at login), nobody else's, and
    # no other day's.
    body = assert_error(login(member).post("sessions", data), 400, "invalid")
    assert "startDate" in body["errors"]
    today = timezone.localdate()
    mxcube = {
        "proposalId": proposal.pk,
        "beamLineName": "MX-3",
        "startDate": f"{today:%Y-%m-%d}T00:00:00.000000Z",  # MXCuBE's naive local midnight, with a "Z"
        "endDate": f"{today + dt.timedelta(days=2):%Y-%m-%d}T07:59:59.000000Z",
    }
    opened = login(member).post("sessions", mxcube)
    assert opened.status_code == 201, opened.content
    assert opened.json()["startDate"] == f"{today:%Y-%m-%d}T00:00:00"
    reopened = login(member).post("sessions", mxcube)
    assert reopened.status_code == 200 and reopened.json()["sessionId"] == opened.json()["sessionId"]
    assert_error(login(outsider).post("sessions", mxcube), 403, "permission_denied")
    assert_error(mx1.post("sessions", data), 404)  # another beamline's
    body = assert_error(mx3.post("sessions", {**data, "endDate": "2026-04-01 08:00:00"}), 400, "invalid")
    assert "endDate" in body["errors"]
    body = assert_error(mx3.post("sessions", {"beamLineName": "MX-3", "startDate": "soon"}), 400)
    assert {"proposalId", "startDate", "endDate"} <= body["errors"].keys()


# Samples.


def test_samples_of_a_changer_have_every_key_with_its_type(mx3, loaded, other_loaded):
    response = mx3.get("samples", beamLineName="MX-3")
    assert response.status_code == 200
    items = response.json()
    assert isinstance(items, list) and len(items) == 5
    # By changer position, then pin position: Charlie's puck in 1, Alice's in 2.
    assert [(i["Container"]["sampleChangerLocation"], i["location"]) for i in items] == [
        ("1", "1"),
        ("1", "2"),
        ("2", "1"),
        ("2", "2"),
        ("2", "3"),
    ]
    for item in items:
        assert item.keys() == SAMPLE_KEYS
        assert item["Container"].keys() == CONTAINER_KEYS
        assert item["Crystal"].keys() == CRYSTAL_KEYS and item["Crystal"]["Protein"].keys() == {"proteinId", "acronym"}
        assert item["DiffractionPlan"].keys() == PLAN_KEYS
        assert isinstance(item["blSampleId"], int) and isinstance(item["Container"]["containerId"], int)
        assert item["location"].isdigit() and item["Container"]["sampleChangerLocation"].isdigit()
        assert item["sampleLocation"] == item["location"]
        assert item["containerSampleChangerLocation"] == item["Container"]["sampleChangerLocation"]

    first = items[2]
    sample = loaded.samples.get(position=1)
    assert first["blSampleId"] == first["sampleId"] == first["Crystal"]["crystalId"] == sample.pk
    assert first["DiffractionPlan"]["diffractionPlanId"] == sample.pk
    assert first["name"] == first["sampleName"] == sample.name
    assert first["code"] == "PIN0000001"
    assert first["Container"]["code"] == first["containerCode"] == loaded.name
    assert first["Crystal"]["space_group"] == first["crystalSpaceGroup"] == "P212121"
    assert first["Crystal"]["cell_a"] == first["cellA"] == 40.1 and first["cellB"] is None
    assert first["Crystal"]["Protein"]["acronym"] == first["proteinAcronym"] == "LYS"
    assert first["DiffractionPlan"]["aimedResolution"] == 1.5
    assert items[3]["code"] is None and items[3]["crystalSpaceGroup"] is None


def test_samples_of_one_proposal_by_its_upper_cased_code(mx3, loaded, other_loaded):
    items = mx3.get("samples", beamLineName="MX-3", proposal="MX2345").json()
    assert [i["Container"]["containerId"] for i in items] == [loaded.pk] * 3
    assert mx3.get("samples", beamLineName="mx-3", proposal="mx2345").status_code == 200
    assert mx3.get("samples", beamLineName="MX-3", proposal="MX1").json() == []
    assert mx3.get("samples", beamLineName="MX-3", proposal="nonsense!").json() == []


def test_samples_of_a_session(mx3, mx1, loaded, other_loaded, proposal, isara, member):
    session = f.SessionFactory(proposal=proposal, beamline=isara)
    items = mx3.get("samples", sessionId=session.pk).json()
    assert {i["Container"]["containerId"] for i in items} == {loaded.pk} and len(items) == 3
    assert len(login(member).get("samples", sessionId=session.pk).json()) == 3
    assert_error(mx1.get("samples", sessionId=session.pk), 404)
    assert_error(mx3.get("samples", sessionId="x"), 400)


def test_a_token_reads_only_its_own_beamline(mx3, mx1, loaded):
    assert_error(mx1.get("samples", beamLineName="MX-3"), 404, "not_found")
    assert_error(mx3.get("samples", beamLineName="MX-99"), 404, "not_found")
    assert_error(mx3.get("samples"), 400, "invalid")
    assert mx1.get("samples", beamLineName="MX-1").json() == []


def test_people_see_a_changer_as_their_roles_allow(
    loaded, other_loaded, member, outsider, beamline_staff, admin_user, stores
):
    def containers(user):
        response = login(user).get("samples", beamLineName="MX-3")
        assert response.status_code == 200
        return sorted({i["Container"]["containerId"] for i in response.json()})

    assert containers(member) == [loaded.pk]
    assert containers(outsider) == [other_loaded.pk]
    assert containers(stores) == []
    assert containers(beamline_staff) == containers(admin_user) == sorted([loaded.pk, other_loaded.pk])
    assert_error(login(member).get("samples", beamLineName="MX-99"), 404)


def test_the_sample_list_takes_the_same_queries_for_1_16_and_464_samples(proposal, member, isara, beamline_staff, mx3):
    def fill(shipment, first_position):
        f.at_facility(shipment)
        for offset, puck in enumerate(shipment.containers.order_by("id")):
            container_assign(container=puck, beamline=isara, position=first_position + offset, user=beamline_staff)
        return list(shipment.containers.all())

    def queries(expected_count):
        with count_queries() as ctx:
            response = mx3.get("samples", beamLineName="MX-3")
        assert response.status_code == 200 and len(response.json()) == expected_count
        return len(ctx.captured_queries)

    mx3.get("samples", beamLineName="MX-3")  # the token's first use writes its last_used_at (once a minute)
    one = fill(f.shipment_tree(proposal=proposal, user=member, samples=1, name="One"), 1)
    counts = [queries(1)]
    for puck in one:
        container_unassign(container=puck, user=beamline_staff)
    fill(f.shipment_tree(proposal=proposal, user=member, samples=16, name="Sixteen"), 1)
    counts.append(queries(16))
    fill(f.shipment_tree(proposal=proposal, user=member, pucks=28, samples=16, name="Full"), 2)
    counts.append(queries(464))
    # The bearer, then the samples with their pucks and proteins (the token knows its beamline).
    assert counts == [2, 2, 2]


# Robot actions.


def robot_action(**fields):
    return {
        "actionType": "LOAD",
        "status": "SUCCESS",
        "blSampleId": None,
        "sessionId": None,
        "containerLocation": "2",
        "dewarLocation": "1",
        "sampleBarcode": None,
        "startTimestamp": "2026-03-10 10:00:00",
        "endTimestamp": "2026-03-10 10:00:42",
        "message": "loaded",
        "xtalSnapshotBefore": None,
        "xtalSnapshotAfter": None,
        **fields,
    }


def test_robot_action_with_a_known_sample(mx3, loaded, isara):
    sample = loaded.samples.get(position=1)
    response = mx3.post("events/robot-action", robot_action(blSampleId=sample.pk))
    assert response.status_code == 201
    # py-ispyb's client takes "results" as the id; other readers have the named key.
    assert response.json() == {
        "robotActionId": response.json()["robotActionId"],
        "results": response.json()["robotActionId"],
    }
    assert isinstance(response.json()["robotActionId"], int)
    action = RobotAction.objects.get(pk=response.json()["robotActionId"])
    assert action.sample_id == sample.pk and action.beamline_id == isara.pk and action.action_type == "LOAD"
    assert timezone.localtime(action.started_at).replace(tzinfo=None) == dt.datetime(2026, 3, 10, 10, 0)
    assert action.container_location == "2" and action.message == "loaded"


@pytest.mark.parametrize("reference", [None, -1, "-1", 987654321])
def test_robot_action_with_an_unknown_sample_is_stored_unlinked(mx3, isara, reference):
    response = mx3.post("events/robot-action", robot_action(blSampleId=reference))
    assert response.status_code == 201, response.content
    action = RobotAction.objects.get(pk=response.json()["robotActionId"])
    assert action.sample_id is None
    assert action.sample_reference == (None if reference is None else int(reference))


def test_robot_action_links_an_unknown_id_by_the_pin_barcode(mx3, loaded):
    response = mx3.post("events/robot-action", robot_action(blSampleId=-1, sampleBarcode="PIN0000001"))
    action = RobotAction.objects.get(pk=response.json()["robotActionId"])
    assert action.sample_id == loaded.samples.get(position=1).pk and action.sample_reference == -1
    assert action.sample_barcode == "PIN0000001"


def test_robot_action_timestamps_in_both_formats(mx3):
    iso = mx3.post("events/robot-action", robot_action(startTimestamp="2026-03-10T09:00:00Z", endTimestamp=None))
    assert iso.status_code == 201
    action = RobotAction.objects.get(pk=iso.json()["robotActionId"])
    assert action.started_at == dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC) and action.ended_at is None
    body = assert_error(
        mx3.post("events/robot-action", robot_action(startTimestamp="10/03/2026 10:00")), 400, "invalid"
    )
    assert "startTimestamp" in body["errors"]
    body = assert_error(mx3.post("events/robot-action", robot_action(actionType="JUMP")), 400)
    assert "actionType" in body["errors"]
    assert_error(mx3.post("events/robot-action", robot_action(endTimestamp="2026-03-10 09:00:00")), 400)


def test_robot_action_in_a_session(mx3, mx1, proposal, isara, beamline_staff, member):
    session = f.SessionFactory(proposal=proposal, beamline=isara)
    response = mx3.post("events/robot-action", robot_action(sessionId=session.pk))
    assert RobotAction.objects.get(pk=response.json()["robotActionId"]).session_id == session.pk
    # A person has no beamline of their own: the session names it.
    staff = login(beamline_staff)
    assert staff.post("events/robot-action", robot_action(sessionId=session.pk)).status_code == 201
    assert_error(staff.post("events/robot-action", robot_action()), 400)
    # Another beamline's control cannot write into MX-3's sessions, nor a member play the robot.
    assert_error(mx1.post("events/robot-action", robot_action(sessionId=session.pk)), 404)
    assert_error(
        login(member).post("events/robot-action", robot_action(sessionId=session.pk)), 403, "permission_denied"
    )


def test_a_robot_action_report_is_the_bearer_one_lookup_and_one_insert(mx3, loaded, proposal, isara):
    session = f.SessionFactory(proposal=proposal, beamline=isara)
    sample = loaded.samples.get(position=1)
    mx3.post("events/robot-action", robot_action())  # the token's first use writes its last_used_at
    with count_queries() as ctx:
        response = mx3.post("events/robot-action", robot_action(sessionId=session.pk, blSampleId=sample.pk))
    assert response.status_code == 201
    statements = [sql.split(" ", 1)[0] for sql in statements_of(ctx)]
    # The token; the session with the sample (a subquery); the INSERT. Transaction statements aside.
    assert [s for s in statements if s in ("SELECT", "INSERT", "UPDATE")] == ["SELECT", "SELECT", "INSERT"]
    assert RobotAction.objects.get(pk=response.json()["robotActionId"]).sample_id == sample.pk


def test_another_beamline_cannot_link_a_sample_it_does_not_see(mx1, loaded):
    sample = loaded.samples.get(position=1)
    response = mx1.post("events/robot-action", robot_action(blSampleId=sample.pk, sampleBarcode="PIN0000001"))
    assert response.status_code == 201
    assert RobotAction.objects.get(pk=response.json()["robotActionId"]).sample_id is None


def test_completing_a_robot_action(mx3, mx1, member):
    action_id = mx3.post("events/robot-action", robot_action(status=None, endTimestamp=None)).json()["robotActionId"]
    done = {"endTimestamp": "2026-03-10 10:01:00", "status": "ERROR", "message": "gripper"}
    assert_error(mx1.patch(f"robot-actions/{action_id}", done), 404, "not_found")
    # An action on no sample of hers: the member does not see it (404, as from /api/v1/robot-actions/).
    assert_error(login(member).patch(f"robot-actions/{action_id}", done), 404, "not_found")
    response = mx3.patch(f"robot-actions/{action_id}", done)
    assert response.status_code == 200
    item = response.json()
    assert item["robotActionId"] == action_id and item["status"] == "ERROR" and item["message"] == "gripper"
    assert item["endTimestamp"] == "2026-03-10T10:01:00"
    assert_error(mx3.patch(f"robot-actions/{action_id}", {"status": "MAYBE"}), 400)
    assert_error(mx3.patch("robot-actions/999999", done), 404)


# Sample status.


def test_sample_status_from_beamline_control(mx3, loaded):
    sample = loaded.samples.get(position=1)
    response = mx3.patch(
        f"samples/{sample.pk}", {"blSampleStatus": "ERROR - sample", "lastKnownCentringPosition": {"phi": 12.5}}
    )
    assert response.status_code == 200
    item = response.json()
    assert item.keys() == SAMPLE_KEYS and item["blSampleId"] == sample.pk and item["location"] == "1"
    assert item["blSampleStatus"] == "ERROR"
    change = SampleStatusChange.objects.filter(sample=sample).latest("at", "id")
    assert change.status == "error" and change.detail == "ERROR - sample"
    assert change.centring_position == {"phi": 12.5}
    sample.refresh_from_db()
    assert sample.last_centring_position == {"phi": 12.5}

    assert mx3.patch(f"samples/{sample.pk}", {"blSampleStatus": "LOADED"}).json()["blSampleStatus"] == "LOADED"
    assert_error(mx3.patch(f"samples/{sample.pk}", {"blSampleStatus": "FLYING"}), 400, "invalid")
    assert_error(mx3.patch(f"samples/{sample.pk}", {}), 400)


def test_sample_status_refusals(mx3, mx1, loaded, member, beamline_staff, outsider):
    sample = loaded.samples.get(position=1)
    assert_error(mx1.patch(f"samples/{sample.pk}", {"blSampleStatus": "LOADED"}), 404, "not_found")
    assert_error(login(member).patch(f"samples/{sample.pk}", {"blSampleStatus": "LOADED"}), 403, "permission_denied")
    assert_error(mx3.patch("samples/999999", {"blSampleStatus": "LOADED"}), 404)
    assert login(beamline_staff).patch(f"samples/{sample.pk}", {"blSampleStatus": "LOADED"}).status_code == 200
    # A member reads their own sample; another proposal's is not there.
    assert login(member).get(f"samples/{sample.pk}").json()["blSampleId"] == sample.pk
    assert_error(login(outsider).get(f"samples/{sample.pk}"), 404)
