"""The native beamline endpoints: shapes, field errors (400), refusals (409), query counts."""

import pytest

from samples.models import Container, ContainerHistory, RobotAction, SampleStatusChange
from samples.services import container_assign
from tests import factories as f
from tests.conftest import api_as
from tests.queries import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def puck(received):
    return received.containers.get()


@pytest.fixture
def staff(beamline_staff):
    return api_as(beamline_staff)


def assign(client, puck, **body):
    return client.post(f"/api/v1/containers/{puck.pk}/assign/", body, format="json")


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and isinstance(body["detail"], str)
    if field:
        assert field in body["errors"], body


# --- assignment ----------------------------------------------------------------------------------------------


def test_assign_by_position_answers_where_it_is(staff, puck, isara):
    response = assign(staff, puck, beamline=isara.pk, position=7)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["changed"] is True and body["displaced"] is None and body["session"] is None
    assert body["container"] | {"id": None} == {
        "id": None,
        "name": puck.name,
        "barcode": puck.barcode,
        "container_type": "unipuck",
        "status": "in_sample_changer",
        "beamline": isara.pk,
        "beamline_name": "MX-3",
        "changer_position": 7,
        "changer_address": "7",
        "position_code": "MX-3:07",
    }
    assert body["message"].endswith("is in MX-3:07.")


@pytest.mark.parametrize(
    "body",
    [
        {"beamline": "mx-3", "position": 7},
        {"beamline": "MX-3", "address": "07"},
        {"position_code": "MX-3:07"},
        {"position_code": " mx-3:07\r\n"},
        {"position_code": "MX-3-SC-7"},
    ],
    ids=["name", "address", "code", "scanned code", "location code"],
)
def test_a_position_may_be_named_three_ways(staff, puck, isara, body):
    response = assign(staff, puck, **body)
    assert response.status_code == 200, response.content
    assert response.json()["container"]["position_code"] == "MX-3:07"


def test_a_cell_based_changer_is_addressed_cell_colon_puck(staff, puck):
    f.BeamlineFactory(
        name="MX-2", puck_positions=24, positions_per_cell=3, accepted_container_types=["spine", "unipuck"]
    )
    response = assign(staff, puck, beamline="MX-2", address="3:2")
    container = response.json()["container"]
    assert (container["changer_position"], container["changer_address"]) == (8, "3:2")
    response = assign(staff, puck, position_code="MX-2:4:1")
    assert response.json()["container"]["position_code"] == "MX-2:4:1"


def test_assigning_into_a_taken_position_says_what_it_displaced(staff, puck, isara, received):
    other = f.at_facility(f.shipment_tree(proposal=received.proposal, name="Other")).containers.get()
    assign(staff, puck, position_code="MX-3:07")
    body = assign(staff, other, position_code="MX-3:07").json()
    assert body["displaced"]["id"] == puck.pk and body["displaced"]["position_code"] is None
    assert body["displaced"]["status"] == "unloaded" and "was taken out" in body["message"]
    again = assign(staff, other, position_code="MX-3:07").json()
    assert again["changed"] is False and again["displaced"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "position"),
        ({"beamline": "MX-3", "position": 7, "address": "7"}, "position"),
        ({"position": 7}, "beamline"),
        ({"beamline": "MX-9", "position": 7}, "beamline"),
        ({"beamline": "MX-3", "position": 30}, "position"),
        ({"beamline": "MX-3", "position": "seven"}, "position"),
        ({"beamline": "MX-3", "address": "3:2"}, "address"),
        ({"position_code": "MX-9:07"}, "position_code"),
        ({"position_code": "MX-3:31"}, "position_code"),
        ({"position_code": "garbage"}, "position_code"),
        ({"beamline": "MX-1", "position_code": "MX-3:07"}, "position_code"),
        ({"position_code": "MX-3:07", "session": 999999}, "session"),
    ],
)
def test_bad_places_are_field_errors(staff, puck, isara, body, field):
    f.BeamlineFactory(name="MX-1", puck_positions=5)
    assert_error(assign(staff, puck, **body), 400, "invalid", field)
    assert not ContainerHistory.objects.filter(beamline__isnull=False).exists()


def test_refusals_are_409_with_the_services_code(staff, shipment, isara):
    puck = shipment.containers.get()
    assert_error(assign(staff, puck, position_code="MX-3:01"), 409, "dewar_not_at_facility")
    f.at_facility(shipment)
    spine = f.BeamlineFactory(name="MX-1", puck_positions=5, accepted_container_types=["spine"])
    assert_error(assign(staff, puck, beamline=spine.pk, position=1), 409, "wrong_container_type")
    Container.objects.filter(pk=puck.pk).update(status="returned")
    assert_error(assign(staff, puck, position_code="MX-3:01"), 409, "container_gone")


def test_unassign_and_session_unload(staff, puck, isara, received):
    assign(staff, puck, position_code="MX-3:07")
    body = staff.post(f"/api/v1/containers/{puck.pk}/unassign/").json()
    assert body["changed"] is True and body["message"].endswith("taken out of MX-3:07.")
    assert body["container"]["position_code"] is None and body["container"]["status"] == "unloaded"
    assert staff.post(f"/api/v1/containers/{puck.pk}/unassign/").json()["changed"] is False

    assign(staff, puck, position_code="MX-3:11")
    session = f.SessionFactory(proposal=received.proposal, beamline=isara)
    body = staff.post(f"/api/v1/sessions/{session.pk}/unload/").json()
    assert body["session"] == session.pk and body["message"] == "1 puck taken out of MX-3."
    assert [(c["id"], c["position_code"], c["status"]) for c in body["unloaded"]] == [(puck.pk, "MX-3:11", "unloaded")]
    assert not Container.objects.filter(beamline=isara).exists()


# --- lookups and the changer -------------------------------------------------------------------------------


def test_a_puck_is_found_by_its_barcode_as_scanned(staff, received):
    puck = received.containers.get()
    Container.objects.filter(pk=puck.pk).update(barcode="UNI0001")
    found = staff.get("/api/v1/containers/", {"barcode": "]d1uni0001\r"}).json()
    assert [c["id"] for c in found["results"]] == [puck.pk]
    assert staff.get("/api/v1/containers/", {"barcode": "UNI0002"}).json()["count"] == 0


def test_a_sample_is_found_by_its_pin_code(staff, member, received):
    sample = received.containers.get().samples.order_by("position").first()
    sample.pin_code = "AB12345678"
    sample.save(update_fields=["pin_code"])
    found = staff.get("/api/v1/samples/", {"pin_code": "ab12345678\n"}).json()
    assert [s["id"] for s in found["results"]] == [sample.pk]
    assert api_as(member).get("/api/v1/samples/", {"pin_code": "AB12345678"}).json()["count"] == 1
    outsider = f.UserFactory(username="nosy")
    assert api_as(outsider).get("/api/v1/samples/", {"pin_code": "AB12345678"}).json()["count"] == 0


def test_the_changer_lists_every_position(staff, puck, isara):
    assign(staff, puck, position_code="MX-3:07")
    body = staff.get(f"/api/v1/beamlines/{isara.pk}/changer/").json()
    assert body["beamline"]["name"] == "MX-3"
    positions = body["positions"]
    assert [p["position"] for p in positions] == list(range(1, 30))
    assert positions[0] == {"position": 1, "address": "1", "code": "MX-3:01", "accepts": ["unipuck"], "container": None}
    assert positions[6]["container"] | {"id": 0, "dewar": ""} == {
        "id": 0,
        "name": puck.name,
        "barcode": puck.barcode,
        "container_type": "unipuck",
        "status": "in_sample_changer",
        "proposal": "mx2345",
        "dewar": "",
        "sample_count": 3,
    }


def test_the_samples_of_a_beamline_and_a_session_with_their_positions(staff, member, puck, isara, received):
    assign(staff, puck, position_code="MX-3:07")
    body = staff.get(f"/api/v1/beamlines/{isara.pk}/samples/").json()
    assert body["count"] == 3
    first = body["results"][0]
    assert {k: first[k] for k in ("position", "changer_position", "changer_address", "position_code", "address")} == {
        "position": 1,
        "changer_position": 7,
        "changer_address": "7",
        "position_code": "MX-3:07",
        "address": "7:01",
    }
    assert first["container"]["id"] == puck.pk and first["proposal"] == "mx2345" and first["protein"]["acronym"]
    # Members see their own samples; another proposal's member sees none of them.
    assert api_as(member).get(f"/api/v1/beamlines/{isara.pk}/samples/").json()["count"] == 3
    nosy = f.UserFactory(username="nosy")
    assert api_as(nosy).get(f"/api/v1/beamlines/{isara.pk}/samples/").json()["count"] == 0

    session = f.SessionFactory(proposal=received.proposal, beamline=isara)
    assert staff.get(f"/api/v1/sessions/{session.pk}/samples/").json()["count"] == 3
    other = f.SessionFactory(beamline=isara)
    assert staff.get(f"/api/v1/sessions/{other.pk}/samples/").json()["count"] == 0


def test_a_session_lists_the_samples_of_dewars_booked_on_it_before_they_are_loaded(staff, isara, received):
    session = f.SessionFactory(proposal=received.proposal, beamline=isara)
    received.dewars.update(session=session)
    body = staff.get(f"/api/v1/sessions/{session.pk}/samples/").json()
    assert body["count"] == 3 and body["results"][0]["position_code"] is None


@pytest.mark.parametrize("kind", ["beamline", "session"])
def test_the_samples_endpoints_make_the_same_queries_for_1_16_and_64_samples(beamline_staff, isara, kind):
    client = api_as(beamline_staff)
    proposal = f.ProposalFactory()
    session = f.SessionFactory(proposal=proposal, beamline=isara)
    url = f"/api/v1/beamlines/{isara.pk}/samples/" if kind == "beamline" else f"/api/v1/sessions/{session.pk}/samples/"
    client.get(url)  # the user's roles are read once and kept
    counts = {}
    position = 0
    for total in (1, 16, 64):
        while Container.objects.filter(beamline=isara).count() * 16 < total:
            position += 1
            shipment = f.at_facility(f.shipment_tree(proposal=proposal, name=f"Q{position}", samples=16))
            container_assign(
                container=shipment.containers.get(), beamline=isara, position=position, user=beamline_staff
            )
        with count_queries() as queries:
            response = client.get(url, {"page_size": 1 if total == 1 else 100})
        assert response.json()["count"] == (16 if total == 1 else total)
        counts[total] = len(queries)
    # the beamline or session, the page of samples with puck, changer, proposal and protein, and the count
    # only when there is more than a page (lims.api.pagination)
    assert counts == {1: 3, 16: 2, 64: 2}


# --- sample status and history --------------------------------------------------------------------------------


def test_a_status_report_and_the_history(staff, puck, isara):
    assign(staff, puck, position_code="MX-3:07")
    sample = puck.samples.order_by("position").first()
    response = staff.post(
        f"/api/v1/samples/{sample.pk}/status/",
        {"status": "CENTRED", "detail": "auto", "centring_position": {"phi": 1.5}},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json() | {"id": 0, "at": ""} == {
        "id": 0,
        "at": "",
        "sample": sample.pk,
        "status": "centred",
        "previous": "in_sample_changer",
        "detail": "auto",
        "centring_position": {"phi": 1.5},
        "by": {"user": "blstaff", "token": None},
    }
    staff.post(
        "/api/v1/robot-actions/", {"action_type": "LOAD", "beamline": isara.pk, "sample": sample.pk}, format="json"
    )
    history = staff.get(f"/api/v1/samples/{sample.pk}/history/").json()
    assert history["sample"]["status"] == "centred"
    assert history["sample"]["last_centring_position"] == {"phi": 1.5}
    # Newest first: the report, the puck into the changer, the dewar's arrival.
    assert [h["status"] for h in history["status_history"]] == ["centred", "in_sample_changer", "at_facility"]
    assert [a["action_type"] for a in history["robot_actions"]] == ["LOAD"]
    assert [(a["location"], a["status"]) for a in history["assignments"]] == [
        ("MX-3:07", "in_sample_changer"),
        ("", "at_facility"),
    ]
    assert history["assignments"][0]["by"]["user"] == "blstaff"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "status"),
        ({"status": "registered"}, "status"),
        ({"status": "dancing"}, "status"),
        ({"centring_position": [1, 2]}, "centring_position"),
        ({"status": "loaded", "detail": "x" * 300}, "detail"),
    ],
)
def test_bad_status_reports_are_field_errors(staff, received, body, field):
    sample = received.containers.get().samples.first()
    before = SampleStatusChange.objects.count()
    assert_error(staff.post(f"/api/v1/samples/{sample.pk}/status/", body, format="json"), 400, "invalid", field)
    assert SampleStatusChange.objects.count() == before


# --- robot actions --------------------------------------------------------------------------------------------


def test_robot_actions_are_recorded_and_completed(staff, isara, received):
    sample = received.containers.get().samples.first()
    response = staff.post(
        "/api/v1/robot-actions/",
        {
            "action_type": "load",
            "beamline": isara.pk,
            "sample": sample.pk,
            "container_location": "7",
            "dewar_location": "2",
            "started_at": "2026-03-01T10:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["action_type"], body["status"], body["sample"], body["beamline_name"]) == (
        "LOAD",
        "",
        sample.pk,
        "MX-3",
    )
    done = staff.patch(f"/api/v1/robot-actions/{body['id']}/", {"status": "success", "message": "ok"}, format="json")
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["message"]) == ("SUCCESS", "ok") and done.json()["ended_at"]
    assert staff.put(f"/api/v1/robot-actions/{body['id']}/", {}, format="json").status_code == 405
    listed = staff.get("/api/v1/robot-actions/", {"sample": sample.pk}).json()
    assert [a["id"] for a in listed["results"]] == [body["id"]]


@pytest.mark.parametrize("sample", [-1, None, 987654321])
def test_a_robot_action_on_an_unknown_sample_is_stored(staff, isara, sample):
    response = staff.post(
        "/api/v1/robot-actions/",
        {"action_type": "UNLOAD", "beamline": isara.pk, "sample": sample, "sample_barcode": "XX00000000"},
        format="json",
    )
    assert response.status_code == 201, response.content
    action = RobotAction.objects.get()
    assert (action.sample, action.sample_reference, action.sample_barcode) == (None, sample, "XX00000000")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "action_type"),
        ({"action_type": "JUGGLE"}, "action_type"),
        ({"action_type": "LOAD"}, "session"),
        ({"action_type": "LOAD", "beamline": 999999}, "beamline"),
        ({"action_type": "LOAD", "session": 999999}, "session"),
        ({"action_type": "LOAD", "status": "FINE", "beamline": "{beamline}"}, "status"),
        (
            {
                "action_type": "LOAD",
                "beamline": "{beamline}",
                "started_at": "2026-03-01T10:00:00Z",
                "ended_at": "2026-03-01T09:00:00Z",
            },
            "ended_at",
        ),
    ],
)
def test_bad_robot_actions_are_field_errors(staff, isara, body, field):
    body = {k: (isara.pk if v == "{beamline}" else v) for k, v in body.items()}
    assert_error(staff.post("/api/v1/robot-actions/", body, format="json"), 400, "invalid", field)
    assert not RobotAction.objects.exists()


def test_the_sample_id_of_another_proposal_is_kept_but_not_linked_for_a_token(isara, received):
    key = f.api_token(isara)
    client = api_as(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    sample = received.containers.get().samples.first()  # not on MX-3: the token does not see it
    response = client.post("/api/v1/robot-actions/", {"action_type": "LOAD", "sample": sample.pk}, format="json")
    assert response.status_code == 201
    assert (response.json()["sample"], response.json()["sample_reference"]) == (None, sample.pk)


def test_the_native_sample_lists_are_what_their_serializer_declares(staff, beamline_staff, puck, isara, received):
    """The lists are built from rows for speed (samples.api.located); the serializer (the schema) must agree,
    field for field: on a plain changer, a cell-based one, and for pucks still in a dewar booked on a session."""
    from rest_framework.test import APIClient

    from samples.api.serializers import SampleLocatedSerializer
    from samples.models import Sample

    flex = f.BeamlineFactory(name="MX-2", sample_changer_model="FlexHCD", puck_positions=24, positions_per_cell=3)
    machine = APIClient()
    machine.credentials(HTTP_AUTHORIZATION=f"Bearer {f.api_token(isara)}")
    assign(staff, puck, position_code="MX-3:07")
    Sample.objects.filter(container=puck, position=2).update(
        cell_a=78.2, space_group="P43212", last_centring_position={"x": 1.5}
    )
    other = f.at_facility(f.shipment_tree(proposal=received.proposal, name="Second", samples=2))
    container_assign(container=other.containers.get(), beamline=flex, position=5, user=beamline_staff)
    third = f.at_facility(f.shipment_tree(proposal=received.proposal, name="Third", samples=1))
    session = f.SessionFactory(proposal=received.proposal, beamline=isara)
    third.dewars.update(session=session)

    for url in (
        f"/api/v1/beamlines/{isara.pk}/samples/",
        f"/api/v1/beamlines/{flex.pk}/samples/",
        f"/api/v1/sessions/{session.pk}/samples/",
    ):
        listed = staff.get(url).json()["results"]
        assert listed
        samples = Sample.objects.select_related("container__beamline", "container__shipment__proposal", "protein")
        by_id = {s.pk: s for s in samples.filter(pk__in=[item["id"] for item in listed])}
        for item in listed:
            assert item == SampleLocatedSerializer(by_id[item["id"]]).data
        if str(flex.pk) not in url.split("/"):  # MX-3's token: its lists through the SQL compiled once, the same
            assert machine.get(url).json()["results"] == listed
    assert any(
        item["changer_address"] == "2:2"
        for item in staff.get(f"/api/v1/beamlines/{flex.pk}/samples/").json()["results"]
    )


def test_a_token_asking_a_changer_that_is_not_its_own_gets_a_404(isara):
    """The token's beamline is found by SQL compiled once (samples.api.located.changer_beamline): the same 404s
    as the view's own get_object, for another id, one that is no number, one past bigint, an inactive beamline."""
    from rest_framework.test import APIClient

    machine = APIClient()
    machine.credentials(HTTP_AUTHORIZATION=f"Bearer {f.api_token(isara)}")
    assert machine.get(f"/api/v1/beamlines/{isara.pk}/samples/").status_code == 200
    for pk in (isara.pk + 1000, "abc", 2**63, 0):
        assert_error(machine.get(f"/api/v1/beamlines/{pk}/samples/"), 404, "not_found")
    isara.active = False
    isara.save(update_fields=["active"])
    assert_error(machine.get(f"/api/v1/beamlines/{isara.pk}/samples/"), 404, "not_found")
