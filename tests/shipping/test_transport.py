"""The dewar transport services: every legal and illegal step, repeat scans, the shipment following."""

import pytest
from django.core.exceptions import ValidationError

from lims.errors import DomainError, InvalidTransition
from samples.models import Sample
from shipping.choices import DewarEventKind, DewarStatus, LocationKind, ShipmentStatus
from shipping.models import Dewar, DewarEvent
from shipping.services import (
    dewar_dispatch,
    dewar_incident,
    dewar_move,
    dewar_note,
    dewar_receive,
    dewar_return_confirmed,
    shipment_send,
    shipment_status_from,
)
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(shipment, member):
    shipment_send(shipment=shipment, user=member)
    return shipment


@pytest.fixture
def dewar(sent):
    return sent.dewars.get()


def status_of(dewar) -> str:
    return Dewar.objects.get(pk=dewar.pk).status


def test_receive_puts_the_dewar_in_the_stores_and_the_shipment_at_the_facility(dewar, stores, stores_location):
    movement = dewar_receive(dewar=dewar, user=stores)
    assert movement.recorded and "received" in movement.message
    dewar.refresh_from_db()
    assert (dewar.status, dewar.location) == (DewarStatus.AT_FACILITY, stores_location)
    assert dewar.shipment.status == ShipmentStatus.AT_FACILITY
    event = dewar.events.latest("at")
    assert (event.status, event.location, event.user) == (DewarStatus.AT_FACILITY, stores_location, stores)
    assert Dewar.objects.prefetch_related("events").get(pk=dewar.pk).arrival == event.at


def test_the_same_scan_twice_records_one_event(dewar, stores, stores_location):
    dewar_receive(dewar=dewar, user=stores)
    again = dewar_receive(dewar=dewar, user=stores)
    assert not again.recorded and "already here" in again.message
    assert dewar.events.filter(status=DewarStatus.AT_FACILITY).count() == 1
    moved = dewar_move(dewar=dewar, user=stores, location=stores_location)
    assert not moved.recorded


def test_receive_into_a_beamline_means_processing(dewar, stores, beamline_location):
    dewar_receive(dewar=dewar, user=stores, location=beamline_location)
    assert status_of(dewar) == DewarStatus.AT_BEAMLINE
    dewar.shipment.refresh_from_db()
    assert dewar.shipment.status == ShipmentStatus.PROCESSING


def test_a_dewar_of_an_unsent_shipment_needs_a_confirmed_reason(shipment, stores, stores_location):
    dewar = shipment.dewars.get()
    with pytest.raises(DomainError) as err:
        dewar_receive(dewar=dewar, user=stores)
    assert err.value.code == "not_sent"
    assert not DewarEvent.objects.filter(dewar=dewar).exists()
    dewar_receive(dewar=dewar, user=stores, confirm_reason="Courier delivered it; user forgot to click send")
    notes = list(dewar.events.values_list("status", "note"))
    assert [s for s, _ in notes] == [DewarStatus.IN_TRANSIT_TO_FACILITY, DewarStatus.AT_FACILITY]
    assert all("user forgot to click send" in n for _, n in notes)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.AT_FACILITY and shipment.sent_at is not None


def test_a_full_journey_closes_the_shipment_and_retires_its_pins(
    proposal, member, stores, stores_location, beamline_location
):
    shipment = f.shipment_tree(proposal=proposal, user=member, dewars=2, samples=2, name="Trip")
    shipment_send(shipment=shipment, user=member)
    one, two = shipment.dewars.order_by("id")
    seen = []

    def follow():
        shipment.refresh_from_db()
        seen.append(shipment.status)

    dewar_receive(dewar=one, user=stores)
    follow()
    dewar_receive(dewar=two, user=stores)
    dewar_move(dewar=two, user=stores, location=beamline_location)
    follow()
    dewar_move(dewar=two, user=stores, location=stores_location)
    dewar_dispatch(dewar=one, user=stores, courier="DHL", tracking_number="JD1")
    follow()
    dewar_dispatch(dewar=two, user=stores, courier="DHL", tracking_number="JD2")
    follow()
    dewar_return_confirmed(dewar=one, user=member)
    dewar_return_confirmed(dewar=two, user=member)
    follow()
    assert seen == [
        ShipmentStatus.AT_FACILITY,
        ShipmentStatus.PROCESSING,
        ShipmentStatus.AT_FACILITY,
        ShipmentStatus.RETURNED,
        ShipmentStatus.CLOSED,
    ]
    assert not Sample.objects.filter(container__shipment=shipment, retired_at__isnull=True).exists()
    one.refresh_from_db()
    assert (one.courier_from_facility, one.tracking_from_facility, one.location) == ("DHL", "JD1", None)


@pytest.mark.parametrize(
    "step",
    ["move", "dispatch", "return"],
)
def test_nothing_but_arrival_before_the_dewar_arrives(dewar, stores, stores_location, step):
    calls = {
        "move": lambda: dewar_move(dewar=dewar, user=stores, location=stores_location),
        "dispatch": lambda: dewar_dispatch(dewar=dewar, user=stores, courier="DHL", tracking_number="1"),
        "return": lambda: dewar_return_confirmed(dewar=dewar, user=stores),
    }
    with pytest.raises(InvalidTransition):
        calls[step]()
    assert status_of(dewar) == DewarStatus.IN_TRANSIT_TO_FACILITY
    assert dewar.events.count() == 1  # the "sent" event only


def test_a_dispatched_dewar_cannot_be_moved_or_received_again(dewar, stores, stores_location):
    dewar_receive(dewar=dewar, user=stores)
    dewar_dispatch(dewar=dewar, user=stores, courier="UPS", tracking_number="1Z9")
    assert not dewar_dispatch(dewar=dewar, user=stores, courier="UPS", tracking_number="1Z9").recorded
    with pytest.raises(InvalidTransition):
        dewar_move(dewar=dewar, user=stores, location=stores_location)
    with pytest.raises(InvalidTransition):
        dewar_receive(dewar=dewar, user=stores)


def test_dispatch_needs_courier_and_tracking_number(dewar, stores, stores_location):
    dewar_receive(dewar=dewar, user=stores)
    with pytest.raises(ValidationError) as err:
        dewar_dispatch(dewar=dewar, user=stores, courier=" ", tracking_number="")
    assert set(err.value.message_dict) == {"courier", "tracking_number"}
    assert status_of(dewar) == DewarStatus.AT_FACILITY


def test_moving_off_site_is_refused(dewar, stores, stores_location):
    dewar_receive(dewar=dewar, user=stores)
    away = f.LocationFactory(name="Other synchrotron", kind=LocationKind.OFF_SITE)
    with pytest.raises(DomainError):
        dewar_move(dewar=dewar, user=stores, location=away)


def test_notes_and_incidents_keep_or_change_the_status(dewar, stores, stores_location):
    dewar_receive(dewar=dewar, user=stores)
    dewar_note(dewar=dewar, user=stores, note="LN2 topped up")
    dewar_incident(dewar=dewar, user=stores, incident="damaged", note="Dented lid")
    assert status_of(dewar) == DewarStatus.AT_FACILITY
    kinds = list(dewar.events.order_by("at", "id").values_list("kind", "note"))
    assert kinds[-2:] == [(DewarEventKind.NOTE, "LN2 topped up"), (DewarEventKind.INCIDENT, "Damaged: Dented lid")]
    dewar_incident(dewar=dewar, user=stores, incident="lost")
    assert status_of(dewar) == DewarStatus.LOST
    # A lost dewar that turns up again is received.
    assert dewar_receive(dewar=dewar, user=stores).recorded
    assert status_of(dewar) == DewarStatus.AT_FACILITY


def test_bad_note_and_incident_are_field_errors(dewar, stores):
    with pytest.raises(ValidationError):
        dewar_note(dewar=dewar, user=stores, note="  ")
    with pytest.raises(ValidationError):
        dewar_incident(dewar=dewar, user=stores, incident="stolen by aliens")
    assert dewar.events.count() == 1


@pytest.mark.parametrize(
    "statuses, expected",
    [
        ([DewarStatus.REGISTERED], ShipmentStatus.DRAFT),
        ([DewarStatus.IN_TRANSIT_TO_FACILITY, DewarStatus.IN_TRANSIT_TO_FACILITY], ShipmentStatus.SENT),
        ([DewarStatus.IN_TRANSIT_TO_FACILITY, DewarStatus.AT_FACILITY], ShipmentStatus.AT_FACILITY),
        ([DewarStatus.AT_FACILITY, DewarStatus.AT_BEAMLINE], ShipmentStatus.PROCESSING),
        ([DewarStatus.AT_FACILITY, DewarStatus.IN_TRANSIT_TO_USER], ShipmentStatus.AT_FACILITY),
        ([DewarStatus.IN_TRANSIT_TO_USER, DewarStatus.RETURNED], ShipmentStatus.RETURNED),
        ([DewarStatus.RETURNED, DewarStatus.RETURNED, DewarStatus.CANCELLED], ShipmentStatus.CLOSED),
        ([DewarStatus.CANCELLED], None),
    ],
)
def test_shipment_status_follows_from_its_dewars(statuses, expected):
    assert shipment_status_from(statuses) == expected
