import pytest
from django.core.management import call_command

from lims.models import Beamline, Proposal
from samples.models import Container, Sample
from shipping.models import Dewar, Location, Shipment

pytestmark = pytest.mark.django_db


def test_demo_loads_the_facility_and_one_shipment_and_is_idempotent(capsys):
    call_command("load_demo")
    out = capsys.readouterr().out
    assert "alice" in out and "mx-demo-2026" in out
    call_command("load_demo", quiet_logins=True)

    assert set(Beamline.objects.values_list("sample_changer_model", "puck_positions")) == {
        ("SC3", 5),
        ("FlexHCD", 24),
        ("ISARA", 29),
    }
    assert Location.objects.filter(kind="stores").exists()
    assert set(Proposal.objects.values_list("kind", flat=True)) == {"academic", "industrial"}
    assert Proposal.objects.get(kind="industrial").mail_in
    shipment = Shipment.objects.get()
    assert Dewar.objects.filter(shipment=shipment).count() == 2
    assert Container.objects.filter(shipment=shipment).count() == 4
    assert Sample.objects.filter(container__shipment=shipment).count() == 40
    assert shipment.proposal.memberships.filter(user__username="alice").exists()
    # Sent, so that stores can scan its dewars in; the logins say which barcodes to scan.
    assert shipment.status == "sent"
    assert set(Dewar.objects.values_list("status", flat=True)) == {"in_transit_to_facility"}
    assert "DS000001" in out or Dewar.objects.first().barcode in out
