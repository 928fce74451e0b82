"""The mail-in operator's queue: which samples, in which order, setting their state, and who may."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from lims.choices import AuditAction, FacilityRole, ProposalKind
from lims.models import AuditEntry
from samples.choices import DatasetKind, MailinRequest, MailinState
from samples.mailin.selectors import queue, queue_samples, request_text
from samples.mailin.services import sample_mailin_state_set
from samples.models import Sample, ShipmentReport
from shipping.models import DewarEvent
from tests import factories as f
from tests.queries import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    return f.UserFactory(username="op", groups=[FacilityRole.MAILIN_OPERATOR])


@pytest.fixture
def acme(db):
    return f.ProposalFactory(code="in", number="0042", kind=ProposalKind.INDUSTRIAL, mail_in=True)


def mailin_shipment(proposal, name, *, samples=2, arrived_days_ago=None):
    shipment = f.shipment_tree(proposal=proposal, samples=samples, name=name)
    if arrived_days_ago is not None:
        f.at_facility(shipment)
        DewarEvent.objects.filter(dewar__shipment=shipment).update(
            at=timezone.now() - dt.timedelta(days=arrived_days_ago)
        )
    Sample.objects.filter(container__shipment=shipment).update(mailin_request=MailinRequest.SCREEN)
    return shipment


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_only_at_facility_not_completed_mail_in_samples_by_priority_then_arrival(acme, proposal):
    mailin_shipment(acme, "Old", arrived_days_ago=5)
    new = mailin_shipment(acme, "New", arrived_days_ago=1)
    mailin_shipment(acme, "NotArrived")  # still a draft: not at the facility
    done = mailin_shipment(acme, "Done", arrived_days_ago=9)
    done.mailin_completed_at = timezone.now()
    done.save(update_fields=["mailin_completed_at"])
    mailin_shipment(proposal, "Academic", arrived_days_ago=3)  # not a mail-in proposal
    urgent = Sample.objects.filter(container__shipment=new).order_by("position").last()
    urgent.mailin_priority = 1
    urgent.save(update_fields=["mailin_priority"])

    order = [(s.container.shipment.name, s.position) for s in queue_samples()]
    assert order == [("New", 2), ("Old", 1), ("Old", 2), ("New", 1)]
    _, shipments = queue()
    assert [s.shipment.name for s in shipments] == ["Old", "New"]
    assert shipments[0].turnaround.days == 5


def test_turnaround_ends_at_the_first_report(acme):
    shipment = mailin_shipment(acme, "S", arrived_days_ago=4)
    report = ShipmentReport.objects.create(shipment=shipment, version=1, pdf="reports/x.pdf")
    ShipmentReport.objects.filter(pk=report.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    ShipmentReport.objects.create(shipment=shipment, version=2, pdf="reports/y.pdf")
    (summary,) = queue()[1]
    assert summary.turnaround.days == 3


def test_request_text():
    assert request_text(Sample(mailin_request=MailinRequest.SCREEN)) == "screen only"
    assert (
        request_text(Sample(mailin_request=MailinRequest.SCREEN_COLLECT, mailin_collect_better_than=2))
        == "screen, collect if better than 2.0 Å"
    )
    sad = Sample(mailin_request=MailinRequest.DATASET, mailin_dataset_kind=DatasetKind.SAD, anomalous_scatterer="Se")
    assert request_text(sad) == "SAD data set, Se"
    assert request_text(Sample()) == ""


def test_state_changes_need_a_reason_and_are_audited(acme, operator):
    shipment = mailin_shipment(acme, "S", arrived_days_ago=1)
    sample = Sample.objects.filter(container__shipment=shipment).first()
    with pytest.raises(ValidationError) as refused:
        sample_mailin_state_set(sample=sample, user=operator, state=MailinState.SKIPPED)
    assert "reason" in refused.value.message_dict
    with pytest.raises(ValidationError):
        sample_mailin_state_set(sample=sample, user=operator, state=MailinState.FAILED, reason="  ")
    sample_mailin_state_set(sample=sample, user=operator, state=MailinState.SKIPPED, reason="Ice", notes="Cracked")
    sample.refresh_from_db()
    assert (sample.mailin_state, sample.mailin_state_reason, sample.mailin_notes) == ("skipped", "Ice", "Cracked")
    entry = AuditEntry.objects.filter(
        object_id=str(sample.pk), content_type__model="sample", action=AuditAction.TRANSITION
    ).get()
    assert entry.user == operator
    assert entry.changes["mailin_state"] == ["waiting", "skipped"]
    # Another state drops the reason; notes None keeps the notes.
    sample_mailin_state_set(sample=sample, user=operator, state=MailinState.SCREENED)
    sample.refresh_from_db()
    assert (sample.mailin_state, sample.mailin_state_reason, sample.mailin_notes) == ("screened", "", "Cracked")


def test_only_operators_and_admins_set_states(acme, beamline_staff, admin_user):
    shipment = mailin_shipment(acme, "S", arrived_days_ago=1)
    sample = Sample.objects.filter(container__shipment=shipment).first()
    with pytest.raises(PermissionDenied):
        sample_mailin_state_set(sample=sample, user=beamline_staff, state=MailinState.SCREENED)
    sample_mailin_state_set(sample=sample, user=admin_user, state=MailinState.SCREENED)


def test_the_page_form_sets_the_state(acme, operator):
    shipment = mailin_shipment(acme, "S", arrived_days_ago=1)
    sample = Sample.objects.filter(container__shipment=shipment).first()
    client = client_for(operator)
    url = f"/mailin/samples/{sample.pk}/state/"
    response = client.post(url, {"state": "failed", "reason": "", "notes": "n"}, follow=True)
    assert "Say why" in response.content.decode()
    sample.refresh_from_db()
    assert sample.mailin_state == MailinState.WAITING
    response = client.post(url, {"state": "failed", "reason": "No diffraction", "notes": "n"})
    assert response.status_code == 302
    sample.refresh_from_db()
    assert (sample.mailin_state, sample.mailin_state_reason) == ("failed", "No diffraction")


@pytest.mark.parametrize("who", ["member", "outsider", "stores", "beamline_staff"])
def test_others_get_403(who, request, acme):
    user = request.getfixturevalue(who)
    shipment = mailin_shipment(acme, "S", arrived_days_ago=1)
    sample = Sample.objects.filter(container__shipment=shipment).first()
    client = client_for(user)
    assert client.get("/mailin/").status_code == 403
    assert client.post(f"/mailin/samples/{sample.pk}/state/", {"state": "screened"}).status_code == 403
    assert "Mail-in queue" not in client.get("/").content.decode()


def test_the_page_for_operators_and_admins(acme, operator, admin_user):
    shipment = mailin_shipment(acme, "S", arrived_days_ago=2)
    Sample.objects.filter(container__shipment=shipment).update(
        mailin_request=MailinRequest.DATASET, mailin_dataset_kind=DatasetKind.SAD, anomalous_scatterer="Se"
    )
    for user in (operator, admin_user):
        response = client_for(user).get("/mailin/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "SAD data set, Se" in html
        assert "Stores" in html  # where the puck is: its dewar's location
        assert "Mail-in queue" in html


def test_a_constant_number_of_queries(acme, operator):
    mailin_shipment(acme, "A", samples=2, arrived_days_ago=2)
    client = client_for(operator)
    client.get("/mailin/")
    with count_queries() as few:
        assert client.get("/mailin/").status_code == 200
    mailin_shipment(acme, "B", samples=10, arrived_days_ago=1)
    mailin_shipment(acme, "C", samples=10, arrived_days_ago=3)
    with count_queries() as many:
        html = client.get("/mailin/").content.decode()
    assert html.count('class="inline mailin-state"') == 22
    assert len(many) == len(few)
