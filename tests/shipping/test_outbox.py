"""The notification outbox: a broker down when a scan commits loses no email. The row stays queued, the
periodic re-send (Celery beat) hands it over once it is a minute overdue, exactly once however often it
runs or whichever task arrives late, and notifications stuck for long show on the staff dashboard.

The broker that is down is a real one that does not answer: Celery publishes to a port nobody listens on.
"""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from config import celery_app
from lims import after_commit
from shipping import outbox
from shipping.choices import DewarStatus, NotificationStatus
from shipping.models import Notification
from shipping.services import dewar_receive, shipment_send
from shipping.tasks import notify_dewar_event, resend_stale_notifications
from tests import factories as f
from tests.conftest import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def dewar(proposal, member, stores_location):
    contact = f.LabContactFactory(proposal=proposal, email="shipper@lab.example")
    shipment = f.shipment_tree(proposal=proposal, user=member, sending_contact=contact, return_contact=contact)
    shipment_send(shipment=shipment, user=member)
    return shipment.dewars.get()


def overdue(notification, minutes: float) -> None:
    """As if ``minutes`` had passed since the notification was due."""
    Notification.objects.filter(pk=notification.pk).update(due_at=timezone.now() - timedelta(minutes=minutes))


def scan_in_while_broker_is_down(dewar, stores, capture) -> Notification:
    with capture(execute=True):
        response = api_as(stores).post("/api/v1/scans/", {"barcode": dewar.barcode, "action": "receive"})
    assert response.status_code == 201, response.content
    dewar.refresh_from_db()
    assert dewar.status == DewarStatus.AT_FACILITY
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts) == (NotificationStatus.QUEUED, 0)
    return notification


def test_a_broker_down_at_commit_leaves_the_scan_done_and_the_email_queued_for_the_resend(
    dewar, stores, broker_down, django_capture_on_commit_callbacks
):
    notification = scan_in_while_broker_is_down(dewar, stores, django_capture_on_commit_callbacks)
    broker_down.back()
    assert mail.outbox == []

    # Younger than a minute: the task may still be on its way; the re-send leaves it.
    overdue(notification, 0.5)
    with django_capture_on_commit_callbacks(execute=True):
        assert resend_stale_notifications() == 0
    assert mail.outbox == []

    overdue(notification, 1.5)
    with django_capture_on_commit_callbacks(execute=True):
        assert resend_stale_notifications() == 1
    (message,) = mail.outbox
    assert "shipper@lab.example" in message.to and dewar.barcode in message.subject
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)

    # Sent: later runs find nothing to do.
    overdue(notification, 10)
    with django_capture_on_commit_callbacks(execute=True):
        assert resend_stale_notifications() == 0
    assert len(mail.outbox) == 1


def test_two_resends_back_to_back_hand_a_row_over_once_and_the_late_original_sends_nothing(
    dewar, stores, broker_down, django_capture_on_commit_callbacks
):
    notification = scan_in_while_broker_is_down(dewar, stores, django_capture_on_commit_callbacks)
    broker_down.back()
    overdue(notification, 2)
    with django_capture_on_commit_callbacks() as handed:
        assert outbox.notifications_resend_stale() == 1
        assert outbox.notifications_resend_stale() == 0  # the first moved its due time: not overdue now
    assert len(handed) == 1

    # The original task, published before the broker went down for good, arrives with the re-sent one.
    assert notify_dewar_event.delay(notification.pk).get() == NotificationStatus.SENT
    handed[0]()
    assert notify_dewar_event.delay(notification.pk).get() == NotificationStatus.SENT
    assert len(mail.outbox) == 1 and Notification.objects.get().attempts == 1


def test_a_task_finds_the_row_claimed_by_another_and_sends_nothing(dewar, stores, broker_down):
    notification = dewar_receive(dewar=dewar, user=stores).event.notifications.get()
    broker_down.back()
    assert outbox.claim(notification.pk) is True  # another worker is sending it
    assert notify_dewar_event.delay(notification.pk).get() == NotificationStatus.SENDING
    assert mail.outbox == [] and Notification.objects.get().attempts == 1


@pytest.mark.django_db(transaction=True)
def test_two_resends_at_once_hand_each_stale_row_over_once(proposal, member, stores, stores_location, monkeypatch):
    """Two beats (or a slow run overlapping the next), each in its own thread and database connection."""
    handed, lock = [], threading.Lock()

    def record(task_name, notification_id):
        with lock:
            handed.append(notification_id)

    monkeypatch.setattr(after_commit, "send", record)
    for n in range(6):
        shipment = f.shipment_tree(proposal=proposal, user=member, name=f"S{n}")
        shipment_send(shipment=shipment, user=member)
        dewar_receive(dewar=shipment.dewars.get(), user=stores)
    rows = list(Notification.objects.filter(status=NotificationStatus.QUEUED))
    assert len(rows) == len(handed) == 6  # handed over at commit; the broker took none of them
    Notification.objects.update(due_at=timezone.now() - timedelta(minutes=5))
    handed.clear()
    barrier = threading.Barrier(2)
    counts, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            counts.append(outbox.notifications_resend_stale())
        except Exception as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(handed) == sorted(row.pk for row in rows) and sum(counts) == len(rows)


def test_rows_stuck_past_the_threshold_show_on_the_staff_dashboard(
    client, dewar, stores, admin_user, member, settings, broker_down, django_capture_on_commit_callbacks
):
    settings.NOTIFICATION_STUCK_MINUTES = 15
    notification = scan_in_while_broker_is_down(dewar, stores, django_capture_on_commit_callbacks)
    broker_down.back()
    client.force_login(admin_user)

    overdue(notification, 14)
    assert "stuck" not in client.get(reverse("dashboard")).content.decode()

    overdue(notification, 16)
    page = client.get(reverse("dashboard")).content.decode()
    changelist = reverse("admin:shipping_notification_changelist")
    assert "1 notification stuck" in page and f"{changelist}?stuck=yes" in page
    listing = client.get(changelist, {"stuck": "yes"}).content.decode()
    assert dewar.barcode in listing

    # A worker lost while sending leaves the row "sending": stuck too, not sent again blindly.
    Notification.objects.filter(pk=notification.pk).update(status=NotificationStatus.SENDING)
    assert "1 notification stuck" in client.get(reverse("dashboard")).content.decode()

    client.force_login(member)
    assert "stuck" not in client.get(reverse("dashboard")).content.decode()


def test_staff_send_a_stuck_notification_again_from_the_admin(
    client, dewar, stores, admin_user, broker_down, django_capture_on_commit_callbacks
):
    notification = scan_in_while_broker_is_down(dewar, stores, django_capture_on_commit_callbacks)
    broker_down.back()
    Notification.objects.filter(pk=notification.pk).update(status=NotificationStatus.SENDING)
    overdue(notification, 60)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:shipping_notification_changelist"),
            {"action": "send_again", "_selected_action": [notification.pk]},
        )
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT and len(mail.outbox) == 1


def test_the_beat_schedule_runs_the_resend_every_minute(settings):
    (entry,) = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == resend_stale_notifications.name]
    assert entry["schedule"] == 60.0
    assert resend_stale_notifications.name in celery_app.tasks
