"""The database's own guarantees: every constraint is proved by writing past the services.

Each test first writes a neighbour that differs only in the constrained field (it must be accepted),
then the offending row (the database must refuse it), so that the refusal can only come from the
constraint under test.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from lims.models import LabContact, Proposal, ProposalMember, Session
from samples.models import Container, Protein, Sample
from shipping.models import Dewar, DewarEvent, Location, Shipment
from tests import factories as f

pytestmark = pytest.mark.django_db


def refused(create) -> None:
    """``create()`` must fail in the database (not in Python) and leave the transaction usable."""
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


@pytest.fixture
def puck(proposal):
    return f.ContainerFactory(dewar__shipment__proposal=proposal, name="P1")


@pytest.fixture
def lys(proposal):
    return f.ProteinFactory(proposal=proposal, acronym="LYS")


def sample(container, protein, **fields) -> Sample:
    values = {"position": 1, "name": "x1", **fields}
    return Sample.objects.create(container=container, protein=protein, **values)


# --- lims ---------------------------------------------------------------------------------------------------


def test_proposal_code_and_number_are_unique_whatever_the_case(proposal):
    Proposal.objects.bulk_create([Proposal(code="mx", number="2346", title="next")])
    # bulk_create skips save(), which lower-cases the code: the constraint on Lower(code) must hold alone.
    refused(lambda: Proposal.objects.bulk_create([Proposal(code="MX", number="2345", title="again")]))


def test_member_once_per_proposal(proposal, member, other_proposal):
    ProposalMember.objects.create(proposal=other_proposal, user=member)
    refused(lambda: ProposalMember.objects.create(proposal=proposal, user=member))


def test_session_ends_after_it_starts(proposal):
    beamline = f.BeamlineFactory()
    start = timezone.now()
    Session.objects.create(proposal=proposal, beamline=beamline, start=start, end=start + dt.timedelta(hours=1))
    refused(lambda: Session.objects.create(proposal=proposal, beamline=beamline, start=start, end=start))
    refused(
        lambda: Session.objects.create(
            proposal=proposal, beamline=beamline, start=start, end=start - dt.timedelta(hours=1)
        )
    )


def test_lab_contact_card_is_unique_per_proposal(proposal, other_proposal):
    f.LabContactFactory(proposal=proposal, card_name="Home")
    f.LabContactFactory(proposal=other_proposal, card_name="Home")
    refused(lambda: f.LabContactFactory(proposal=proposal, card_name="Home"))


def test_lab_contact_default_values_are_not_negative(proposal):
    f.LabContactFactory(proposal=proposal, default_customs_value=Decimal("0"), default_transport_value=None)
    refused(lambda: f.LabContactFactory(proposal=proposal, default_customs_value=Decimal("-1")))
    refused(lambda: f.LabContactFactory(proposal=proposal, default_transport_value=Decimal("-0.01")))
    assert LabContact.objects.filter(proposal=proposal).count() == 1


# --- shipping -------------------------------------------------------------------------------------------------


def test_shipment_name_is_unique_per_proposal(proposal, other_proposal):
    Shipment.objects.create(proposal=proposal, name="S1")
    Shipment.objects.create(proposal=other_proposal, name="S1")
    refused(lambda: Shipment.objects.create(proposal=proposal, name="S1"))


def test_dewar_name_is_unique_per_shipment(proposal):
    first, second = f.ShipmentFactory(proposal=proposal), f.ShipmentFactory(proposal=proposal)
    Dewar.objects.create(shipment=first, name="D1")
    Dewar.objects.create(shipment=second, name="D1")
    refused(lambda: Dewar.objects.create(shipment=first, name="D1"))


def test_dewar_barcode_is_unique(proposal):
    shipment = f.ShipmentFactory(proposal=proposal)
    Dewar.objects.create(shipment=shipment, name="D1", barcode="DS000001")
    Dewar.objects.create(shipment=shipment, name="D2", barcode=None)
    Dewar.objects.create(shipment=shipment, name="D3", barcode=None)  # many dewars may have none yet
    refused(lambda: Dewar.objects.create(shipment=shipment, name="D4", barcode="DS000001"))


def test_dewar_values_are_not_negative(proposal):
    shipment = f.ShipmentFactory(proposal=proposal)
    Dewar.objects.create(shipment=shipment, name="D0", customs_value=Decimal("0"), transport_value=None)
    refused(lambda: Dewar.objects.create(shipment=shipment, name="D1", customs_value=Decimal("-5")))
    refused(lambda: Dewar.objects.create(shipment=shipment, name="D2", transport_value=Decimal("-5")))


def test_location_barcode_is_unique(db):
    Location.objects.create(name="Shelf A", barcode="LOC1")
    Location.objects.create(name="Shelf B", barcode=None)
    Location.objects.create(name="Shelf C", barcode=None)
    refused(lambda: Location.objects.create(name="Shelf D", barcode="LOC1"))


def test_dewar_events_are_append_only(proposal):
    dewar = f.DewarFactory(shipment__proposal=proposal)
    event = DewarEvent.objects.create(dewar=dewar, at=timezone.now(), status="at_facility")
    event.note = "rewritten history"
    with pytest.raises(ValidationError):
        event.save()
    event.refresh_from_db()
    assert event.note == ""
    # A new event is always welcome.
    DewarEvent.objects.create(dewar=dewar, at=timezone.now(), status="at_beamline", note="next step")
    assert dewar.events.count() == 2


# --- samples ------------------------------------------------------------------------------------------------------


def test_container_name_is_unique_per_shipment_across_its_dewars(proposal):
    dewar = f.DewarFactory(shipment__proposal=proposal)
    other_dewar = f.DewarFactory(shipment=dewar.shipment)
    elsewhere = f.DewarFactory(shipment__proposal=proposal)
    make = {"container_type": "unipuck", "capacity": 16}
    Container.objects.create(shipment=dewar.shipment, dewar=dewar, name="P1", **make)
    Container.objects.create(shipment=elsewhere.shipment, dewar=elsewhere, name="P1", **make)
    refused(lambda: Container.objects.create(shipment=dewar.shipment, dewar=other_dewar, name="P1", **make))


def test_container_barcode_is_unique(puck):
    make = {"shipment": puck.shipment, "dewar": puck.dewar, "container_type": "unipuck", "capacity": 16}
    Container.objects.create(name="P2", barcode="UP-1", **make)
    Container.objects.create(name="P3", barcode=None, **make)
    refused(lambda: Container.objects.create(name="P4", barcode="UP-1", **make))


@pytest.mark.parametrize(
    ("container_type", "good", "bad"),
    [
        ("spine", 10, [16, 9]),
        ("unipuck", 16, [10, 17]),
        ("other", 100, [0, 101]),
    ],
)
def test_container_capacity_matches_its_type(puck, container_type, good, bad):
    make = {"shipment": puck.shipment, "dewar": puck.dewar, "container_type": container_type}
    Container.objects.create(name="ok", capacity=good, **make)
    for capacity in bad:
        refused(lambda capacity=capacity: Container.objects.create(name=f"bad{capacity}", capacity=capacity, **make))


def test_one_sample_per_container_position(puck, lys):
    sample(puck, lys, position=1, name="x1")
    sample(puck, lys, position=2, name="x2")
    refused(lambda: sample(puck, lys, position=1, name="x3"))


def test_position_range(proposal, lys):
    other = f.ContainerFactory(dewar__shipment__proposal=proposal, container_type="other", capacity=100)
    sample(other, lys, position=100, name="x100")
    refused(lambda: sample(other, lys, position=101, name="x101"))
    refused(lambda: sample(other, lys, position=0, name="x0"))


def test_sample_name_is_unique_per_protein(proposal, puck, lys):
    other_puck = f.ContainerFactory(dewar__shipment__proposal=proposal, name="P2")
    tryp = f.ProteinFactory(proposal=proposal, acronym="TRYP")
    sample(puck, lys, position=1, name="x1")
    sample(puck, tryp, position=2, name="x1")
    refused(lambda: sample(other_puck, lys, position=1, name="x1"))


@pytest.mark.parametrize("name", ["my crystal", "x/1", "x.1", "", "crystal#2", "é1"])
def test_sample_name_characters(puck, lys, name):
    sample(puck, lys, position=16, name="A-z_0:9+")
    refused(lambda: sample(puck, lys, position=1, name=name))


def test_protein_acronym_is_unique_per_proposal_and_checked(proposal, other_proposal):
    Protein.objects.create(proposal=proposal, acronym="LYS")
    Protein.objects.create(proposal=other_proposal, acronym="LYS")
    refused(lambda: Protein.objects.create(proposal=proposal, acronym="LYS"))
    refused(lambda: Protein.objects.create(proposal=proposal, acronym="my protein"))


def test_pin_code_is_unique_among_live_samples(proposal, puck, lys):
    other_puck = f.ContainerFactory(dewar__shipment__proposal=proposal, name="P2")
    sample(puck, lys, position=1, name="x1", pin_code="AB12345678")
    sample(puck, lys, position=2, name="x2", pin_code=None)
    sample(puck, lys, position=3, name="x3", pin_code=None)  # samples without a pin do not collide
    refused(lambda: sample(other_puck, lys, position=1, name="x4", pin_code="AB12345678"))
    refused(lambda: Sample.objects.bulk_create([Sample(container=other_puck, protein=lys, position=2, name="x5",
                                                       pin_code="AB12345678")]))  # fmt: skip


def test_pin_code_may_be_used_again_once_the_other_sample_is_retired(proposal, puck, lys):
    other_puck = f.ContainerFactory(dewar__shipment__proposal=proposal, name="P2")
    old = sample(puck, lys, position=1, name="x1", pin_code="AB12345678")
    refused(lambda: sample(other_puck, lys, position=1, name="x2", pin_code="AB12345678"))
    Sample.objects.filter(pk=old.pk).update(retired_at=timezone.now())
    again = sample(other_puck, lys, position=1, name="x2", pin_code="AB12345678")
    assert again.pk
    # ... and two retired samples may share it too: only live ones are unique.
    Sample.objects.filter(pk=again.pk).update(retired_at=timezone.now())
    sample(other_puck, lys, position=2, name="x3", pin_code="AB12345678")
