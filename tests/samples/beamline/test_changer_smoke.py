import pytest
from django.core.exceptions import ValidationError

from lims.errors import DomainError
from samples.choices import ContainerStatus
from samples.models import ContainerHistory
from samples.services import container_assign, container_unassign, session_unload
from tests import factories as f


def test_assign_displace_unassign(received, isara, beamline_staff):
    puck = received.containers.get()
    other = f.shipment_tree(proposal=received.proposal, name="Other")
    f.at_facility(other)
    second = other.containers.get()
    a = container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    assert a.changed and a.container.changer_position == 7 and a.container.status == ContainerStatus.IN_SAMPLE_CHANGER
    again = container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    assert not again.changed
    b = container_assign(container=second, beamline=isara, position=7, user=beamline_staff)
    assert b.displaced.pk == puck.pk
    puck.refresh_from_db()
    assert puck.beamline_id is None and puck.status == ContainerStatus.UNLOADED
    assert ContainerHistory.objects.filter(container=puck, beamline=isara).count() == 2
    container_unassign(container=second, user=beamline_staff)
    second.refresh_from_db()
    assert second.changer_position is None
    with pytest.raises(ValidationError):
        container_assign(container=puck, beamline=isara, position=30, user=beamline_staff)


def test_refusals(shipment, isara, beamline_staff):
    puck = shipment.containers.get()
    with pytest.raises(DomainError) as e:
        container_assign(container=puck, beamline=isara, position=1, user=beamline_staff)
    assert e.value.code == "dewar_not_at_facility"
    f.at_facility(shipment)
    spine_only = f.BeamlineFactory(
        name="MX-1", sample_changer_model="SC3", puck_positions=5, accepted_container_types=["spine"]
    )
    with pytest.raises(DomainError) as e:
        container_assign(container=puck, beamline=spine_only, position=1, user=beamline_staff)
    assert e.value.code == "wrong_container_type"
    session = f.SessionFactory(proposal=shipment.proposal, beamline=isara)
    container_assign(container=puck, beamline=isara, position=3, user=beamline_staff)
    assert [c.pk for c in session_unload(session=session, user=beamline_staff)] == [puck.pk]


def test_geometry():
    from lims.models import Beamline

    flex = Beamline(
        name="MX-2",
        puck_positions=24,
        positions_per_cell=3,
        accepted_container_types=["spine"],
        position_types={"22-24": ["unipuck"]},
    )
    assert flex.address(4) == "2:1" and flex.position_at("2:1") == 4 and flex.position_at("9:1") is None
    assert flex.accepts(23) == ["unipuck"] and flex.accepts(1) == ["spine"]
    assert flex.position_code(4) == "MX-2:2:1"
    isara = Beamline(name="MX-3", puck_positions=29)
    assert isara.position_code(7) == "MX-3:07" and isara.position_at("07") == 7


def test_a_puck_taken_out_keeps_where_it_was_in_its_history(received, isara, beamline_staff):
    puck = received.containers.get()
    container_assign(container=puck, beamline=isara, position=4, user=beamline_staff)
    container_unassign(container=puck, user=beamline_staff)
    out = ContainerHistory.objects.filter(container=puck).order_by("-id").first()
    assert (out.status, out.beamline_id, out.changer_position, out.location) == (
        ContainerStatus.UNLOADED,
        isara.pk,
        4,
        "MX-3:04",
    )


def test_label_codes_read_back():
    from lims.models import Beamline

    flex = Beamline(name="MX-2", puck_positions=24, positions_per_cell=3)
    assert flex.label_code(8) == "MX-2-SC-3-2" and flex.read_position("mx-2-sc-3-2") == 8
    assert flex.read_position("MX-2:3:2") == 8 and flex.read_position("MX-3-SC-1") is None
