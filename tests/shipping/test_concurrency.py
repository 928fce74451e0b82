"""Two (or eight) stores PCs scanning the same dewar at the same moment leave one consistent history.

The threaded tests need real concurrent transactions: PostgreSQL (``DATABASE_URL=postgres://...``). SQLite
serialises writers on one file lock, so threads there would only test the lock's timeout; the same
scans run one after the other instead, which checks the "already here" rule on every backend.
"""

import threading

import pytest
from django.db import close_old_connections, connection

from shipping.choices import DewarStatus, LocationKind, ShipmentStatus
from shipping.models import Dewar, DewarEvent
from shipping.services import dewar_move, dewar_receive, shipment_send
from tests import factories as f

SCANNERS = 8
needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent transactions need PostgreSQL (SQLite serialises writers); set DATABASE_URL to run it",
)


def make_dewar():
    proposal = f.ProposalFactory()
    member = f.UserFactory()
    f.ProposalMemberFactory(proposal=proposal, user=member)
    shipment = f.shipment_tree(proposal=proposal, user=member, dewars=2, name="Race")
    shipment_send(shipment=shipment, user=member)
    stores = f.LocationFactory(name="Stores", kind=LocationKind.STORES, barcode="LOC-STORES")
    beamline = f.LocationFactory(name="Beamline", kind=LocationKind.BEAMLINE, barcode="LOC-BL")
    return shipment.dewars.order_by("id").first(), f.UserFactory(username="stores"), stores, beamline


def at_once(work, n=SCANNERS):
    """Run ``work(i)`` in ``n`` threads released together; each thread's own connection is closed at the end."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except Exception as exc:  # reported by the test below, with the thread's exception
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a scan never finished (deadlock?)"
    assert errors == []
    return results


def assert_consistent(dewar) -> None:
    """The dewar's status and location are those of its last event, and the shipment follows its dewars."""
    dewar = Dewar.objects.select_related("shipment").get(pk=dewar.pk)
    last = DewarEvent.objects.filter(dewar=dewar).order_by("-at", "-id").first()
    assert (dewar.status, dewar.location_id) == (last.status, last.location_id)
    # One dewar here and its sibling still on the way: the shipment is at the facility.
    expected = ShipmentStatus.PROCESSING if dewar.status == DewarStatus.AT_BEAMLINE else ShipmentStatus.AT_FACILITY
    assert dewar.shipment.status == expected


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_eight_scanners_receiving_one_dewar_record_one_arrival():
    dewar, user, _, _ = make_dewar()

    movements = at_once(lambda i: dewar_receive(dewar=Dewar.objects.get(pk=dewar.pk), user=user))

    close_old_connections()
    assert sum(m.recorded for m in movements) == 1
    assert sum("already here" in m.message for m in movements) == SCANNERS - 1
    assert DewarEvent.objects.filter(dewar=dewar, status=DewarStatus.AT_FACILITY).count() == 1
    assert_consistent(dewar)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_scanners_moving_one_dewar_to_two_places_leave_a_history_that_reads_in_order():
    dewar, user, stores, beamline = make_dewar()
    dewar_receive(dewar=dewar, user=user)
    before = DewarEvent.objects.filter(dewar=dewar).count()

    movements = at_once(
        lambda i: dewar_move(dewar=Dewar.objects.get(pk=dewar.pk), user=user, location=(beamline, stores)[i % 2])
    )

    recorded = sum(m.recorded for m in movements)
    assert DewarEvent.objects.filter(dewar=dewar).count() == before + recorded
    # Each recorded move went somewhere else than the one before it: no two events in a row at one place.
    places = list(DewarEvent.objects.filter(dewar=dewar).order_by("at", "id").values_list("location_id", flat=True))
    assert all(a != b for a, b in zip(places[1:], places[2:], strict=False))
    assert_consistent(dewar)


@pytest.mark.django_db
def test_the_same_scans_one_after_the_other_record_one_arrival():
    """Every backend: the sequential version of the race above."""
    dewar, user, _, _ = make_dewar()

    movements = [dewar_receive(dewar=Dewar.objects.get(pk=dewar.pk), user=user) for _ in range(SCANNERS)]

    assert [m.recorded for m in movements] == [True] + [False] * (SCANNERS - 1)
    assert DewarEvent.objects.filter(dewar=dewar, status=DewarStatus.AT_FACILITY).count() == 1
    assert_consistent(dewar)
