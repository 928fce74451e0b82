"""Transport emails: who gets them, what they say, that they leave only after commit, and what a failing
mail server does (nothing to the scan; a failed notification staff can see)."""

import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.urls import reverse

from lims.after_commit import retry_countdown
from lims.choices import MemberRole
from lims.outbox import MAIL_ERRORS
from shipping.choices import DewarStatus, LocationKind, NotificationStatus
from shipping.models import Notification
from shipping.services import (
    dewar_dispatch,
    dewar_incident,
    dewar_move,
    dewar_note,
    dewar_receive,
    shipment_send,
)
from shipping.tasks import notify_dewar_event
from tests import factories as f
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


class FailingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPException("451 mail server on fire")


FAILING = "tests.shipping.test_notifications.FailingBackend"


@pytest.fixture(autouse=True)
def site(settings):
    settings.FACILITY_NAME = "Test Synchrotron"
    settings.SITE_URL = "https://lims.example.org"
    settings.COURIER_TRACKING_URLS = {"DHL": "https://dhl.example/track?awb={tracking}"}


@pytest.fixture
def local_contact(db):
    return f.UserFactory(username="lc", email="local.contact@facility.example")


@pytest.fixture
def dewar(proposal, member, local_contact):
    """Alice's sent dewar, for a session whose local contact is ``lc``; two cards, three more members."""
    sender = f.LabContactFactory(proposal=proposal, card_name="Sender", email="sender@lab.example")
    back = f.LabContactFactory(proposal=proposal, card_name="Back", email="returns@lab.example")
    # Bob has no address (skipped); Dora's is the sender card's in other case (told once).
    for username, email in (("bob", ""), ("dora", "SENDER@lab.example"), ("eve", "eve@lab.example")):
        user = f.UserFactory(username=username, email=email)
        f.ProposalMemberFactory(proposal=proposal, user=user, role=MemberRole.MEMBER)
    shipment = f.shipment_tree(
        proposal=proposal, user=member, name="Kinases-Nov", sending_contact=sender, return_contact=back
    )
    shipment_send(shipment=shipment, user=member)
    dewar = shipment.dewars.get()
    dewar.session = f.SessionFactory(proposal=proposal, local_contact=local_contact)
    dewar.save()
    return dewar


@pytest.fixture
def stores_location(db):
    return f.LocationFactory(name="Stores shelf A", kind=LocationKind.STORES, barcode="LOC-STORES")


def receive(dewar, stores, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return dewar_receive(dewar=dewar, user=stores)


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def test_arrival_tells_the_contacts_and_members_with_the_local_contact_in_copy(
    dewar, stores, stores_location, django_capture_on_commit_callbacks
):
    receive(dewar, stores, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert message.to == ["sender@lab.example", "returns@lab.example", "alice@example.org", "eve@lab.example"]
    assert message.cc == ["local.contact@facility.example"]
    assert message.subject == (
        f"[Test Synchrotron] Dewar {dewar.barcode} (Kinases-Nov, mx2345) arrived at the facility"
    )
    page = "https://lims.example.org" + reverse("shipping:dewar", args=[dewar.pk])
    for body in (message.body, html_of(message)):
        assert dewar.barcode in body and "Kinases-Nov" in body and "mx2345" in body
        assert "Stores shelf A" in body and page in body
    assert f'<a href="{page}">' in html_of(message)
    notification = Notification.objects.get()
    assert (notification.reason, notification.status, notification.attempts) == ("arrival", "sent", 1)
    assert notification.recipients == message.to and notification.cc == message.cc
    assert notification.subject == message.subject and notification.sent_at is not None


def test_dispatch_gives_courier_tracking_number_and_link(
    dewar, stores, stores_location, django_capture_on_commit_callbacks
):
    dewar_receive(dewar=dewar, user=stores)
    with django_capture_on_commit_callbacks(execute=True):
        dewar_dispatch(dewar=dewar, user=stores, courier="DHL", tracking_number="1234 5678")

    [message] = mail.outbox
    assert (
        message.subject
        == f"[Test Synchrotron] Dewar {dewar.barcode} (Kinases-Nov, mx2345) dispatched to you — DHL 1234 5678"
    )
    link = "https://dhl.example/track?awb=1234%205678"
    assert "Courier:   DHL" in message.body and "Tracking:  1234 5678" in message.body and link in message.body
    assert f'<a href="{link}">1234 5678</a>' in html_of(message)
    assert Notification.objects.get(reason="dispatch").status == NotificationStatus.SENT


def test_dispatch_with_a_courier_without_tracking_page_has_no_link(
    dewar, stores, stores_location, django_capture_on_commit_callbacks
):
    dewar_receive(dewar=dewar, user=stores)
    with django_capture_on_commit_callbacks(execute=True):
        dewar_dispatch(dewar=dewar, user=stores, courier="Bike courier", tracking_number="B-7")

    [message] = mail.outbox
    assert message.subject.endswith("dispatched to you — Bike courier B-7")
    assert "Follow it" not in message.body and '<a href="https://dhl' not in html_of(message)


def test_incident_says_what_happened(dewar, stores, stores_location, django_capture_on_commit_callbacks):
    dewar_receive(dewar=dewar, user=stores)
    with django_capture_on_commit_callbacks(execute=True):
        dewar_incident(dewar=dewar, user=stores, incident="damaged", note="dented lid, LN2 <50%")

    [message] = mail.outbox
    assert message.subject == f"[Test Synchrotron] Dewar {dewar.barcode} (Kinases-Nov, mx2345) incident: damaged"
    # The text body is not HTML-escaped; the HTML one is.
    assert "Damaged: dented lid, LN2 <50%" in message.body
    assert "Damaged: dented lid, LN2 &lt;50%" in html_of(message)
    assert message.cc == ["local.contact@facility.example"]


def test_a_lost_dewar_is_an_incident_too(dewar, stores, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dewar_incident(dewar=dewar, user=stores, incident="lost")
    [message] = mail.outbox
    assert message.subject.endswith("incident: lost") and "Lost" in message.body


def test_moves_and_notes_send_nothing(dewar, stores, stores_location, django_capture_on_commit_callbacks):
    dewar_receive(dewar=dewar, user=stores)
    beamline = f.LocationFactory(name="MX-3", kind=LocationKind.BEAMLINE, barcode="LOC-MX-3")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        dewar_move(dewar=dewar, user=stores, location=beamline)
        dewar_note(dewar=dewar, user=stores, note="LN2 topped up")
    assert callbacks == [] and mail.outbox == []
    assert Notification.objects.filter(reason__in=["arrival"]).count() == 1
    assert Notification.objects.count() == 1


def test_the_dewars_own_local_contact_when_the_session_has_none(
    dewar, stores, stores_location, django_capture_on_commit_callbacks
):
    dewar.session = None
    dewar.local_contact = f.UserFactory(username="lc2", email="lc2@facility.example")
    dewar.save()
    receive(dewar, stores, django_capture_on_commit_callbacks)
    assert mail.outbox[0].cc == ["lc2@facility.example"]


def test_the_email_leaves_only_after_commit(dewar, stores, stores_location, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        dewar_receive(dewar=dewar, user=stores)
        assert mail.outbox == []
    assert len(callbacks) == 1 and mail.outbox == []
    # The notification is on record, queued, from the scan's own transaction.
    assert Notification.objects.get().status == NotificationStatus.QUEUED
    callbacks[0]()
    assert len(mail.outbox) == 1 and Notification.objects.get().status == NotificationStatus.SENT


def test_a_rolled_back_scan_sends_nothing(dewar, stores, stores_location, django_capture_on_commit_callbacks):
    class Abort(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Abort), transaction.atomic():
        dewar_receive(dewar=dewar, user=stores)
        raise Abort
    assert callbacks == [] and mail.outbox == []
    assert not Notification.objects.exists()
    dewar.refresh_from_db()
    assert dewar.status == DewarStatus.IN_TRANSIT_TO_FACILITY


def test_a_failing_mail_server_does_not_fail_the_scan(
    dewar, stores, stores_location, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = FAILING
    movement = receive(dewar, stores, django_capture_on_commit_callbacks)  # no exception out of the callbacks

    assert movement.recorded
    dewar.refresh_from_db()
    assert dewar.status == DewarStatus.AT_FACILITY
    notification = Notification.objects.get()
    # In-process (no broker), the request is waiting: one attempt, then the failure is recorded.
    assert (notification.status, notification.attempts) == (NotificationStatus.FAILED, 1)
    assert notification.last_error == "SMTPException: 451 mail server on fire"
    assert notification.recipients[0] == "sender@lab.example"


def test_a_failing_mail_server_does_not_fail_the_scan_api(
    dewar, stores, stores_location, settings, django_capture_on_commit_callbacks
):
    """Through the scan API, as the scan station and handheld scanners call it: the scan's answer, not a 500."""
    settings.EMAIL_BACKEND = FAILING
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(stores).post("/api/v1/scans/", {"barcode": dewar.barcode, "action": "receive"})
    assert response.status_code == 201, response.content
    assert response.json()["recorded"] is True
    dewar.refresh_from_db()
    assert dewar.status == DewarStatus.AT_FACILITY
    assert Notification.objects.get().status == NotificationStatus.FAILED


def test_a_worker_retries_a_mail_error_and_gives_up_after_the_last_retry(dewar, stores, stores_location, settings):
    notification = dewar_receive(dewar=dewar, user=stores).event.notifications.get()
    settings.EMAIL_BACKEND = FAILING

    # First delivery in a worker: the error goes back to Celery, which schedules a retry.
    notify_dewar_event.push_request(retries=0, is_eager=False)
    try:
        with pytest.raises(smtplib.SMTPException):
            notify_dewar_event.run(notification.pk)
    finally:
        notify_dewar_event.pop_request()
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.QUEUED, 1)
    assert "mail server on fire" in notification.last_error

    # The last retry: recorded as failed, and the task ends without an error.
    notify_dewar_event.push_request(retries=notify_dewar_event.max_retries, is_eager=False)
    try:
        assert notify_dewar_event.run(notification.pk) == NotificationStatus.FAILED
    finally:
        notify_dewar_event.pop_request()
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.FAILED, 2)


def test_retries_back_off_exponentially_on_mail_errors():
    assert smtplib.SMTPException in MAIL_ERRORS
    assert issubclass(ConnectionError, MAIL_ERRORS) and issubclass(TimeoutError, MAIL_ERRORS)
    assert notify_dewar_event.max_retries == 5
    for retries, base in ((0, 60), (1, 120), (2, 240), (6, 3600), (10, 3600)):
        assert base <= retry_countdown(retries) <= base + 30


def test_a_notification_sent_once_is_not_sent_again(dewar, stores, stores_location, django_capture_on_commit_callbacks):
    receive(dewar, stores, django_capture_on_commit_callbacks)
    notification = dewar.events.latest("id").notifications.get()
    assert notify_dewar_event.delay(notification.pk).get() == NotificationStatus.SENT
    assert len(mail.outbox) == 1 and Notification.objects.get().attempts == 1


def test_nobody_to_tell_is_a_failure_staff_see(
    proposal, member, stores, stores_location, django_capture_on_commit_callbacks
):
    contact = f.LabContactFactory(proposal=proposal, email="")
    member.email = ""
    member.save()
    shipment = f.shipment_tree(proposal=proposal, user=member, sending_contact=contact, return_contact=contact)
    shipment_send(shipment=shipment, user=member)
    receive(shipment.dewars.get(), stores, django_capture_on_commit_callbacks)
    assert mail.outbox == []
    notification = Notification.objects.get()
    assert notification.status == NotificationStatus.FAILED and "Nobody to tell" in notification.last_error


def test_staff_see_failed_notifications_on_the_dashboard_and_in_the_admin(
    client, dewar, stores, stores_location, admin_user, member, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = FAILING
    receive(dewar, stores, django_capture_on_commit_callbacks)
    changelist = reverse("admin:shipping_notification_changelist")

    client.force_login(admin_user)
    page = client.get(reverse("dashboard")).content.decode()
    assert "1 notification failed" in page and f"{changelist}?status__exact=failed" in page
    listing = client.get(changelist, {"status__exact": "failed"}).content.decode()
    assert dewar.barcode in listing and "451 mail server on fire" in listing

    client.force_login(member)
    assert "notification failed" not in client.get(reverse("dashboard")).content.decode()
    assert client.get(changelist).status_code == 302  # not staff: sent to the admin login


def test_staff_send_a_failed_notification_again_from_the_admin(
    client, dewar, stores, stores_location, admin_user, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = FAILING
    receive(dewar, stores, django_capture_on_commit_callbacks)
    notification = Notification.objects.get()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the server is back

    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:shipping_notification_changelist"),
            {"action": "send_again", "_selected_action": [notification.pk]},
        )
    assert response.status_code == 302
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.last_error) == ("sent", 2, "")
    assert len(mail.outbox) == 1
