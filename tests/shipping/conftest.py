"""What the shipping app's tests share: an SMTP server on loopback that keeps what it receives (the real-path
tests), and the shipment the label tests print (``delivery``, ``labelled``)."""

import threading

import pytest
from aiosmtpd.controller import Controller

from samples.models import Container, Sample
from shipping.choices import LocationKind, SafetyLevel
from shipping.selectors import shipment_detail
from tests import factories as f
from tests.conftest import free_port


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self):
        self.envelopes = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.received.set()
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def delivery(db):
    return f.LocationFactory(name="ID23-1", kind=LocationKind.BEAMLINE, barcode="LOC-ID23-1")


@pytest.fixture
def labelled(proposal, member, delivery):
    """Alice's shipment of 2 dewars × 2 pucks × 4 pins, coded but for one puck and one pin.

    Puck Lab-D2-P2 has no barcode; pin Lab-0-1-2 (dewar 1, puck 2, position 3) has no pin code.
    """
    shipment = f.shipment_tree(proposal=proposal, user=member, dewars=2, pucks=2, samples=4, name="Lab")
    shipment.dewars.update(delivery_location=delivery)
    shipment.safety_level = SafetyLevel.YELLOW
    shipment.save(update_fields=["safety_level"])
    for n, container in enumerate(Container.objects.filter(shipment=shipment).order_by("id")):
        if container.name != "Lab-D2-P2":
            Container.objects.filter(pk=container.pk).update(barcode=f"PK-{n + 1:04d}")
    for n, sample in enumerate(Sample.objects.filter(container__shipment=shipment).order_by("id")):
        if sample.name != "Lab-0-1-2":
            Sample.objects.filter(pk=sample.pk).update(pin_code=f"LB{n + 1:08d}")
    return shipment_detail(member).get(pk=shipment.pk)
