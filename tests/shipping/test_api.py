"""The shipment endpoints: nested create/update, status actions, errors with paths, listing, query counts."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from lims.choices import FacilityRole
from lims.tokens import personal_token_create
from samples.models import Sample
from shipping.choices import DewarStatus, LocationKind, ShipmentStatus
from shipping.models import DewarEvent, Shipment
from tests import factories as f
from tests.conftest import api_as
from tests.queries import count_queries

pytestmark = pytest.mark.django_db

LIST = "/api/v1/shipments/"


def url(shipment_id) -> str:
    return f"/api/v1/shipments/{shipment_id}/"


def sample(position, name, **extra):
    return {"position": position, "name": name, "protein_acronym": "LYS", **extra}


def payload(proposal, contact, **extra):
    """A new shipment: one dewar, one UniPuck with two pins."""
    return {
        "proposal": proposal.pk,
        "name": "Kinases-1",
        "sending_contact": contact.pk,
        "return_contact": contact.pk,
        "return_courier": "DHL",
        "return_courier_account": "987654",
        "safety_level": "yellow",
        "expected_arrival": "2030-01-15",
        "dewars": [
            {
                "name": "Dewar-A",
                "customs_value": "150.00",
                "transport_value": "300.50",
                "courier_to_facility": "FedEx",
                "tracking_to_facility": "FX123",
                "containers": [
                    {
                        "name": "Puck-A1",
                        "container_type": "unipuck",
                        "barcode": "UP-0001",
                        "samples": [
                            sample(
                                1,
                                "lys-01",
                                pin_code="ab12345678",
                                space_group="P43212",
                                cell_a=79.1,
                                cell_b=79.1,
                                cell_c=37.9,
                                cell_alpha=90,
                                cell_beta=90,
                                cell_gamma=90,
                            ),
                            sample(2, "lys-02", experiment_kind="SAD", required_resolution=1.8),
                        ],
                    }
                ],
            }
        ],
        **extra,
    }


def post(client, data):
    return client.post(LIST, data, format="json")


def errors_of(response) -> dict:
    body = response.json()
    assert response.status_code == 400, body
    assert body["code"] == "invalid" and isinstance(body["detail"], str)
    return body["errors"]


def fresh(user):
    """The user as a new request sees them: no facility roles cached from an earlier request."""
    return get_user_model().objects.get(pk=user.pk)


# --- create and read back -------------------------------------------------------------------------------


def test_member_creates_a_full_shipment_and_reads_it_back(proposal, member, lab_contact):
    stores = f.LocationFactory(name="Stores", kind=LocationKind.STORES)
    session = f.SessionFactory(proposal=proposal)
    contact_person = f.UserFactory(username="lc", groups=[FacilityRole.LOCAL_CONTACT])
    data = payload(proposal, lab_contact)
    data["dewars"][0].update(delivery_location=stores.pk, session=session.pk, local_contact=contact_person.pk)
    client = api_as(member)

    created = post(client, data)
    assert created.status_code == 201, created.json()
    body = client.get(url(created.json()["id"])).json()

    assert body == created.json()
    assert body["name"] == "Kinases-1" and body["status"] == "draft"
    assert body["proposal"] == proposal.pk and body["proposal_name"] == "mx2345"
    assert body["created_by"] == "alice" and body["created_at"] and body["sent_at"] is None
    assert body["expected_arrival"] == "2030-01-15"
    assert body["sending_contact"]["id"] == lab_contact.pk
    assert body["sending_contact"]["lab_name"] == lab_contact.lab_name
    assert body["return_courier"] == "DHL" and body["return_courier_account"] == "987654"
    assert body["safety_level"] == "yellow"
    assert (body["dewar_count"], body["container_count"], body["sample_count"]) == (1, 1, 2)
    dewar = body["dewars"][0]
    assert dewar["barcode"].startswith("DS")
    assert dewar["number_in_shipment"] == {"number": 1, "of": 1}
    assert dewar["status"] == "registered" and dewar["location"] is None and dewar["arrival"] is None
    assert dewar["delivery_location"] == {"id": stores.pk, "name": "Stores", "kind": "stores"}
    assert dewar["customs_value"] == "150.00" and dewar["transport_value"] == "300.50"
    assert dewar["courier_to_facility"] == "FedEx" and dewar["tracking_to_facility"] == "FX123"
    assert dewar["session"]["id"] == session.pk and dewar["session"]["beamline"] == session.beamline.name
    assert dewar["experiment_date"] == body["dewars"][0]["session"]["start"]
    assert dewar["local_contact"]["username"] == "lc"
    assert dewar["transport_history"] == []
    puck = dewar["containers"][0]
    assert (puck["name"], puck["container_type"], puck["capacity"], puck["barcode"]) == (
        "Puck-A1",
        "unipuck",
        16,
        "UP-0001",
    )
    first, second = puck["samples"]
    assert first["protein"]["acronym"] == "LYS" and isinstance(first["protein"]["id"], int)
    assert first["pin_code"] == "AB12345678" and first["space_group"] == "P43212" and first["cell_a"] == 79.1
    assert second["experiment_kind"] == "SAD" and second["required_resolution"] == 1.8


def test_dewars_are_numbered_within_their_shipment(proposal, member):
    shipment = f.shipment_tree(proposal=proposal, user=member, dewars=3)
    body = api_as(member).get(url(shipment.pk)).json()
    assert [d["number_in_shipment"] for d in body["dewars"]] == [{"number": n, "of": 3} for n in (1, 2, 3)]
    assert body["dewar_count"] == 3


def test_arrival_and_location_come_from_the_transport_events(shipment, member):
    shelf = f.LocationFactory(name="Shelf B", kind=LocationKind.STORES)
    dewar = shipment.dewars.get()
    arrived = timezone.now()
    DewarEvent.objects.create(dewar=dewar, at=arrived, status=DewarStatus.AT_FACILITY, location=shelf, note="in")
    dewar.location, dewar.status = shelf, DewarStatus.AT_FACILITY
    dewar.save()

    body = api_as(member).get(url(shipment.pk)).json()["dewars"][0]
    assert body["arrival"] is not None and body["arrival"].startswith(arrived.astimezone().strftime("%Y-%m-%dT"))
    assert body["location"]["name"] == "Shelf B"
    assert [(e["status"], e["location"]["name"], e["note"]) for e in body["transport_history"]] == [
        ("at_facility", "Shelf B", "in")
    ]


def test_a_new_protein_acronym_is_added_and_an_existing_protein_id_is_used(proposal, member, lab_contact):
    protein = f.ProteinFactory(proposal=proposal, acronym="KIN")
    data = payload(proposal, lab_contact)
    data["dewars"][0]["containers"][0]["samples"] = [
        {"position": 1, "name": "k1", "protein": protein.pk},
        {"position": 2, "name": "t1", "protein_acronym": "TRYP"},
    ]
    response = post(api_as(member), data)
    assert response.status_code == 201, response.json()
    acronyms = [s["protein"]["acronym"] for s in response.json()["dewars"][0]["containers"][0]["samples"]]
    assert acronyms == ["KIN", "TRYP"]


# --- update ---------------------------------------------------------------------------------------------


def test_update_renames_a_sample_adds_a_puck_and_removes_a_dewar(proposal, member):
    shipment = f.shipment_tree(proposal=proposal, user=member, dewars=2, samples=2)
    client = api_as(member)
    tree = client.get(url(shipment.pk)).json()
    kept = tree["dewars"][0]
    puck = kept["containers"][0]
    data = {
        "name": tree["name"],
        "dewars": [
            {
                "id": kept["id"],
                "name": kept["name"],
                "containers": [
                    {
                        "id": puck["id"],
                        "name": puck["name"],
                        "samples": [
                            {
                                "id": puck["samples"][0]["id"],
                                "position": 1,
                                "name": "renamed",
                                "protein_acronym": "LYS",
                            },
                            {"position": 2, "name": puck["samples"][1]["name"], "protein_acronym": "LYS"},
                        ],
                    },
                    {"name": "New-puck", "container_type": "spine", "samples": [sample(10, "spine-10")]},
                ],
            }
        ],
    }

    response = client.put(url(shipment.pk), data, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert [d["id"] for d in body["dewars"]] == [kept["id"]]
    assert [c["name"] for c in body["dewars"][0]["containers"]] == [puck["name"], "New-puck"]
    assert body["dewars"][0]["containers"][1]["capacity"] == 10
    samples = body["dewars"][0]["containers"][0]["samples"]
    assert samples[0]["id"] == puck["samples"][0]["id"] and samples[0]["name"] == "renamed"
    assert samples[1]["id"] == puck["samples"][1]["id"]
    assert shipment.dewars.count() == 1
    assert Sample.objects.filter(container__shipment=shipment).count() == 3


def test_patch_without_dewars_keeps_the_contents(shipment, member):
    response = api_as(member).patch(url(shipment.pk), {"comments": "fragile"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["comments"] == "fragile"
    assert response.json()["sample_count"] == 3


def test_put_needs_the_name(shipment, member):
    response = api_as(member).put(url(shipment.pk), {"comments": "x"}, format="json")
    assert errors_of(response) == {"name": ["This field is required."]}


def test_an_unknown_dewar_id_is_a_field_error(shipment, member):
    data = {"dewars": [{"id": 999999, "name": "x"}]}
    response = api_as(member).patch(url(shipment.pk), data, format="json")
    assert "dewars.0.id" in errors_of(response)


# --- status actions -------------------------------------------------------------------------------------


def test_send_then_send_again_is_an_invalid_transition(shipment, member):
    client = api_as(member)
    response = client.post(url(shipment.pk) + "send/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "sent" and body["sent_at"] is not None
    assert body["dewars"][0]["status"] == DewarStatus.IN_TRANSIT_TO_FACILITY
    assert [e["status"] for e in body["dewars"][0]["transport_history"]] == ["in_transit_to_facility"]

    again = client.post(url(shipment.pk) + "send/")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition" and again.json()["detail"]


def test_cancel_then_cancel_again_is_an_invalid_transition(shipment, member):
    client = api_as(member)
    response = client.post(url(shipment.pk) + "cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = client.post(url(shipment.pk) + "cancel/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_a_shipment_without_contacts_is_not_ready_to_send(proposal, member):
    shipment = f.shipment_tree(proposal=proposal, user=member, sending_contact=None, return_contact=None)
    response = api_as(member).post(url(shipment.pk) + "send/")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "not_ready" and "to facility" in body["detail"]
    assert set(body) == {"detail", "code"}
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DRAFT


def test_a_sent_shipment_is_frozen_for_its_member(shipment, member):
    client = api_as(member)
    client.post(url(shipment.pk) + "send/")
    response = client.patch(url(shipment.pk), {"comments": "late"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "frozen"


@pytest.mark.parametrize("persona", ["stores", "admin_user"])
def test_facility_staff_may_correct_a_sent_shipment(request, shipment, member, persona):
    api_as(member).post(url(shipment.pk) + "send/")
    staff = request.getfixturevalue(persona)
    response = api_as(staff).patch(url(shipment.pk), {"comments": "corrected by stores"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["comments"] == "corrected by stores" and response.json()["status"] == "sent"


def test_shipments_cannot_be_deleted(shipment, member):
    response = api_as(member).delete(url(shipment.pk))
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
    assert Shipment.objects.filter(pk=shipment.pk).exists()


# --- validation: errors with paths, nothing half-saved -------------------------------------------------


def test_a_bad_sample_name_is_reported_at_its_path_and_nothing_is_saved(proposal, member, lab_contact):
    data = payload(proposal, lab_contact)
    data["dewars"][0]["containers"][0]["samples"][0]["name"] = "bad name"
    errors = errors_of(post(api_as(member), data))
    assert list(errors) == ["dewars.0.containers.0.samples.0.name"]
    assert not Shipment.objects.filter(name="Kinases-1").exists()


def test_a_position_beyond_the_capacity_is_refused(proposal, member, lab_contact):
    data = payload(proposal, lab_contact)
    data["dewars"][0]["containers"][0].update(container_type="spine")
    data["dewars"][0]["containers"][0]["samples"][1]["position"] = 11
    errors = errors_of(post(api_as(member), data))
    assert "1 to 10" in errors["dewars.0.containers.0.samples.1.position"][0]


def test_duplicate_names_and_positions_are_refused(proposal, member, lab_contact):
    data = payload(proposal, lab_contact)
    data["dewars"].append({"name": "Dewar-A"})
    data["dewars"][0]["containers"][0]["samples"][1].update(position=1, name="lys-01")
    errors = errors_of(post(api_as(member), data))
    assert {"dewars.0.name", "dewars.1.name"} <= set(errors)
    assert "dewars.0.containers.0.samples.1.position" in errors
    assert "dewars.0.containers.0.samples.1.name" in errors


def test_a_duplicate_shipment_name_is_refused(shipment, member, lab_contact, proposal):
    errors = errors_of(post(api_as(member), payload(proposal, lab_contact, name=shipment.name)))
    assert list(errors) == ["name"]


def test_a_lab_contact_of_another_proposal_is_a_field_error(proposal, other_proposal, member, lab_contact):
    theirs = f.LabContactFactory(proposal=other_proposal)
    errors = errors_of(post(api_as(member), payload(proposal, lab_contact, sending_contact=theirs.pk)))
    assert list(errors) == ["sending_contact"]


def test_staff_cannot_attach_a_lab_contact_of_another_proposal(proposal, other_proposal, stores, lab_contact):
    # Staff see every card; the service still refuses a card that is not the shipment's proposal's.
    theirs = f.LabContactFactory(proposal=other_proposal)
    errors = errors_of(post(api_as(stores), payload(proposal, lab_contact, return_contact=theirs.pk)))
    assert list(errors) == ["return_contact"]


def test_a_session_or_protein_of_another_proposal_is_a_field_error(proposal, other_proposal, member, lab_contact):
    data = payload(proposal, lab_contact)
    data["dewars"][0]["session"] = f.SessionFactory(proposal=other_proposal).pk
    data["dewars"][0]["containers"][0]["samples"][0]["protein"] = f.ProteinFactory(proposal=other_proposal).pk
    errors = errors_of(post(api_as(member), data))
    assert set(errors) == {"dewars.0.session", "dewars.0.containers.0.samples.0.protein"}


def test_the_proposal_must_be_one_of_the_users(proposal, other_proposal, member, lab_contact):
    errors = errors_of(post(api_as(member), payload(other_proposal, lab_contact)))
    assert "proposal" in errors


def test_unknown_delivery_location_and_local_contact_are_field_errors(proposal, member, lab_contact):
    not_staff = f.UserFactory(username="bob")
    off_site = f.LocationFactory(name="Courier depot", kind=LocationKind.OFF_SITE)
    data = payload(proposal, lab_contact)
    data["dewars"][0].update(delivery_location=off_site.pk, local_contact=not_staff.pk)
    errors = errors_of(post(api_as(member), data))
    assert set(errors) == {"dewars.0.delivery_location", "dewars.0.local_contact"}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"dewars": "many"}, "dewars"),
        ({"dewars": [7]}, "dewars.0"),
        ({"sending_contact": "abc"}, "sending_contact"),
        ({"sending_contact": 10**30}, "sending_contact"),
        ({"sending_contact": True}, "sending_contact"),
        ({"expected_arrival": "next tuesday"}, "expected_arrival"),
        ({"safety_level": "purple"}, "safety_level"),
        ({"name": "x" * 61}, "name"),
        ({"name": None}, "name"),
        ({"dewars": [{"name": "D", "customs_value": "1e20"}]}, "dewars.0.customs_value"),
        ({"dewars": [{"name": "D", "customs_value": -1}]}, "dewars.0.customs_value"),
        ({"dewars": [{"name": "D", "id": 10**30}]}, "dewars.0.id"),
        ({"dewars": [{"name": "D", "containers": [{"name": "P", "capacity": 10**9}]}]}, "dewars.0.containers.0.capacity"),
        ({"dewars": [{"name": "D", "containers": [{"name": "P", "samples": [{"position": "one", "name": "s"}]}]}]},
         "dewars.0.containers.0.samples.0.position"),
        ({"dewars": [{"name": "D", "containers": [{"name": "P", "samples": [{"position": 10**30, "name": "s"}]}]}]},
         "dewars.0.containers.0.samples.0.position"),
        ({"dewars": [{"name": "D", "containers": [{"name": "P", "samples": [sample(1, "s", cell_a="wide")]}]}]},
         "dewars.0.containers.0.samples.0.cell_a"),
        ({"dewars": [{"name": "D", "containers": [{"name": "P", "samples": [sample(1, "s", cell_a="1e400")]}]}]},
         "dewars.0.containers.0.samples.0.cell_a"),
        ({"dewars": [{"name": "D", "containers": [{"name": "P", "container_type": "bucket"}]}]},
         "dewars.0.containers.0.container_type"),
    ],
)  # fmt: skip
def test_wrong_types_are_400_at_their_path(proposal, member, lab_contact, change, path):
    data = payload(proposal, lab_contact) | change
    assert path in errors_of(post(api_as(member), data))
    assert not Shipment.objects.exists()


def test_a_number_too_big_for_a_float_is_400(proposal, member, lab_contact):
    data = payload(proposal, lab_contact)
    data["dewars"][0]["containers"][0]["samples"][0]["cell_a"] = "HUGE"
    body = json.dumps(data).replace('"HUGE"', "1e400")
    response = api_as(member).post(LIST, body, content_type="application/json")
    assert "dewars.0.containers.0.samples.0.cell_a" in errors_of(response)


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", "null", '"a string"'])
def test_a_body_that_is_not_a_shipment_is_400(member, body):
    response = api_as(member).post(LIST, body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) >= {"detail", "code"}


def test_malformed_json_is_a_parse_error(member):
    response = api_as(member).post(LIST, '{"name": ', content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


# --- not found ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "send/", "cancel/"])
def test_another_proposals_shipment_is_not_found(other_proposal, outsider, member, suffix):
    theirs = f.shipment_tree(proposal=other_proposal, user=outsider, name="Theirs")
    method = "get" if not suffix else "post"
    response = getattr(api_as(member), method)(url(theirs.pk) + suffix)
    assert response.status_code == 404
    assert response.json() == {"detail": "No Shipment matches the given query.", "code": "not_found"}


@pytest.mark.parametrize("shipment_id", ["999999", "abc", str(10**30)])
def test_an_unknown_shipment_is_not_found(member, shipment_id):
    response = api_as(member).get(url(shipment_id))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# --- list -----------------------------------------------------------------------------------------------


def test_the_list_is_scoped_filtered_ordered_and_paginated(proposal, other_proposal, member, outsider, stores):
    first = f.shipment_tree(proposal=proposal, user=member, name="A-first", dewars=2, samples=3)
    second = f.shipment_tree(proposal=proposal, user=member, name="B-second")
    theirs = f.shipment_tree(proposal=other_proposal, user=outsider, name="Theirs")
    api_as(member).post(url(second.pk) + "send/")
    client = api_as(member)

    body = client.get(LIST).json()
    assert body["count"] == 2 and {s["id"] for s in body["results"]} == {first.pk, second.pk}
    row = next(s for s in body["results"] if s["id"] == first.pk)
    assert (row["dewar_count"], row["container_count"], row["sample_count"]) == (2, 2, 6)
    assert row["proposal_name"] == "mx2345"

    assert [s["id"] for s in client.get(LIST, {"status": "sent"}).json()["results"]] == [second.pk]
    assert [s["id"] for s in client.get(LIST, {"ordering": "name"}).json()["results"]] == [first.pk, second.pk]
    assert [s["id"] for s in client.get(LIST, {"ordering": "-name"}).json()["results"]] == [second.pk, first.pk]
    page = client.get(LIST, {"ordering": "name", "page_size": 1, "page": 2}).json()
    assert page["count"] == 2 and [s["id"] for s in page["results"]] == [second.pk] and page["previous"]

    staff = api_as(stores)
    assert staff.get(LIST).json()["count"] == 3
    assert [s["id"] for s in staff.get(LIST, {"proposal": other_proposal.pk}).json()["results"]] == [theirs.pk]


def test_list_filters_refuse_bad_values(member, other_proposal):
    client = api_as(member)
    assert "status" in errors_of(client.get(LIST, {"status": "lost-in-space"}))
    # Another proposal is not a choice for a member: the same answer as for a proposal that does not exist.
    assert "proposal" in errors_of(client.get(LIST, {"proposal": other_proposal.pk}))
    assert "proposal" in errors_of(client.get(LIST, {"proposal": "abc"}))


def test_an_anonymous_request_is_401(shipment, api):
    response = api.get(LIST)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_token_authenticates(shipment, member, api):
    _, key = personal_token_create(user=member)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.get(url(shipment.pk))
    assert response.status_code == 200 and response.json()["id"] == shipment.pk


def test_a_bad_token_is_401(shipment, api):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = api.get(LIST)
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


# --- query counts ---------------------------------------------------------------------------------------


def queries_of(user, path) -> int:
    client = api_as(fresh(user))
    with count_queries() as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


def test_the_detail_costs_the_same_queries_for_one_sample_as_for_192(proposal, member):
    small = f.shipment_tree(proposal=proposal, user=member, name="Small")
    big = f.shipment_tree(proposal=proposal, user=member, name="Big", dewars=3, pucks=4, samples=16)
    for dewar in big.dewars.all():
        DewarEvent.objects.create(dewar=dewar, at=timezone.now(), status=DewarStatus.AT_FACILITY)
    assert api_as(member).get(url(big.pk)).json()["sample_count"] == 192

    # roles, shipment, dewars, containers, samples (+protein), events
    assert queries_of(member, url(small.pk)) == queries_of(member, url(big.pk)) == 6


def test_the_list_costs_the_same_queries_for_one_small_shipment_as_for_several_big_ones(proposal, member):
    f.shipment_tree(proposal=proposal, user=member, name="Small")
    one = queries_of(member, LIST)
    for n in range(3):
        f.shipment_tree(proposal=proposal, user=member, name=f"Big{n}", dewars=3, pucks=4, samples=16)
    assert api_as(member).get(LIST).json()["count"] == 4
    # roles, page of shipments with their counts (a list that fits one page is not counted: lims.api.pagination)
    assert queries_of(member, LIST) == one == 2


def test_a_first_page_is_counted_only_when_there_is_more(proposal, member):
    """lims.api.pagination: the first page read with one row more; the count query only when it is there."""
    for n in range(3):
        f.shipment_tree(proposal=proposal, user=member, name=f"P{n}")
    client = api_as(member)
    whole = client.get(LIST, {"page_size": 3}).json()
    assert whole["count"] == 3 and whole["next"] is None and len(whole["results"]) == 3
    first = client.get(LIST, {"page_size": 2}).json()
    assert first["count"] == 3 and first["next"].endswith("page=2&page_size=2") and first["previous"] is None
    second = client.get(LIST, {"page_size": 2, "page": 2}).json()
    assert second["count"] == 3 and second["next"] is None and len(second["results"]) == 1
    assert {r["id"] for r in first["results"] + second["results"]} == {r["id"] for r in whole["results"]}
    assert queries_of(member, f"{LIST}?page_size=2") == queries_of(member, f"{LIST}?page_size=3") + 1
    assert client.get(LIST, {"page": 3, "page_size": 2}).status_code == 404


# --- never a 500 for bad input --------------------------------------------------------------------------

ODD_BODIES = [
    {"name": "x\x00y"},
    {"name": "S", "dewars": {"name": "not a list"}},
    {"name": "S", "dewars": [{"name": "D", "containers": None}]},
    {"name": "S", "dewars": [{"name": "D", "containers": [{"name": "P", "samples": [None]}]}]},
    {"name": "S", "dewars": [{"name": "D", "containers": [{"name": "P", "samples": [{"position": 1}]}]}]},
    {"name": "S", "dewars": [{"name": "D", "containers": [{"name": "P", "samples": [sample(1, "s", protein=None)]}]}]},
    {"name": "S", "dewars": [{"name": "D", "containers": [{"name": "P", "capacity": 0, "container_type": "other"}]}]},
    {"name": "S", "dewars": [{"name": "D", "customs_value": "NaN"}]},
    {"name": "S", "dewars": [{"name": "D", "session": [1]}]},
    {"name": "S", "dewars": [{"name": "D", "local_contact": {"id": 1}}]},
    {"name": "S", "expected_arrival": "99999-01-01"},
    {"name": ["S"]},
    {"name": "S", "dewars": [{"name": "D", "containers": [{"name": "P", "samples": [sample(1, "s", pin_code="x" * 21)]}]}]},
]  # fmt: skip


@pytest.mark.parametrize("body", ODD_BODIES)
def test_odd_bodies_are_400_never_500(proposal, member, lab_contact, body):
    response = api_as(member).post(LIST, {"proposal": proposal.pk, **body}, format="json")
    assert response.status_code == 400, response.json()
    assert set(response.json()) == {"detail", "code", "errors"}
    assert not Shipment.objects.exists()


def test_a_form_encoded_shipment_is_understood(proposal, member):
    response = api_as(member).post(LIST, {"proposal": proposal.pk, "name": "Flat"})
    assert response.status_code == 201, response.json()
    assert response.json()["dewars"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": 10**30},
        {"page_size": "lots"},
        {"page_size": 10**30},
        {"ordering": "no_such_field"},
        {"proposal": 10**30},
        {"status": ""},
    ],
)
def test_odd_list_queries_are_never_500(shipment, member, query):
    response = api_as(member).get(LIST, query)
    assert response.status_code in (200, 400, 404), response.content
    if response.status_code != 200:
        assert set(response.json()) >= {"detail", "code"}
