"""No email lost to a broker outage, with real parts: a Redis of this test's own (its own port, no
persistence), a real Celery worker (a separate process) and an SMTP server on loopback (aiosmtpd).

Redis is stopped before the scan commits: the scan succeeds and its notification stays queued. Redis is
started again; the task Celery beat runs every minute is sent through the broker to the worker, which
hands the notification over again and sends the arrival email. The original task arriving late, and
more runs of the re-send, send nothing more: the SMTP server receives the email exactly once.

The shared Redis (6379) is never touched. Skipped only when redis-server is not installed.
"""

import email
import shutil
import subprocess
import time
from datetime import timedelta
from email import policy

import pytest
import redis
from django.utils import timezone

from config import celery_app
from shipping.choices import DewarStatus, LocationKind, NotificationStatus
from shipping.models import Notification
from shipping.services import dewar_receive, shipment_send
from shipping.tasks import notify_dewar_event, resend_stale_notifications
from tests import factories as f
from tests.conftest import free_port, use_broker
from tests.shipping.test_notifications_real import start_worker, stop

REDIS_SERVER = shutil.which("redis-server")
WAIT_SECONDS = 60

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        REDIS_SERVER is None, reason="redis-server is not installed: the broker-outage test starts its own Redis"
    ),
]


class RedisServer:
    """A redis-server on loopback and a port of its own, that the test stops and starts again."""

    def __init__(self, port: int, workdir):
        self.port, self.workdir, self.process = port, workdir, None
        self.client = redis.Redis(port=port, socket_connect_timeout=1, socket_timeout=2)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            command + ["--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for(self.answers, "redis-server to answer")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except (redis.RedisError, OSError):
            return False


def wait_for(condition, what: str, log=None):
    deadline = time.monotonic() + WAIT_SECONDS
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {WAIT_SECONDS} s" + (f":\n{log.read_text()}" if log else ""))
        time.sleep(0.1)
    return result


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def celery_on(own_redis):
    """This process publishes to the test's Redis and reads task results there (database 1)."""
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url", "result_backend")}
    use_broker(task_always_eager=False, broker_url=own_redis.url(0), result_backend=own_redis.url(1))
    try:
        yield own_redis
    finally:
        use_broker(**saved)


def test_an_arrival_scanned_while_redis_is_down_is_emailed_exactly_once_when_it_is_back(
    celery_on, smtp_server, stores, tmp_path
):
    broker = celery_on
    inbox, smtp_port = smtp_server
    log = tmp_path / "worker.log"
    worker = start_worker(
        broker_url=broker.url(0),
        queue="celery",
        smtp_port=smtp_port,
        log=log,
        CELERY_RESULT_BACKEND=broker.url(1),
    )
    try:
        proposal = f.ProposalFactory(code="mx", number="2345", title="Kinases")
        alice = f.UserFactory(username="alice", email="alice@lab.example")
        f.ProposalMemberFactory(proposal=proposal, user=alice)
        contact = f.LabContactFactory(proposal=proposal, card_name="Home", email="shipper@lab.example")
        shipment = f.shipment_tree(
            proposal=proposal, user=alice, name="Kinases-Nov", sending_contact=contact, return_contact=contact
        )
        shipment_send(shipment=shipment, user=alice)
        dewar = shipment.dewars.get()
        f.LocationFactory(name="Stores shelf A", kind=LocationKind.STORES, barcode="LOC-STORES")
        # The worker is up: it has bound its queue on the broker.
        wait_for(lambda: broker.client.exists("_kombu.binding.celery"), "worker on the broker", log)

        broker.stop()
        movement = dewar_receive(dewar=dewar, user=stores)  # commits; handing the task over fails

        assert movement.recorded
        dewar.refresh_from_db()
        assert dewar.status == DewarStatus.AT_FACILITY
        notification = Notification.objects.get(event=movement.event)
        assert (notification.status, notification.attempts) == (NotificationStatus.QUEUED, 0)

        broker.start()  # empty: no persistence, the original task is gone
        wait_for(lambda: broker.client.exists("_kombu.binding.celery"), "worker back on the broker", log)
        # A minute has passed: the row is overdue.
        Notification.objects.filter(pk=notification.pk).update(due_at=timezone.now() - timedelta(minutes=2))

        assert resend_stale_notifications.delay().get(timeout=WAIT_SECONDS) == 1
        wait_for(lambda: inbox.envelopes, "arrival email", log)
        wait_for(
            lambda: Notification.objects.get(pk=notification.pk).status == NotificationStatus.SENT,
            "notification sent",
            log,
        )
        # The original task, arriving late, and more runs of the re-send: nothing more is sent.
        assert notify_dewar_event.delay(notification.pk).get(timeout=WAIT_SECONDS) == NotificationStatus.SENT
        Notification.objects.filter(pk=notification.pk).update(due_at=timezone.now() - timedelta(minutes=2))
        assert resend_stale_notifications.delay().get(timeout=WAIT_SECONDS) == 0
        assert worker.poll() is None, log.read_text()
    finally:
        stop(worker)

    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ["shipper@lab.example", "alice@lab.example"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"].endswith(f"Dewar {dewar.barcode} (Kinases-Nov, mx2345) arrived at the facility")
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)
