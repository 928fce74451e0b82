"""Personas (after healthchecks' hc/test.py): a member of Alice's proposal, a member of another
proposal who "should have no access to Alice's stuff", stores, beamline staff, admin, anonymous."""

import socket
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from config import celery_app
from lims.choices import FacilityRole, MemberRole
from shipping.choices import LocationKind

from . import factories as f


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests create many users; a real key-derivation hash would make each one take ~0.3 s."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def axes_reset(request):
    """Every test starts with no failed login counted (django-axes keeps the count in the database, which
    transactional and live-server tests share), so one test's failures never lock out another's logins."""
    database = next((name for name in ("transactional_db", "db") if name in request.fixturenames), None)
    if database is None:
        yield
        return
    from axes.utils import reset

    request.getfixturevalue(database)
    reset()
    yield
    reset()


@pytest.fixture
def proposal(db):
    return f.ProposalFactory(code="mx", number="2345", title="Alice's kinases")


@pytest.fixture
def other_proposal(db):
    return f.ProposalFactory(code="mx", number="9999", title="Someone else's")


@pytest.fixture
def member(proposal):
    user = f.UserFactory(username="alice")
    f.ProposalMemberFactory(proposal=proposal, user=user, role=MemberRole.PRINCIPAL_INVESTIGATOR)
    return user


@pytest.fixture
def outsider(other_proposal):
    user = f.UserFactory(username="charlie")
    f.ProposalMemberFactory(proposal=other_proposal, user=user)
    return user


@pytest.fixture
def stores(db):
    return f.UserFactory(username="stores", groups=[FacilityRole.STORES])


@pytest.fixture
def beamline_staff(db):
    return f.UserFactory(username="blstaff", groups=[FacilityRole.BEAMLINE_STAFF])


@pytest.fixture
def admin_user(db):
    return f.UserFactory(username="admin", is_staff=True, is_superuser=True, groups=[FacilityRole.ADMIN])


@pytest.fixture
def lab_contact(proposal):
    return f.LabContactFactory(proposal=proposal, card_name="Home lab")


@pytest.fixture
def stores_location(db):
    """The stores, where arriving dewars go by default."""
    return f.LocationFactory(name="Stores", kind=LocationKind.STORES, barcode="LOC-STORES")


@pytest.fixture
def beamline_location(db):
    return f.LocationFactory(name="Beamline MX-3", kind=LocationKind.BEAMLINE, barcode="LOC-MX-3")


@pytest.fixture
def shipment(proposal, member):
    """Alice's draft shipment: one dewar, one UniPuck, three samples."""
    return f.shipment_tree(proposal=proposal, user=member, samples=3, name="Alice-1")


@pytest.fixture
def api():
    return APIClient()


def api_as(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def isara(db):
    """The ISARA beamline MX-3: 29 UniPuck positions."""
    return f.BeamlineFactory(
        name="MX-3", sample_changer_model="ISARA", puck_positions=29, accepted_container_types=["unipuck"]
    )


@pytest.fixture
def received(shipment):
    """Alice's shipment, sent and its dewar received at the stores: its puck may go into a changer."""
    return f.at_facility(shipment)


def free_port() -> int:
    """A loopback port nobody listens on: for a server a test starts, or a broker that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A broker that is down, for the notification outbox's tests (tests/shipping/test_outbox.py, mail-in reports).
def use_broker(**conf):
    celery_app.conf.update(conf)
    # The app caches its connection pool, producer and result backend: drop them so that the settings apply.
    celery_app._pool = None
    celery_app.__dict__.pop("amqp", None)
    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)


@pytest.fixture
def broker_down():
    """Tasks go to a Redis broker that is down (nothing listens on its port); the fixture brings back the
    in-process (eager) tasks of development and tests, as when the broker is back and a worker runs them."""
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    use_broker(task_always_eager=False, broker_url=f"redis://127.0.0.1:{free_port()}/0")
    try:
        yield SimpleNamespace(back=lambda: use_broker(**saved))
    finally:
        use_broker(**saved)


@pytest.fixture
def loaded(received, isara, beamline_staff):
    """Alice's puck (3 samples) in position 2 of MX-3's changer, the first with a pin code and a crystal."""
    from samples.models import Sample
    from samples.services import container_assign

    puck = received.containers.get()
    container_assign(container=puck, beamline=isara, position=2, user=beamline_staff)
    first = puck.samples.get(position=1)
    Sample.objects.filter(pk=first.pk).update(
        pin_code="PIN0000001", space_group="P212121", cell_a=40.1, cell_alpha=90.0, aimed_resolution=1.5
    )
    return puck
