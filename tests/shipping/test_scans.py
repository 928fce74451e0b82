"""The scan API: every action and the default next one, repeat scans, bad and foreign codes, refusals, access."""

import pytest

from shipping.choices import DewarEventKind, DewarStatus, ShipmentStatus
from shipping.models import Dewar, DewarEvent
from shipping.services import dewar_incident, dewar_move, dewar_receive, shipment_send
from shipping.services.scans import next_action
from tests.conftest import api_as
from tests.queries import count_queries, statements

pytestmark = pytest.mark.django_db

SCANS = "/api/v1/scans/"


@pytest.fixture
def dewar(shipment, member):
    shipment_send(shipment=shipment, user=member)
    return shipment.dewars.get()


@pytest.fixture
def scanner(stores):
    return api_as(stores)


def post(client, **body):
    return client.post(SCANS, body, format="json")


def arrivals(dewar) -> int:
    return DewarEvent.objects.filter(dewar=dewar, status=DewarStatus.AT_FACILITY).count()


def test_a_dewar_in_transit_is_received_by_default(scanner, dewar, stores_location):
    response = post(scanner, barcode=dewar.barcode)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["recorded"] is True
    assert body["dewar"]["barcode"] == dewar.barcode
    assert body["dewar"]["status"] == DewarStatus.AT_FACILITY
    assert body["dewar"]["location"]["name"] == "Stores"
    assert body["dewar"]["shipment"]["status"] == ShipmentStatus.AT_FACILITY
    assert body["dewar"]["proposal"]["name"] == "mx2345"
    assert body["event"]["status"] == DewarStatus.AT_FACILITY
    assert "received" in body["message"]
    assert body["next_action"] is None  # just arrived: Enter offers nothing, least of all to send it home


def test_a_dewar_in_transit_is_received_into_the_scanned_location(scanner, dewar, stores_location, beamline_location):
    response = post(scanner, barcode=dewar.barcode, location=beamline_location.barcode)

    assert response.status_code == 201
    assert response.json()["dewar"]["status"] == DewarStatus.AT_BEAMLINE
    assert response.json()["dewar"]["location"]["name"] == "Beamline MX-3"


def test_a_dewar_at_the_facility_moves_to_the_scanned_location(
    scanner, dewar, stores, stores_location, beamline_location
):
    dewar_receive(dewar=dewar, user=stores)

    response = post(scanner, barcode=dewar.barcode, location=beamline_location.barcode)

    assert response.status_code == 201
    assert response.json()["event"]["location"]["name"] == "Beamline MX-3"
    assert Dewar.objects.get(pk=dewar.pk).shipment.status == ShipmentStatus.PROCESSING


def test_the_same_scan_twice_records_one_event_and_says_already_here(scanner, dewar, stores_location):
    assert post(scanner, barcode=dewar.barcode).status_code == 201

    again = post(scanner, barcode=dewar.barcode, location="LOC-STORES")

    assert again.status_code == 200
    assert again.json()["recorded"] is False and again.json()["event"] is None
    assert "already here" in again.json()["message"]
    assert arrivals(dewar) == 1


def test_dispatch_needs_courier_and_tracking_number(scanner, dewar, stores, stores_location):
    dewar_receive(dewar=dewar, user=stores)

    missing = post(scanner, barcode=dewar.barcode, action="dispatch")
    done = post(scanner, barcode=dewar.barcode, action="dispatch", courier="DHL", tracking_number="123 456")

    assert missing.status_code == 400
    assert set(missing.json()["errors"]) == {"courier", "tracking_number"}
    assert done.status_code == 201
    assert done.json()["event"]["tracking_number"] == "123 456"
    assert done.json()["dewar"]["status"] == DewarStatus.IN_TRANSIT_TO_USER
    assert done.json()["next_action"] == "return"


def test_a_dewar_on_its_way_home_is_returned_by_default(scanner, dewar, stores, stores_location):
    dewar_receive(dewar=dewar, user=stores)
    post(scanner, barcode=dewar.barcode, action="dispatch", courier="DHL", tracking_number="1")

    response = post(scanner, barcode=dewar.barcode)

    assert response.status_code == 201
    assert response.json()["dewar"]["status"] == DewarStatus.RETURNED
    assert response.json()["dewar"]["shipment"]["status"] == ShipmentStatus.CLOSED
    # Home: nothing left to do, and the scan says so.
    again = post(scanner, barcode=dewar.barcode)
    assert again.status_code == 409 and again.json()["code"] == "no_action"


def test_note_and_incident(scanner, dewar, stores, stores_location):
    dewar_receive(dewar=dewar, user=stores)

    note = post(scanner, barcode=dewar.barcode, action="note", note="LN2 topped up")
    incident = post(scanner, barcode=dewar.barcode, action="incident", incident="damaged", note="dented")
    bad = post(scanner, barcode=dewar.barcode, action="incident", incident="stolen")

    assert note.status_code == 201 and note.json()["event"]["kind"] == DewarEventKind.NOTE
    assert incident.status_code == 201 and incident.json()["event"]["note"] == "Damaged: dented"
    assert bad.status_code == 400 and "incident" in bad.json()["errors"]


def test_move_without_a_location_is_a_field_error(scanner, dewar, stores, stores_location):
    dewar_receive(dewar=dewar, user=stores)

    response = post(scanner, barcode=dewar.barcode, action="move")

    assert response.status_code == 400 and "location" in response.json()["errors"]


def test_an_illegal_step_is_refused_with_its_code(scanner, dewar, beamline_location):
    response = post(scanner, barcode=dewar.barcode, action="move", location=beamline_location.barcode)

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert "receive it before moving it" in response.json()["detail"]


def test_a_dewar_never_sent_is_refused_then_received_with_a_reason(scanner, shipment, stores_location):
    dewar = shipment.dewars.get()  # the shipment is still a draft

    refused = post(scanner, barcode=dewar.barcode)
    confirmed = post(scanner, barcode=dewar.barcode, confirm_reason="Courier came early")

    assert refused.status_code == 409 and refused.json()["code"] == "not_sent"
    assert confirmed.status_code == 201
    assert "Courier came early" in confirmed.json()["event"]["note"]
    assert arrivals(dewar) == 1


def test_unknown_barcode_is_404(scanner, dewar):
    response = post(scanner, barcode="DS999999")

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_barcode"
    assert "DS999999" in response.json()["detail"]


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("DS12", "has 2 digits after DS"),  # malformed
        ("ESRF000123", "does not start with DS"),  # another facility's dewar
        ("", "empty"),
    ],
)
def test_malformed_and_foreign_codes_are_400_with_the_reason(scanner, dewar, code, says):
    response = post(scanner, barcode=code)

    assert response.status_code == 400
    assert says.lower() in response.json()["detail"].lower()
    assert response.json()["errors"]["barcode"]


def test_a_location_code_as_the_dewar_is_400_saying_so(scanner, dewar, stores_location):
    response = post(scanner, barcode="LOC-STORES")

    assert response.status_code == 400
    assert "is the barcode of the location Stores, not of a dewar" in response.json()["detail"]
    assert not DewarEvent.objects.filter(dewar=dewar, status=DewarStatus.AT_FACILITY).exists()


def test_an_unknown_location_is_404_and_nothing_moves(scanner, dewar, stores_location):
    response = post(scanner, barcode=dewar.barcode, location="NOWHERE-1")

    assert response.status_code == 404 and response.json()["code"] == "unknown_location"
    assert Dewar.objects.get(pk=dewar.pk).status == DewarStatus.IN_TRANSIT_TO_FACILITY


@pytest.mark.parametrize("sent_as", ["]d2{code}", "{code}\r\n", " {lower}\t", "\x02{code}\x03"])
def test_what_scanners_add_is_normalised(scanner, dewar, stores_location, sent_as):
    raw = sent_as.format(code=dewar.barcode, lower=dewar.barcode.lower())

    response = post(scanner, barcode=raw, location="]d2loc-stores\r\n")

    assert response.status_code == 201, response.json()
    assert response.json()["dewar"]["location"]["name"] == "Stores"


def test_next_action_follows_the_status(dewar, stores, stores_location, beamline_location):
    assert next_action(dewar) == "receive"
    arrived = dewar_receive(dewar=dewar, user=stores).dewar
    assert next_action(arrived, beamline_location) == "move"
    assert next_action(arrived) is None  # never dispatch a dewar that has only just arrived
    at_beamline = dewar_move(dewar=arrived, user=stores, location=beamline_location).dewar
    assert next_action(at_beamline) == "dispatch"
    back = dewar_move(dewar=at_beamline, user=stores, location=stores_location).dewar
    assert next_action(back) == "dispatch"  # it has been used: alone at the stores, it goes home


def test_lookup_tells_a_dewar_from_a_location_and_writes_nothing(scanner, dewar, stores_location):
    as_dewar = scanner.get(f"{SCANS}lookup/", {"barcode": f"]d2{dewar.barcode}\r\n"})
    as_location = scanner.get(f"{SCANS}lookup/", {"barcode": "loc-stores"})
    unknown = scanner.get(f"{SCANS}lookup/", {"barcode": "DS999999"})
    nonsense = scanner.get(f"{SCANS}lookup/", {"barcode": "$$$"})

    assert as_dewar.status_code == 200
    assert as_dewar.json()["kind"] == "dewar" and as_dewar.json()["next_action"] == "receive"
    assert as_dewar.json()["dewar"]["url"] == f"/shipments/dewars/{dewar.pk}/"
    assert as_location.json() | {"location": None} == {"kind": "location", "location": None}
    assert as_location.json()["location"]["barcode"] == "LOC-STORES"
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_barcode"
    assert nonsense.status_code == 400
    assert DewarEvent.objects.filter(dewar=dewar, status=DewarStatus.AT_FACILITY).count() == 0


def test_recent_scans_are_the_callers_own_last_twenty(scanner, stores, beamline_staff, dewar, stores_location):
    dewar_receive(dewar=dewar, user=stores)
    for n in range(25):
        dewar_incident(dewar=dewar, user=stores, incident="other", note=f"n{n}")
    dewar_incident(dewar=dewar, user=beamline_staff, incident="other", note="not mine")

    response = scanner.get(SCANS)

    assert response.status_code == 200
    notes = [e["note"] for e in response.json()]
    assert len(notes) == 20
    assert notes[0] == "Other incident: n24" and "Other incident: not mine" not in notes
    assert response.json()[0]["dewar_barcode"] == dewar.barcode


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("stores", 201), ("beamline_staff", 201), ("admin_user", 201), ("member", 403), ("outsider", 403), (None, 401)],
)
def test_who_may_scan(request, persona, expected, dewar, stores_location):
    user = request.getfixturevalue(persona) if persona else None

    response = post(api_as(user), barcode=dewar.barcode)

    assert response.status_code == expected
    assert arrivals(dewar) == (1 if expected == 201 else 0)


def test_a_member_cannot_learn_anything_by_scanning(member, dewar):
    """The 403 comes before any lookup: the same answer for a real and a made-up barcode."""
    real = api_as(member).post(SCANS, {"barcode": dewar.barcode}, format="json")
    made_up = api_as(member).post(SCANS, {"barcode": "DS999999"}, format="json")
    assert real.status_code == made_up.status_code == 403
    assert real.json() == made_up.json()


def test_dewar_and_history_are_scoped(member, outsider, stores, dewar, stores_location):
    dewar_receive(dewar=dewar, user=stores)

    mine = api_as(member).get(f"/api/v1/dewars/{dewar.pk}/")
    history = api_as(member).get(f"/api/v1/dewars/{dewar.pk}/history/")
    theirs = api_as(outsider).get(f"/api/v1/dewars/{dewar.pk}/history/")

    assert mine.status_code == 200 and mine.json()["barcode"] == dewar.barcode
    assert [e["status"] for e in history.json()] == [DewarStatus.IN_TRANSIT_TO_FACILITY, DewarStatus.AT_FACILITY]
    assert history.json()[-1]["user"] == "stores"
    assert theirs.status_code == 404
    assert api_as(stores).get("/api/v1/dewars/abc/").status_code == 404


def test_history_costs_the_same_queries_for_many_events(member, stores, dewar, stores_location):
    dewar_receive(dewar=dewar, user=stores)
    client = api_as(member)
    client.get(f"/api/v1/dewars/{dewar.pk}/history/")  # warm the session and content types
    for n in range(10):
        dewar_incident(dewar=dewar, user=stores, incident="other", note=str(n))

    # scope check (member's proposals as a subquery) + dewar + events with location and user, and roles
    with count_queries() as queries:
        response = client.get(f"/api/v1/dewars/{dewar.pk}/history/")
    assert len(queries) <= 4, queries.captured_queries
    assert len(response.json()) == 12


def test_a_scan_with_a_location_costs_a_fixed_number_of_queries(
    scanner, dewar, stores, stores_location, beamline_location
):
    dewar_receive(dewar=dewar, user=stores)
    post(scanner, barcode=dewar.barcode, location=beamline_location.barcode)  # warm: token, roles, content types

    with count_queries() as queries:
        response = post(scanner, barcode=dewar.barcode, location=stores_location.barcode)
    assert response.status_code == 201 and response.json()["next_action"] == "dispatch"
    # token, roles, location, (begin), lock shipment, lock dewar, update, event, audit, dewars' statuses,
    # shipment update + its audit, (commit), then the next action: one query whether the dewar was used
    assert len(queries) <= 12, "\n".join(sql[:90] for sql in statements(queries))


@pytest.mark.parametrize("where", ["stores", "beamline", "nowhere"])
def test_the_scan_answer_is_what_its_serializers_declare(dewar, stores, stores_location, beamline_location, where):
    """The card and the event are built directly for speed; the declared fields (the schema) must agree."""
    from django.db import transaction
    from rest_framework import serializers

    from shipping.api.scans import DewarCardSerializer, ScanEventSerializer
    from shipping.api.serializers import DewarEventSerializer
    from shipping.services.dewars import lock_by_barcode
    from tests import factories as f

    dewar.session = f.SessionFactory(proposal=dewar.shipment.proposal) if where != "nowhere" else None
    dewar.delivery_location = stores_location if where == "beamline" else None
    dewar.save()
    if where != "nowhere":  # else still on its way: no location, the event of its sending
        dewar_receive(dewar=dewar, user=stores, location=beamline_location if where == "beamline" else None)

    with transaction.atomic():
        card = lock_by_barcode(dewar.barcode)
    event = DewarEvent.objects.filter(dewar=dewar).select_related("location", "user", "dewar").latest("id")
    declared = serializers.ModelSerializer.to_representation
    assert DewarCardSerializer(card).data == declared(DewarCardSerializer(), card)
    assert DewarEventSerializer(event).data == declared(DewarEventSerializer(), event)
    assert ScanEventSerializer(event).data == declared(ScanEventSerializer(), event)
