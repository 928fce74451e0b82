"""The real path of a notification: a scan commits, the task goes through a real Redis broker to a real
Celery worker (a separate process), which sends a real email over SMTP to a server on loopback (aiosmtpd),
and the test reads that email.

The worker must read the events this test writes, so it is given the test database: on PostgreSQL the
``test_<name>`` database, on SQLite the test database file (settings make it a file, one per test run).
The test commits for real (``transaction=True``) so that the worker sees the rows.

Each run uses a queue of its own on the broker, so that two test runs (or a production worker) sharing the
Redis database never take each other's tasks. Skipped only when no Redis answers.
"""

import email
import os
import subprocess
import sys
import time
import uuid
from email import policy
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from config import celery_app
from shipping.choices import LocationKind, NotificationStatus
from shipping.models import Notification
from shipping.services import dewar_receive, shipment_send
from tests import factories as f

BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
WAIT_SECONDS = 30
CELERY = Path(sys.executable).with_name("celery")


def redis_problem() -> str | None:
    """Why the broker cannot be used, or None when it answers."""
    try:
        redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except (redis.RedisError, OSError) as exc:
        return f"no Redis broker at {BROKER_URL} ({exc}); start redis-server to run the real-path test"
    return None


pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(redis_problem() is not None, reason=redis_problem() or ""),
]


def worker_database_url() -> str:
    """The test database as a DATABASE_URL the worker's settings read."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        assert not connection.is_in_memory_db(), "the worker needs the SQLite test database in a file"
        return f"sqlite:///{db['NAME']}"
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            auth += ":" + quote(db["PASSWORD"], safe="")
        return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    pytest.fail(f"no DATABASE_URL for a {connection.vendor} test database")


@pytest.fixture
def queue():
    """A queue of this run's own on the broker; the producer (this process) publishes to it."""
    name = f"lims-notify-test-{uuid.uuid4().hex[:12]}"
    overrides = {
        "task_always_eager": False,
        "broker_url": BROKER_URL,
        "task_default_queue": name,
        "task_default_exchange": name,
        "task_default_routing_key": name,
    }
    saved = {key: celery_app.conf[key] for key in overrides}

    def reset_connections():
        # The app caches its connection pool, queues and router: drop them so that the settings apply.
        celery_app._pool = None
        celery_app.__dict__.pop("amqp", None)

    celery_app.conf.update(overrides)
    reset_connections()
    try:
        yield name
    finally:
        celery_app.conf.update(saved)
        reset_connections()
        # Leave nothing of this run on the broker: the queue and kombu's bindings of its exchange.
        client = redis.Redis.from_url(BROKER_URL)
        leftovers = list(client.scan_iter(match=f"*{name}*"))
        if leftovers:
            client.delete(*leftovers)


def start_worker(*, broker_url: str, queue: str, smtp_port: int, log: Path, **env_vars) -> subprocess.Popen:
    """A real Celery worker (solo pool) on ``broker_url`` and ``queue``, the test database and the loopback SMTP
    server; its output goes to ``log``. ``env_vars``: more settings (CELERY_RESULT_BACKEND...)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EMAIL_", "CELERY_")) and key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=worker_database_url(),
        DB_CONN_MAX_AGE="0",
        CELERY_BROKER_URL=broker_url,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_TIMEOUT="5",
        DEFAULT_FROM_EMAIL="lims@facility.example",
        FACILITY_NAME="Real Path Synchrotron",
        SITE_URL="https://lims.facility.example",
        **env_vars,
    )
    command = [
        str(CELERY),
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "-c",
        "1",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "warning",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
    ]
    with open(log, "wb") as out:
        return subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture
def worker(smtp_server, queue, tmp_path):
    """A real Celery worker on the broker, the test database and the loopback SMTP server; always stopped."""
    _, port = smtp_server
    log = tmp_path / "worker.log"
    process = start_worker(broker_url=BROKER_URL, queue=queue, smtp_port=port, log=log)
    try:
        yield process, log
    finally:
        stop(process)


def test_a_worker_on_redis_sends_the_arrival_email_over_smtp(smtp_server, worker, stores):
    inbox, _ = smtp_server
    process, log = worker
    proposal = f.ProposalFactory(code="mx", number="2345", title="Kinases")
    alice = f.UserFactory(username="alice", email="alice@lab.example")
    f.ProposalMemberFactory(proposal=proposal, user=alice)
    contact = f.LabContactFactory(proposal=proposal, card_name="Home", email="shipper@lab.example")
    shipment = f.shipment_tree(
        proposal=proposal, user=alice, name="Kinases-Nov", sending_contact=contact, return_contact=contact
    )
    shipment_send(shipment=shipment, user=alice)
    dewar = shipment.dewars.get()
    lc = f.UserFactory(username="lc", email="lc@facility.example")
    dewar.session = f.SessionFactory(proposal=proposal, local_contact=lc)
    dewar.save()
    f.LocationFactory(name="Stores shelf A", kind=LocationKind.STORES, barcode="LOC-STORES")

    # Commits, then publishes the task to Redis (on commit); nothing is sent in this process.
    movement = dewar_receive(dewar=dewar, user=stores)
    assert movement.recorded

    deadline = time.monotonic() + WAIT_SECONDS
    while not inbox.received.wait(0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"no email within {WAIT_SECONDS} s; worker exit {process.poll()}:\n{log.read_text()}")

    [envelope] = inbox.envelopes
    assert envelope.mail_from == "lims@facility.example"
    assert envelope.rcpt_tos == ["shipper@lab.example", "alice@lab.example", "lc@facility.example"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"] == (
        f"[Real Path Synchrotron] Dewar {dewar.barcode} (Kinases-Nov, mx2345) arrived at the facility"
    )
    assert message["To"] == "shipper@lab.example, alice@lab.example" and message["Cc"] == "lc@facility.example"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert dewar.barcode in body and "Stores shelf A" in body
        assert f"https://lims.facility.example/shipments/dewars/{dewar.pk}/" in body

    # The worker wrote the outcome in the same database.
    deadline = time.monotonic() + 5
    while Notification.objects.get(event=movement.event).status != NotificationStatus.SENT:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    assert Notification.objects.get(event=movement.event).attempts == 1
