"""Edits that trade places keep every link: pins that swap positions, names or pin codes, pucks and dewars that
swap names are updated in place, never deleted and inserted again. A sample keeps its data collections, robot
actions, status history and audit entries, whichever surface made the edit (service, web form, API, sheet).

Alice-1 holds dewar Alice-1-D1 with puck Alice-1-D1-P1 and samples Alice-1-0-0-0..2 at positions 1 to 3.
"""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse

from lims.errors import DomainError
from lims.models import AuditEntry
from samples.models import Container, Sample
from samples.services import robot_action_create, sample_status_set
from shipping.models import Dewar
from shipping.services import shipment_send, shipment_update
from shipping.services import shipments as shipment_services
from tests import factories as f
from tests.conftest import api_as
from tests.shipping.test_sheets import csv_file, row
from tests.shipping.test_views import form_fields

pytestmark = pytest.mark.django_db

PUCK = "Alice-1-D1-P1"


def with_data(sample, *, beamline, staff):
    """Give ``sample`` what the beamline leaves on it: a data collection, a status change, a robot action."""
    group = f.collection_group(proposal=sample.container.shipment.proposal, beamline=beamline, sample=sample)
    f.collection(group)
    sample_status_set(sample=sample, by=staff, status="loaded")
    robot_action_create(by=staff, action_type="LOAD", beamline=beamline, sample=sample, status="SUCCESS")


def links_of(pk: int) -> dict:
    sample = Sample.objects.get(pk=pk)
    audit = AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Sample), object_id=str(pk))
    return {
        "collections": set(sample.data_collections.values_list("pk", flat=True)),
        "groups": set(sample.collection_groups.values_list("pk", flat=True)),
        "status_history": set(sample.status_history.values_list("pk", flat=True)),
        "robot_actions": set(sample.robot_actions.values_list("pk", flat=True)),
        "audit": set(audit.values_list("pk", flat=True)),
    }


def assert_links_kept(before: dict[int, dict]) -> None:
    for pk, links in before.items():
        now = links_of(pk)
        assert all(links[k] for k in links), "the fixture gives every sample something of each kind"
        for kind in ("collections", "groups", "status_history", "robot_actions"):
            assert now[kind] == links[kind], f"sample {pk} lost its {kind}"
        assert links["audit"] < now["audit"], f"sample {pk}: earlier audit entries kept, the edit's added"


def slots(shipment) -> dict[int, tuple]:
    samples = Sample.objects.filter(container__shipment=shipment)
    return {s.pk: (s.container.name, s.position, s.name, s.pin_code) for s in samples.select_related("container")}


@pytest.fixture
def sent(shipment, member, beamline_staff, isara):
    """Alice-1 sent, its first two samples already with data (as after a first beamtime)."""
    shipment_send(shipment=shipment, user=member)
    for sample in Sample.objects.filter(container__shipment=shipment, position__in=[1, 2]):
        with_data(sample, beamline=isara, staff=beamline_staff)
    return shipment


@pytest.fixture
def pair(sent):
    one, two = (Sample.objects.get(container__shipment=sent, position=p) for p in (1, 2))
    return one, two, {one.pk: links_of(one.pk), two.pk: links_of(two.pk)}


def tree(shipment, samples) -> dict:
    return {"dewars": [{"name": "Alice-1-D1", "containers": [{"name": PUCK, "samples": samples}]}]}


def item(sample, **changes) -> dict:
    return {"id": sample.pk, "position": sample.position, "name": sample.name, "protein_acronym": "LYS", **changes}


# --- the service ---------------------------------------------------------------------------------------------


def test_staff_swap_two_pins_positions_by_id_and_each_keeps_its_data(sent, pair, stores):
    one, two, before = pair
    third = Sample.objects.get(container__shipment=sent, position=3)

    shipment_update(
        shipment=sent, user=stores, data=tree(sent, [item(one, position=2), item(two, position=1), item(third)])
    )

    now = slots(sent)
    assert (now[one.pk][1], now[two.pk][1]) == (2, 1)
    assert (now[one.pk][2], now[two.pk][2]) == (one.name, two.name)
    assert_links_kept(before)
    assert AuditEntry.objects.filter(object_id=str(one.pk), action="update", user=stores).get().changes["position"] == [
        1,
        2,
    ]


def test_staff_swap_two_names_at_their_positions_and_each_position_keeps_its_data(sent, pair, stores):
    """Without ids, a sample is the one at the same position of the same puck: the names trade places."""
    one, two, before = pair
    samples = [
        {"position": 1, "name": two.name, "protein_acronym": "LYS"},
        {"position": 2, "name": one.name, "protein_acronym": "LYS"},
        {"position": 3, "name": "Alice-1-0-0-2", "protein_acronym": "LYS"},
    ]

    shipment_update(shipment=sent, user=stores, data=tree(sent, samples))

    now = slots(sent)
    assert (now[one.pk][1:3], now[two.pk][1:3]) == ((1, two.name), (2, one.name))
    assert_links_kept(before)


def test_staff_swap_two_pin_codes_in_place(sent, pair, stores):
    one, two, before = pair
    third = Sample.objects.get(container__shipment=sent, position=3)
    codes = [item(one, pin_code="AB00000001"), item(two, pin_code="AB00000002"), item(third)]
    shipment_update(shipment=sent, user=stores, data=tree(sent, codes))
    before = {pk: links_of(pk) for pk in before}

    swapped = [item(one, pin_code="AB00000002"), item(two, pin_code="AB00000001"), item(third)]
    shipment_update(shipment=sent, user=stores, data=tree(sent, swapped))

    now = slots(sent)
    assert (now[one.pk][3], now[two.pk][3]) == ("AB00000002", "AB00000001")
    assert_links_kept(before)


def test_pins_swapped_between_two_pucks_keep_their_data(proposal, member, stores, beamline_staff, isara):
    shipment = f.shipment_tree(proposal=proposal, user=member, pucks=2, samples=1, name="Two")
    shipment_send(shipment=shipment, user=member)
    a, b = Sample.objects.filter(container__shipment=shipment).order_by("container_id")
    for sample in (a, b):
        with_data(sample, beamline=isara, staff=beamline_staff)
    before = {a.pk: links_of(a.pk), b.pk: links_of(b.pk)}
    data = {
        "dewars": [
            {
                "name": "Two-D1",
                "containers": [
                    {"name": "Two-D1-P1", "samples": [item(b, position=1)]},
                    {"name": "Two-D1-P2", "samples": [item(a, position=1)]},
                ],
            }
        ]
    }

    shipment_update(shipment=shipment, user=stores, data=data)

    now = slots(shipment)
    assert (now[a.pk][:2], now[b.pk][:2]) == (("Two-D1-P2", 1), ("Two-D1-P1", 1))
    assert_links_kept(before)


def test_pucks_and_dewars_swap_names_in_place(proposal, member):
    """A draft: the user's own edits trade names too, and every puck and pin keeps its id."""
    shipment = f.shipment_tree(proposal=proposal, user=member, dewars=2, pucks=2, samples=2, name="Sw")
    dewars = list(Dewar.objects.filter(shipment=shipment).order_by("id"))
    pins = {s.pk: (s.container_id, s.position) for s in Sample.objects.filter(container__shipment=shipment)}
    data = {"dewars": []}
    for dewar, other in zip(dewars, reversed(dewars), strict=True):
        pucks = list(dewar.containers.order_by("id"))
        data["dewars"].append(
            {
                "id": dewar.pk,
                "name": other.name,
                "containers": [
                    {
                        "id": puck.pk,
                        "name": twin.name,
                        "samples": [item(s) for s in puck.samples.order_by("position")],
                    }
                    for puck, twin in zip(pucks, reversed(pucks), strict=True)
                ],
            }
        )

    shipment_update(shipment=shipment, user=member, data=data)

    assert [d.name for d in Dewar.objects.filter(shipment=shipment).order_by("id")] == ["Sw-D2", "Sw-D1"]
    names = list(Container.objects.filter(shipment=shipment).order_by("id").values_list("name", flat=True))
    assert names == ["Sw-D1-P2", "Sw-D1-P1", "Sw-D2-P2", "Sw-D2-P1"]
    assert {s.pk: (s.container_id, s.position) for s in Sample.objects.filter(container__shipment=shipment)} == pins


def test_a_puck_takes_the_name_of_a_removed_one(proposal, member):
    shipment = f.shipment_tree(proposal=proposal, user=member, pucks=2, samples=1, name="Rm")
    first, second = Container.objects.filter(shipment=shipment).order_by("id")
    kept = second.samples.get()
    data = {
        "dewars": [{"name": "Rm-D1", "containers": [{"id": second.pk, "name": first.name, "samples": [item(kept)]}]}]
    }

    shipment_update(shipment=shipment, user=member, data=data)

    assert list(Container.objects.filter(shipment=shipment).values_list("pk", "name")) == [(second.pk, first.name)]
    assert Sample.objects.get(pk=kept.pk).container_id == second.pk


def test_a_full_puck_of_100_positions_can_still_swap_two_pins(proposal, member):
    """No free position anywhere in the shipment: the pins wait in a spare puck, gone after the edit."""
    samples = [{"position": p, "name": f"x{p}", "protein_acronym": "LYS"} for p in range(1, 101)]
    data = {"dewars": [{"name": "Big", "containers": [{"name": "Rack", "container_type": "other", "capacity": 100}]}]}
    data["dewars"][0]["containers"][0]["samples"] = samples
    shipment = f.shipment_tree(proposal=proposal, user=member, samples=0, name="Full")
    shipment_update(shipment=shipment, user=member, data=data)
    rack = Container.objects.get(shipment=shipment)
    ids = dict(rack.samples.values_list("position", "pk"))
    history = sample_status_set(sample=Sample.objects.get(pk=ids[1]), by=member, status="loaded")
    samples[0].update(id=ids[1], position=2)
    samples[1].update(id=ids[2], position=1)

    shipment_update(shipment=shipment, user=member, data=data)

    assert dict(rack.samples.filter(position__lte=2).values_list("pk", "position")) == {ids[1]: 2, ids[2]: 1}
    assert rack.samples.count() == 100
    assert list(Sample.objects.get(pk=ids[1]).status_history.all()) == [history]
    assert list(Container.objects.filter(shipment=shipment)) == [rack]


def test_a_refusal_from_the_database_leaves_nothing_parked(sent, pair, stores, monkeypatch, proposal, member):
    """A write the checks let through but the database refuses (a race): everything stays as it was."""
    one, two, before = pair
    other = f.shipment_tree(proposal=proposal, user=member, name="Other")
    taken = other.dewars.get().containers.get().samples.get()
    Sample.objects.filter(pk=taken.pk).update(pin_code="AB99999999")
    monkeypatch.setattr(shipment_services, "_check_uniqueness", lambda *args: None)
    third = Sample.objects.get(container__shipment=sent, position=3)
    state = slots(sent)
    data = tree(sent, [item(one, position=2), item(two, position=1), item(third, pin_code="AB99999999")])

    with pytest.raises(DomainError) as err:
        shipment_update(shipment=sent, user=stores, data=data)

    assert err.value.code == "conflict"
    assert slots(sent) == state
    assert {pk: links_of(pk) for pk in before} == before
    assert Container.objects.filter(shipment=sent).count() == 1


def test_a_refused_swap_saves_nothing(sent, pair, stores):
    one, two, before = pair
    data = tree(sent, [item(one, position=2), item(two, position=1, name="bad name")])
    state = slots(sent)

    with pytest.raises(ValidationError):
        shipment_update(shipment=sent, user=stores, data=data)

    assert slots(sent) == state
    assert {pk: links_of(pk) for pk in before} == before


# --- the surfaces ----------------------------------------------------------------------------------------------


def test_staff_swap_two_rows_of_the_web_form(client, sent, pair, stores):
    one, two, before = pair
    client.force_login(stores)
    url = reverse("shipping:edit", args=[sent.pk])
    data = form_fields(client.get(url))
    first = {k: v for k, v in data.items() if k.startswith("d-0-c-0-s-1-")}
    second = {k: v for k, v in data.items() if k.startswith("d-0-c-0-s-2-")}
    data.update({k.replace("-s-1-", "-s-2-"): v for k, v in first.items()})
    data.update({k.replace("-s-2-", "-s-1-"): v for k, v in second.items()})

    assert client.post(url, data).status_code == 302

    now = slots(sent)
    assert (now[one.pk][1:3], now[two.pk][1:3]) == ((1, two.name), (2, one.name))
    assert_links_kept(before)


def test_staff_swap_two_pins_through_the_api(sent, pair, stores):
    one, two, before = pair
    client = api_as(stores)
    url = f"/api/v1/shipments/{sent.pk}/"
    body = client.get(url).json()
    dewar, puck = body["dewars"][0], body["dewars"][0]["containers"][0]
    samples = [
        {
            "id": s["id"],
            "position": {1: 2, 2: 1}.get(s["position"], s["position"]),
            "name": s["name"],
            "protein": s["protein"]["id"],
        }
        for s in puck["samples"]
    ]
    data = {
        "dewars": [
            {
                "id": dewar["id"],
                "name": dewar["name"],
                "containers": [{"id": puck["id"], "name": puck["name"], "samples": samples}],
            }
        ]
    }

    response = client.patch(url, data, format="json")

    assert response.status_code == 200, response.json()
    now = slots(sent)
    assert (now[one.pk][1:3], now[two.pk][1:3]) == ((2, one.name), (1, two.name))
    assert_links_kept(before)


def test_a_refused_swap_through_the_api_saves_nothing(sent, pair, stores):
    one, two, before = pair
    data = tree(sent, [item(one, position=2), item(two, position=1), item(one, position=3)])
    state = slots(sent)

    response = api_as(stores).patch(f"/api/v1/shipments/{sent.pk}/", data, format="json")

    assert response.status_code == 400
    assert slots(sent) == state
    assert {pk: links_of(pk) for pk in before} == before


def test_staff_reimport_a_sheet_with_two_names_swapped(sent, pair, stores):
    one, two, before = pair
    upload = csv_file(
        [
            row(dewar="Alice-1-D1", container=PUCK, position=1, name=two.name),
            row(dewar="Alice-1-D1", container=PUCK, position=2, name=one.name),
        ]
    )

    response = api_as(stores).post(f"/api/v1/shipments/{sent.pk}/import/", {"file": upload}, format="multipart")

    assert response.status_code == 200, response.json()
    now = slots(sent)
    assert (now[one.pk][1:3], now[two.pk][1:3]) == ((1, two.name), (2, one.name))
    assert_links_kept(before)
