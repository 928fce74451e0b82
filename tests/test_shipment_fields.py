"""Every item that reference/shipment-fields.md asks of a shipment and a dewar is in the model, the
registration form (where the user enters it) and the API (derived items derived, not stored twice)."""

import re

import pytest

from samples.models import Container, Sample
from shipping.models import Dewar, Shipment
from tests import factories as f

pytestmark = pytest.mark.django_db

# item of the reference: (model attribute, form input or None when not entered by the user, API key)
SHIPMENT_ITEMS = {
    "name": ("name", "name", "name"),
    "status": ("status", None, "status"),
    "proposal": ("proposal", None, "proposal"),
    "creation date": ("created_at", None, "created_at"),
    "sending date": ("sent_at", None, "sent_at"),
    "expected arrival date": ("expected_arrival", "expected_arrival", "expected_arrival"),
    'lab contact card "to facility"': ("sending_contact", "sending_contact", "sending_contact"),
    'lab contact card "home lab"': ("return_contact", "return_contact", "return_contact"),
    "return courier": ("return_courier", "return_courier", "return_courier"),
    "return courier account": ("return_courier_account", "return_courier_account", "return_courier_account"),
    "number of dewars": (None, None, "dewar_count"),
    "safety level": ("safety_level", "safety_level", "safety_level"),
}
DEWAR_ITEMS = {
    "name": ("name", "name", "name"),
    "number in the shipment": (None, None, "number_in_shipment"),
    "barcode": ("barcode", None, "barcode"),
    "average customs value": ("customs_value", "customs_value", "customs_value"),
    "average transport value": ("transport_value", "transport_value", "transport_value"),
    "where to deliver it": ("delivery_location", "delivery_location", "delivery_location"),
    "courier to the facility": ("courier_to_facility", "courier_to_facility", "courier_to_facility"),
    "tracking number to the facility": ("tracking_to_facility", "tracking_to_facility", "tracking_to_facility"),
    "courier back": ("courier_from_facility", "courier_from_facility", "courier_from_facility"),
    "tracking number back": ("tracking_from_facility", "tracking_from_facility", "tracking_from_facility"),
    "experiment date": ("experiment_date", "session", "experiment_date"),
    "facility local contact": ("local_contact", "local_contact", "local_contact"),
    "arrival date": ("arrival", None, "arrival"),
    "location at the facility": ("location", None, "location"),
    "transport history": ("events", None, "transport_history"),
    "containers": ("containers", None, "containers"),
}
CONTACT_CARD = ["name", "telephone", "fax", "email", "lab_name", "address"]


@pytest.fixture
def rendered(client, proposal, member):
    shipment = f.shipment_tree(proposal=proposal, user=member, samples=1)
    client.force_login(member)
    form = client.get(f"/shipments/{shipment.pk}/edit/").content.decode()
    api = client.get(f"/api/v1/shipments/{shipment.pk}/").json()
    return set(re.findall(r'name="([^"]+)"', form)), api


def test_every_shipment_item_is_in_model_form_and_api(rendered):
    inputs, api = rendered
    for item, (attr, form_input, key) in SHIPMENT_ITEMS.items():
        assert attr is None or hasattr(Shipment, attr), item
        assert form_input is None or form_input in inputs, item
        assert key in api, item
    for prefix in ("sc-", "rc-"):  # a new card can be created in the form, with every field of a card
        assert {prefix + name for name in CONTACT_CARD} <= inputs


def test_every_dewar_item_is_in_model_form_and_api(rendered):
    inputs, api = rendered
    dewar = api["dewars"][0]
    for item, (attr, form_input, key) in DEWAR_ITEMS.items():
        assert attr is None or hasattr(Dewar, attr), item
        assert form_input is None or f"d-0-{form_input}" in inputs, item
        assert key in dewar, item
    assert dewar["number_in_shipment"] == {"number": 1, "of": 1}


def test_containers_and_samples_carry_their_codes(rendered):
    inputs, api = rendered
    container = api["dewars"][0]["containers"][0]
    assert hasattr(Container, "barcode") and "d-0-c-0-barcode" in inputs and "barcode" in container
    assert "d-0-c-0-container_type" in inputs and container["container_type"] == "unipuck"
    assert hasattr(Sample, "pin_code") and "d-0-c-0-s-1-pin_code" in inputs and "pin_code" in container["samples"][0]
