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
