import pytest
from django.core.exceptions import ValidationError

from lims.errors import DomainError, Frozen, InvalidTransition
from lims.models import AuditEntry
from samples.models import Sample
from shipping.choices import DewarStatus, ShipmentStatus
from shipping.models import DewarEvent
from shipping.services import shipment_cancel, shipment_send, shipment_update
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_tree_is_created_with_barcodes_and_audit(proposal, member):
    shipment = f.shipment_tree(proposal=proposal, user=member, dewars=2, pucks=2, samples=3)
    dewars = list(shipment.dewars.all())
    assert len(dewars) == 2
    assert all(d.barcode and d.barcode.startswith("DS") for d in dewars)
    assert Sample.objects.filter(container__shipment=shipment).count() == 12
    assert AuditEntry.objects.filter(user=member).count() >= 1 + 2 + 4 + 12


def test_send_moves_dewars_in_transit_and_writes_events(shipment, member):
    shipment_send(shipment=shipment, user=member)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.SENT and shipment.sent_at is not None
    dewar = shipment.dewars.get()
    assert dewar.status == DewarStatus.IN_TRANSIT_TO_FACILITY
    assert DewarEvent.objects.filter(dewar=dewar, status=DewarStatus.IN_TRANSIT_TO_FACILITY).count() == 1


def test_send_twice_is_an_invalid_transition(shipment, member):
    shipment_send(shipment=shipment, user=member)
    with pytest.raises(InvalidTransition):
        shipment_send(shipment=shipment, user=member)


def test_sent_shipment_is_frozen_for_users(shipment, member):
    shipment_send(shipment=shipment, user=member)
    with pytest.raises(Frozen):
        shipment_update(shipment=shipment, user=member, data={"comments": "late change"})


def test_send_needs_a_dewar_and_contacts(proposal, member):
    empty = f.ShipmentFactory(proposal=proposal, sending_contact=None, return_contact=None)
    with pytest.raises(DomainError) as err:
        shipment_send(shipment=empty, user=member)
    assert "dewar" in str(err.value) and "to facility" in str(err.value)


def test_cancel_retires_pin_codes(proposal, member):
    shipment = f.shipment_tree(proposal=proposal, user=member, samples=1)
    shipment_update(
        shipment=shipment,
        user=member,
        data={
            "dewars": [
                {
                    "name": "Tree-D1",
                    "containers": [
                        {
                            "name": "Tree-D1-P1",
                            "samples": [
                                {
                                    "position": 1,
                                    "name": "Tree-0-0-0",
                                    "protein_acronym": "LYS",
                                    "pin_code": "AB12345678",
                                }
                            ],
                        }
                    ],
                }
            ]
        },
    )
    shipment_cancel(shipment=shipment, user=member)
    assert shipment.dewars.get().status == DewarStatus.CANCELLED
    # The pin may now be registered again in another shipment.
    f.shipment_tree(proposal=proposal, user=member, name="Again")


def test_bad_tree_saves_nothing(proposal, member):
    contact = f.LabContactFactory(proposal=proposal)
    data = {
        "name": "Bad",
        "sending_contact": contact,
        "dewars": [
            {
                "name": "D1",
                "containers": [
                    {
                        "name": "P1",
                        "container_type": "spine",
                        "samples": [
                            {"position": 11, "name": "ok", "protein_acronym": "LYS"},
                            {"position": 1, "name": "bad name", "protein_acronym": "LYS"},
                        ],
                    }
                ],
            }
        ],
    }
    from shipping.services import shipment_create

    with pytest.raises(ValidationError) as err:
        shipment_create(proposal=proposal, user=member, data=data)
    errors = err.value.message_dict
    assert "dewars.0.containers.0.samples.0.position" in errors
    assert "dewars.0.containers.0.samples.1.name" in errors
    assert not proposal.shipments.exists()


def _force_status(shipment, status):
    """Put a shipment in ``status`` directly, as later issues' services will (arrival, return...)."""
    type(shipment).objects.filter(pk=shipment.pk).update(status=status)
    shipment.refresh_from_db()


@pytest.mark.parametrize("status", [s for s in ShipmentStatus.values if s != ShipmentStatus.DRAFT])
def test_only_a_draft_can_be_sent(shipment, member, status):
    _force_status(shipment, status)
    with pytest.raises(InvalidTransition):
        shipment_send(shipment=shipment, user=member)
    shipment.refresh_from_db()
    assert shipment.status == status and not DewarEvent.objects.exists()


@pytest.mark.parametrize("status", [s for s in ShipmentStatus.values if s != ShipmentStatus.DRAFT])
def test_only_a_draft_can_be_cancelled(shipment, member, status):
    _force_status(shipment, status)
    with pytest.raises(InvalidTransition):
        shipment_cancel(shipment=shipment, user=member)
    assert shipment.dewars.get().status == DewarStatus.REGISTERED


def test_cancel_from_draft_and_nothing_after(shipment, member):
    shipment_cancel(shipment=shipment, user=member)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.CANCELLED
    with pytest.raises(InvalidTransition):
        shipment_send(shipment=shipment, user=member)
    with pytest.raises(Frozen):
        shipment_update(shipment=shipment, user=member, data={"comments": "x"})


def test_staff_may_correct_a_sent_shipment(shipment, member, stores):
    shipment_send(shipment=shipment, user=member)
    shipment_update(shipment=shipment, user=stores, data={"comments": "Pin 2 relabelled by stores."})
    shipment.refresh_from_db()
    assert shipment.comments == "Pin 2 relabelled by stores."
    entry = AuditEntry.objects.filter(user=stores, action="update").get()
    assert entry.changes["comments"] == ["", "Pin 2 relabelled by stores."]


def test_send_refuses_a_dewarless_shipment_and_changes_nothing(proposal, member, lab_contact):
    empty = f.ShipmentFactory(proposal=proposal, sending_contact=lab_contact, return_contact=lab_contact)
    with pytest.raises(DomainError) as err:
        shipment_send(shipment=empty, user=member)
    assert err.value.code == "not_ready"
    empty.refresh_from_db()
    assert empty.status == ShipmentStatus.DRAFT and empty.sent_at is None


def test_update_matches_by_position_and_removes_what_is_gone(shipment, member):
    container = shipment.containers.get()
    first = container.samples.get(position=1)
    data = {
        "dewars": [
            {
                "name": "Alice-1-D1",
                "containers": [
                    {
                        "name": container.name,
                        "samples": [
                            {"position": 1, "name": "renamed", "protein_acronym": "LYS"},
                            {"position": 5, "name": "new-one", "protein_acronym": "LYS"},
                        ],
                    }
                ],
            }
        ]
    }
    shipment_update(shipment=shipment, user=member, data=data)
    assert list(container.samples.values_list("position", "name")) == [(1, "renamed"), (5, "new-one")]
    assert container.samples.get(position=1).pk == first.pk


def test_swapping_two_samples_keeps_their_ids(shipment, member):
    container = shipment.containers.get()
    one, two = container.samples.get(position=1), container.samples.get(position=2)
    samples = [
        {"id": one.pk, "position": 2, "name": one.name, "protein_acronym": "LYS"},
        {"id": two.pk, "position": 1, "name": two.name, "protein_acronym": "LYS"},
    ]
    data = {"dewars": [{"name": "Alice-1-D1", "containers": [{"name": container.name, "samples": samples}]}]}
    shipment_update(shipment=shipment, user=member, data=data)
    assert container.samples.get(pk=one.pk).position == 2
    assert container.samples.get(pk=two.pk).position == 1


def test_duplicate_names_and_pins_are_reported_not_saved(shipment, member, proposal):
    container = shipment.containers.get()
    data = {
        "dewars": [
            {
                "name": "Alice-1-D1",
                "containers": [
                    {
                        "name": container.name,
                        "samples": [
                            {"position": 1, "name": "same", "protein_acronym": "LYS", "pin_code": "AAAA000001"},
                            {"position": 2, "name": "same", "protein_acronym": "LYS", "pin_code": "AAAA000001"},
                        ],
                    }
                ],
            }
        ]
    }
    with pytest.raises(ValidationError) as err:
        shipment_update(shipment=shipment, user=member, data=data)
    errors = err.value.message_dict
    prefix = "dewars.0.containers.0.samples."
    assert {prefix + "0.name", prefix + "1.name", prefix + "0.pin_code", prefix + "1.pin_code"} <= set(errors)
    assert container.samples.count() == 3


def test_pin_code_in_another_live_shipment_is_refused(shipment, member, proposal):
    container = shipment.containers.get()
    data = {
        "dewars": [
            {
                "name": "Alice-1-D1",
                "containers": [
                    {
                        "name": container.name,
                        "samples": [{"position": 1, "name": "a1", "protein_acronym": "LYS", "pin_code": "ab12345678"}],
                    }
                ],
            }
        ]
    }
    shipment_update(shipment=shipment, user=member, data=data)
    assert container.samples.get().pin_code == "AB12345678"  # normalised to what the robot reads
    other = f.shipment_tree(proposal=proposal, user=member, name="Other")
    data["dewars"][0]["containers"][0]["samples"][0]["name"] = "b1"
    data["dewars"][0]["name"] = "Other-D1"
    data["dewars"][0]["containers"][0]["name"] = "Other-D1-P1"
    with pytest.raises(ValidationError) as err:
        shipment_update(shipment=other, user=member, data=data)
    assert "still in circulation" in str(err.value)


def test_a_session_of_another_proposal_is_refused_on_create(proposal, member, other_proposal):
    from shipping.services import shipment_create

    foreign = f.SessionFactory(proposal=other_proposal)
    data = {"name": "S", "dewars": [{"name": "D1", "session": foreign}]}
    with pytest.raises(ValidationError) as err:
        shipment_create(proposal=proposal, user=member, data=data)
    assert "dewars.0.session" in err.value.message_dict


def test_positions_given_as_text_match_existing_samples(shipment, member):
    container = shipment.containers.get()
    first = container.samples.get(position=1)
    data = {
        "dewars": [
            {
                "name": "Alice-1-D1",
                "containers": [
                    {"name": container.name, "samples": [{"position": "1", "name": "typed", "protein_acronym": "LYS"}]}
                ],
            }
        ]
    }
    shipment_update(shipment=shipment, user=member, data=data)
    assert container.samples.get().pk == first.pk


def test_duplicate_name_is_caught_whether_protein_is_an_object_or_an_acronym(shipment, member):
    container = shipment.containers.get()
    protein = container.samples.first().protein
    data = {
        "dewars": [
            {
                "name": "Alice-1-D1",
                "containers": [
                    {
                        "name": container.name,
                        "samples": [
                            {"position": 1, "name": "twin", "protein": protein},
                            {"position": 2, "name": "twin", "protein_acronym": protein.acronym.lower()},
                        ],
                    }
                ],
            }
        ]
    }
    with pytest.raises(ValidationError) as err:
        shipment_update(shipment=shipment, user=member, data=data)
    assert "dewars.0.containers.0.samples.1.name" in err.value.message_dict
