"""The beamline's writes: pucks into and out of sample changers, the robot's actions, sample statuses.

The threaded test needs real concurrent transactions (PostgreSQL); SQLite serialises writers, so there the
same two assignments run one after the other.
"""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection

from lims.errors import DomainError
from lims.models import ApiToken
from lims.tokens import TokenPrincipal
from samples.choices import ContainerStatus, SampleStatus
from samples.models import Container, ContainerHistory, RobotAction, SampleStatusChange
from samples.services import (
    container_assign,
    container_unassign,
    robot_action_complete,
    robot_action_create,
    sample_status_set,
    session_unload,
)
from shipping.services import shipment_send
from tests import factories as f

pytestmark = pytest.mark.django_db

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent transactions need PostgreSQL (SQLite serialises writers); set DATABASE_URL to run it",
)


def received_puck(proposal, name, *, samples=1):
    """A new shipment of ``proposal`` with one UniPuck, received at the facility; its puck."""
    return f.at_facility(f.shipment_tree(proposal=proposal, name=name, samples=samples)).containers.get()


def token_for(beamline, name="MXCuBE") -> TokenPrincipal:
    f.api_token(beamline, name=name)
    return TokenPrincipal(ApiToken.objects.get(beamline=beamline, name=name))


def history(container):
    """The puck's assignment rows (into and out of a changer); its arrival with its dewar has no beamline."""
    rows = ContainerHistory.objects.filter(container=container, beamline__isnull=False)
    return list(rows.order_by("at", "id"))


# --- assignment --------------------------------------------------------------------------------------------


def test_assigning_writes_where_when_and_who(received, isara, beamline_staff):
    puck = received.containers.get()
    done = container_assign(container=puck, beamline=isara, position=7, user=beamline_staff)

    assert done.changed and done.displaced is None and "MX-3:07" in done.message
    puck.refresh_from_db()
    assert (puck.beamline, puck.changer_position, puck.status) == (isara, 7, ContainerStatus.IN_SAMPLE_CHANGER)
    (row,) = history(puck)
    assert (row.location, row.status, row.beamline, row.changer_position) == (
        "MX-3:07",
        ContainerStatus.IN_SAMPLE_CHANGER,
        isara,
        7,
    )
    assert (row.user, row.token) == (beamline_staff, None) and row.at is not None


def test_a_token_assigning_is_written_as_the_token_and_its_person(received, isara, beamline_staff):
    f.api_token(isara, name="MXCuBE MX-3", user=beamline_staff)
    token = TokenPrincipal(ApiToken.objects.get())
    container_assign(container=received.containers.get(), beamline=isara, position=1, user=token)
    (row,) = history(received.containers.get())
    assert (row.token.name, row.user) == ("MXCuBE MX-3", beamline_staff)


def test_a_taken_position_displaces_its_puck_with_a_history_row_for_both(received, isara, beamline_staff):
    first = received.containers.get()
    second = received_puck(received.proposal, "Second")
    container_assign(container=first, beamline=isara, position=7, user=beamline_staff)

    done = container_assign(container=second, beamline=isara, position=7, user=beamline_staff)

    assert done.displaced.pk == first.pk and "was taken out" in done.message
    first.refresh_from_db()
    assert (first.beamline, first.changer_position, first.status) == (None, None, ContainerStatus.UNLOADED)
    into, out = history(first)
    # The row of the puck taken out says where it left from.
    assert (into.location, out.location, out.status) == ("MX-3:07", "MX-3:07", ContainerStatus.UNLOADED)
    assert "Taken out of MX-3:07" in out.message
    assert [h.location for h in history(second)] == ["MX-3:07"]
    assert Container.objects.filter(beamline=isara, changer_position=7).get().pk == second.pk


def test_moving_a_puck_within_the_changer_says_where_from(received, isara, beamline_staff):
    puck = received.containers.get()
    container_assign(container=puck, beamline=isara, position=3, user=beamline_staff)
    container_assign(container=puck, beamline=isara, position=4, user=beamline_staff)
    assert [h.message for h in history(puck)] == ["Into MX-3:03", "Into MX-3:04 from MX-3:03"]


def test_assigning_again_to_the_same_place_changes_nothing(received, isara, beamline_staff):
    puck = received.containers.get()
    container_assign(container=puck, beamline=isara, position=3, user=beamline_staff)
    again = container_assign(container=puck, beamline=isara, position=3, user=beamline_staff)
    assert not again.changed and "already" in again.message
    assert len(history(puck)) == 1


@pytest.mark.parametrize("position", [0, 30, 100])
def test_a_position_out_of_range_is_a_field_error(received, isara, beamline_staff, position):
    with pytest.raises(ValidationError) as error:
        container_assign(container=received.containers.get(), beamline=isara, position=position, user=beamline_staff)
    assert "position" in error.value.message_dict
    assert not ContainerHistory.objects.filter(beamline__isnull=False).exists()


def test_a_wrong_puck_type_for_the_position_is_refused(received, beamline_staff):
    # A FlexHCD: 8 cells of 3, SPINE only in positions 1-10, either kind elsewhere.
    flex = f.BeamlineFactory(
        name="MX-2",
        sample_changer_model="FlexHCD",
        puck_positions=24,
        positions_per_cell=3,
        accepted_container_types=["spine", "unipuck"],
        position_types={"1-10": ["spine"]},
    )
    unipuck = received.containers.get()
    with pytest.raises(DomainError) as error:
        container_assign(container=unipuck, beamline=flex, position=4, user=beamline_staff)
    assert error.value.code == "wrong_container_type" and "MX-2:2:1" in str(error.value)
    done = container_assign(container=unipuck, beamline=flex, position=11, user=beamline_staff)
    assert done.changed and history(unipuck)[0].location == "MX-2:4:2"


def test_a_puck_whose_dewar_is_not_at_the_facility_is_refused(shipment, isara, beamline_staff):
    puck = shipment.containers.get()
    for step in ("draft", "sent"):
        with pytest.raises(DomainError) as error:
            container_assign(container=puck, beamline=isara, position=1, user=beamline_staff)
        assert error.value.code == "dewar_not_at_facility", step
        if step == "draft":
            shipment_send(shipment=shipment, user=beamline_staff)
            assert shipment.dewars.get().status == "in_transit_to_facility"
    assert not ContainerHistory.objects.filter(beamline__isnull=False).exists()


def test_a_puck_booked_for_another_beamlines_session_is_refused(received, isara, beamline_staff):
    elsewhere = f.SessionFactory(proposal=received.proposal, beamline=f.BeamlineFactory(name="MX-1"))
    dewar = received.dewars.get()
    dewar.session = elsewhere
    dewar.save(update_fields=["session"])
    with pytest.raises(DomainError) as error:
        container_assign(container=received.containers.get(), beamline=isara, position=1, user=beamline_staff)
    assert error.value.code == "other_beamline_session" and "MX-1" in str(error.value)


@pytest.mark.parametrize("status", [ContainerStatus.RETURNED, ContainerStatus.DISPOSED])
def test_a_returned_or_disposed_puck_is_refused(received, isara, beamline_staff, status):
    Container.objects.filter(pk=received.containers.get().pk).update(status=status)
    with pytest.raises(DomainError) as error:
        container_assign(container=received.containers.get(), beamline=isara, position=1, user=beamline_staff)
    assert error.value.code == "container_gone"


def test_the_puck_goes_in_for_its_dewars_session_else_the_one_running_now(received, isara, beamline_staff):
    from django.utils import timezone

    now = timezone.now()
    running = f.SessionFactory(
        proposal=received.proposal,
        beamline=isara,
        start=now - timezone.timedelta(hours=1),
        end=now + timezone.timedelta(hours=5),
    )
    puck = received.containers.get()
    container_assign(container=puck, beamline=isara, position=2, user=beamline_staff)
    assert history(puck)[-1].session == running
    booked = f.SessionFactory(proposal=received.proposal, beamline=isara)
    dewar = received.dewars.get()
    dewar.session = booked
    dewar.save(update_fields=["session"])
    container_assign(container=puck, beamline=isara, position=3, user=beamline_staff)
    assert history(puck)[-1].session == booked


def test_a_session_of_another_proposal_or_beamline_is_a_field_error(received, isara, beamline_staff, other_proposal):
    puck = received.containers.get()
    for session in (
        f.SessionFactory(proposal=other_proposal, beamline=isara),
        f.SessionFactory(proposal=received.proposal, beamline=f.BeamlineFactory(name="MX-1")),
    ):
        with pytest.raises(ValidationError) as error:
            container_assign(container=puck, beamline=isara, position=2, user=beamline_staff, session=session)
        assert "session" in error.value.message_dict


def test_unassigning_writes_a_row_and_twice_changes_nothing(received, isara, beamline_staff):
    puck = received.containers.get()
    container_assign(container=puck, beamline=isara, position=12, user=beamline_staff)
    container_unassign(container=puck, user=beamline_staff)
    container_unassign(container=puck, user=beamline_staff)
    puck.refresh_from_db()
    assert (puck.beamline, puck.changer_position, puck.status) == (None, None, ContainerStatus.UNLOADED)
    rows = history(puck)
    assert len(rows) == 2
    assert (rows[1].status, rows[1].user, rows[1].message) == (
        ContainerStatus.UNLOADED,
        beamline_staff,
        "Taken out of MX-3:12",
    )


def test_session_unload_takes_out_that_proposals_pucks_only(received, isara, beamline_staff, other_proposal):
    mine = [received.containers.get(), received_puck(received.proposal, "Mine-2")]
    theirs = received_puck(other_proposal, "Theirs")
    for position, puck in enumerate([*mine, theirs], start=1):
        container_assign(container=puck, beamline=isara, position=position, user=beamline_staff)
    session = f.SessionFactory(proposal=received.proposal, beamline=isara)

    unloaded = session_unload(session=session, user=beamline_staff)

    assert [c.pk for c in unloaded] == [p.pk for p in mine]
    assert list(Container.objects.filter(beamline=isara).values_list("pk", flat=True)) == [theirs.pk]
    for puck in mine:
        assert "session unloaded" in history(puck)[-1].message
    assert session_unload(session=session, user=beamline_staff) == []


def test_two_pucks_into_one_position_one_after_the_other_leave_one(received, isara, beamline_staff):
    """Every backend: the sequential version of the race below."""
    pucks = [received.containers.get(), received_puck(received.proposal, "Race")]
    for puck in pucks:
        container_assign(container=puck, beamline=isara, position=9, user=beamline_staff)
    assert_one_in_position(isara, 9, pucks)


def assert_one_in_position(beamline, position, pucks):
    """Exactly one puck in the position, and every puck's state is its last history row's (a puck taken
    out: its row says where it left from)."""
    assert Container.objects.filter(beamline=beamline, changer_position=position).count() == 1
    for puck in pucks:
        puck = Container.objects.get(pk=puck.pk)
        last = ContainerHistory.objects.filter(container=puck).order_by("-at", "-id").first()
        assert last.status == puck.status
        if puck.status == ContainerStatus.UNLOADED:
            assert (puck.beamline_id, last.beamline_id, last.changer_position) == (None, beamline.pk, position)
        else:
            assert (last.beamline_id, last.changer_position) == (puck.beamline_id, puck.changer_position)
    rows = ContainerHistory.objects.filter(container__in=pucks, beamline__isnull=False).order_by("at", "id")
    # In, out (displaced), in: whoever came second took the position.
    assert [r.status for r in rows] == [
        ContainerStatus.IN_SAMPLE_CHANGER,
        ContainerStatus.UNLOADED,
        ContainerStatus.IN_SAMPLE_CHANGER,
    ]


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_pucks_assigned_to_one_position_at_once_leave_one_and_a_consistent_history():
    proposal = f.ProposalFactory()
    staff = f.UserFactory(username="blstaff", groups=["beamline staff"])
    beamline = f.BeamlineFactory(name="MX-3")
    pucks = [received_puck(proposal, f"Race-{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    errors = []

    def assign(puck):
        try:
            barrier.wait(timeout=10)
            container_assign(container=puck, beamline=beamline, position=9, user=staff)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=assign, args=(p,)) for p in pucks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    close_old_connections()

    assert not any(t.is_alive() for t in threads), "an assignment never finished (deadlock?)"
    assert errors == []
    assert_one_in_position(beamline, 9, pucks)


# --- robot actions and sample statuses ----------------------------------------------------------------------


@pytest.mark.parametrize("reference", [-1, None, 987654])
def test_a_robot_action_on_an_unknown_sample_is_stored_not_refused(isara, reference):
    token = token_for(isara)
    action = robot_action_create(
        by=token,
        action_type="load",
        status="success",
        sample_reference=reference,
        sample_barcode="ZZ99999999",
        container_location="7",
        dewar_location="2",
    )
    action.refresh_from_db()
    assert (action.beamline, action.sample, action.sample_reference) == (isara, None, reference)
    assert (action.action_type, action.status, action.sample_barcode) == ("LOAD", "SUCCESS", "ZZ99999999")
    assert action.token == token.token


def test_a_robot_action_needs_a_beamline_and_a_known_type(beamline_staff, isara):
    with pytest.raises(ValidationError) as error:
        robot_action_create(by=beamline_staff, action_type="LOAD")
    assert "sessionId" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        robot_action_create(by=beamline_staff, action_type="JUGGLE", beamline=isara)
    assert "actionType" in error.value.message_dict
    assert not RobotAction.objects.exists()


def test_a_token_reports_for_its_own_beamline_whatever_session_it_names(isara):
    other = f.BeamlineFactory(name="MX-1")
    session = f.SessionFactory(beamline=other)
    with pytest.raises(ValidationError):
        robot_action_create(by=token_for(isara), action_type="LOAD", session=session)


def test_completing_a_robot_action(isara, beamline_staff):
    action = robot_action_create(by=beamline_staff, action_type="UNLOAD", beamline=isara)
    assert action.status == "" and action.ended_at is None
    done = robot_action_complete(action=action, by=beamline_staff, status="error", message="Gripper")
    assert (done.status, done.message) == ("ERROR", "Gripper") and done.ended_at >= done.started_at
    with pytest.raises(ValidationError):
        robot_action_complete(action=action, by=beamline_staff, status="MAYBE")


def test_sample_status_changes_are_kept_as_history(received, isara):
    sample = received.containers.get().samples.order_by("position").first()
    token = token_for(isara)
    sample_status_set(sample=sample, by=token, status=SampleStatus.LOADED)
    sample_status_set(sample=sample, by=token, centring_position={"phi": 12.5, "omega": 90})
    sample_status_set(sample=sample, by=token, status=SampleStatus.ERROR, detail="ERROR - sample")

    sample.refresh_from_db()
    assert sample.status == SampleStatus.ERROR and sample.last_centring_position == {"phi": 12.5, "omega": 90}
    # Beamline control's rows; the first row is the pin's arrival with its dewar, by the stores.
    rows = list(SampleStatusChange.objects.filter(sample=sample, token__isnull=False).order_by("at", "id"))
    assert [(r.previous, r.status) for r in rows] == [
        ("at_facility", "loaded"),
        ("loaded", "loaded"),
        ("loaded", "error"),
    ]
    assert rows[1].centring_position == {"phi": 12.5, "omega": 90} and rows[2].detail == "ERROR - sample"
    assert all(r.token == token.token for r in rows)
    with pytest.raises(ValidationError):
        sample_status_set(sample=sample, by=token)
