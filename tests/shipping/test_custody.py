"""Pucks and pins follow their dewar and the sample changer; a dewar does not go home with pucks still loaded."""

import pytest
from django.test import Client

from samples.choices import ContainerStatus, SampleStatus
from samples.models import ContainerHistory, SampleStatusChange
from samples.services import container_assign, container_unassign
from shipping.choices import DewarStatus
from shipping.services import PucksInChanger, dewar_dispatch, dewar_return_confirmed, dewar_unload_and_dispatch
from tests import factories as f
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def puck(received):
    return received.containers.get()


def statuses(puck) -> tuple[str, set[str]]:
    puck.refresh_from_db()
    return puck.status, set(puck.samples.values_list("status", flat=True))


def test_puck_and_pins_follow_receive_assign_unload_dispatch_return(received, puck, isara, beamline_staff, stores):
    assert statuses(puck) == (ContainerStatus.AT_FACILITY, {SampleStatus.AT_FACILITY})

    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    assert statuses(puck) == (ContainerStatus.IN_SAMPLE_CHANGER, {SampleStatus.IN_SAMPLE_CHANGER})

    container_unassign(container=puck, user=beamline_staff)
    assert statuses(puck) == (ContainerStatus.UNLOADED, {SampleStatus.UNLOADED})

    dewar = received.dewars.get()
    dewar_dispatch(dewar=dewar, user=stores, courier="DHL", tracking_number="123")
    assert statuses(puck) == (ContainerStatus.RETURNED, {SampleStatus.RETURNED})
    dewar_return_confirmed(dewar=dewar, user=stores)
    assert statuses(puck) == (ContainerStatus.RETURNED, {SampleStatus.RETURNED})

    rows = list(ContainerHistory.objects.filter(container=puck).order_by("at", "id").values_list("status", flat=True))
    assert rows == ["at_facility", "in_sample_changer", "unloaded", "returned"]
    sample = puck.samples.first()
    changes = SampleStatusChange.objects.filter(sample=sample).order_by("at", "id")
    assert [(c.previous, c.status) for c in changes] == [
        ("registered", "at_facility"),
        ("at_facility", "in_sample_changer"),
        ("in_sample_changer", "unloaded"),
        ("unloaded", "returned"),
    ]


def test_a_dewar_with_a_loaded_puck_is_not_dispatched_and_nothing_changes(
    received, puck, isara, beamline_staff, stores
):
    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    dewar = received.dewars.get()

    with pytest.raises(PucksInChanger) as refused:
        dewar_dispatch(dewar=dewar, user=stores, courier="DHL", tracking_number="123")

    assert refused.value.code == "pucks_in_changer"
    assert "UP0001" in refused.value.message or puck.name in refused.value.message
    assert "MX-3:07" in refused.value.message
    dewar.refresh_from_db()
    assert dewar.status == DewarStatus.AT_FACILITY
    assert statuses(puck) == (ContainerStatus.IN_SAMPLE_CHANGER, {SampleStatus.IN_SAMPLE_CHANGER})


def test_unload_and_dispatch_takes_the_pucks_out_then_dispatches(received, puck, isara, beamline_staff):
    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    dewar = received.dewars.get()

    done = dewar_unload_and_dispatch(dewar=dewar, user=beamline_staff, courier="DHL", tracking_number="123")

    assert done.recorded and "MX-3:07" in done.message
    dewar.refresh_from_db()
    puck.refresh_from_db()
    assert dewar.status == DewarStatus.IN_TRANSIT_TO_USER
    assert puck.beamline_id is None and puck.status == ContainerStatus.RETURNED
    out = ContainerHistory.objects.filter(container=puck, status=ContainerStatus.UNLOADED).get()
    assert out.location == "MX-3:07" and dewar.barcode in out.message


def test_unload_and_dispatch_refused_for_stores_leaves_the_puck_loaded(received, puck, isara, beamline_staff, stores):
    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    response = api_as(stores).post(
        "/api/v1/scans/",
        {"barcode": received.dewars.get().barcode, "action": "unload_dispatch", "courier": "DHL",
         "tracking_number": "1"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 403 and "MX-3" in response.json()["detail"]
    puck.refresh_from_db()
    assert puck.changer_position == 7


def test_the_scan_api_answers_409_naming_the_pucks_and_positions(received, puck, isara, beamline_staff, stores):
    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    barcode = received.dewars.get().barcode

    response = api_as(stores).post(
        "/api/v1/scans/", {"barcode": barcode, "action": "dispatch", "courier": "DHL", "tracking_number": "1"},
        format="json",
    )  # fmt: skip

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "pucks_in_changer" and "MX-3:07" in body["detail"] and puck.name in body["detail"]

    again = api_as(beamline_staff).post(
        "/api/v1/scans/", {"barcode": barcode, "action": "unload_dispatch", "courier": "DHL", "tracking_number": "1"},
        format="json",
    )  # fmt: skip
    assert again.status_code == 201, again.json()
    assert again.json()["dewar"]["status"] == DewarStatus.IN_TRANSIT_TO_USER


def test_a_returned_puck_is_in_no_changer_or_sample_list(received, puck, isara, beamline_staff, stores):
    session = f.SessionFactory(proposal=received.proposal, beamline=isara)
    received.dewars.update(session=session)
    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    dewar_unload_and_dispatch(dewar=received.dewars.get(), user=beamline_staff, courier="DHL", tracking_number="9")
    staff = api_as(beamline_staff)
    token = f.api_token(isara)

    changer = staff.get(f"/api/v1/beamlines/{isara.pk}/changer/").json()
    assert all(p["container"] is None for p in changer["positions"])
    assert staff.get(f"/api/v1/beamlines/{isara.pk}/samples/").json()["count"] == 0
    assert staff.get(f"/api/v1/sessions/{session.pk}/samples/").json()["count"] == 0
    ispyb = Client().get(
        "/ispyb/api/v1/samples", {"beamLineName": "MX-3"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert ispyb.status_code == 200 and ispyb.json() == []


def test_the_migration_brings_pucks_stranded_in_a_changer_by_an_earlier_dispatch_in_step(
    received, puck, isara, beamline_staff
):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("samples.migrations.0010_sample_custody_statuses")
    container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)
    # What main's dispatch left behind: the dewar on its way home, its puck still in the changer.
    received.dewars.update(status=DewarStatus.IN_TRANSIT_TO_USER)

    migration.in_step(apps, None)

    assert statuses(puck) == (ContainerStatus.RETURNED, {SampleStatus.RETURNED})
    assert puck.beamline_id is None and puck.changer_position is None
    last = ContainerHistory.objects.filter(container=puck).latest("at", "id")
    assert (last.status, last.beamline_id, last.changer_position) == ("returned", isara.pk, 7)
