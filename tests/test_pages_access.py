"""Every page × every persona: members see their proposal's pages, another proposal's member gets a 404
(never a 403 that confirms the object exists), facility staff read everything, anonymous users are sent
to the login page."""

import pytest
from django.urls import reverse

from shipping.choices import ShipmentStatus
from shipping.models import Shipment

pytestmark = pytest.mark.django_db

# (url name, the fixture whose pk is in the URL, or None)
PAGES = [
    ("dashboard", None),
    ("lab_contact_list", "proposal"),
    ("lab_contact_create", "proposal"),
    ("lab_contact_edit", "lab_contact"),
    ("shipping:create", "proposal"),
    ("shipping:detail", "shipment"),
    ("shipping:edit", "shipment"),
    ("shipping:sheet_import", "shipment"),
]
# What each persona gets on a page of Alice's proposal; the dashboard is everyone's own.
EXPECTED = {"member": 200, "outsider": 404, "stores": 200, "beamline_staff": 200, "admin_user": 200}


def url_of(name, obj_fixture, request):
    if obj_fixture is None:
        return reverse(name)
    return reverse(name, args=[request.getfixturevalue(obj_fixture).pk])


@pytest.mark.parametrize("persona", sorted(EXPECTED))
@pytest.mark.parametrize(("name", "obj_fixture"), PAGES, ids=[p[0] for p in PAGES])
def test_page_access(client, request, persona, name, obj_fixture, member):
    url = url_of(name, obj_fixture, request)
    client.force_login(request.getfixturevalue(persona))

    response = client.get(url)

    expected = 200 if obj_fixture is None else EXPECTED[persona]
    assert response.status_code == expected


@pytest.mark.parametrize(("name", "obj_fixture"), PAGES, ids=[p[0] for p in PAGES])
def test_anonymous_is_sent_to_login(client, request, name, obj_fixture):
    url = url_of(name, obj_fixture, request)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("action", ["shipping:send", "shipping:cancel"])
def test_outsider_cannot_act_on_the_shipment(client, outsider, shipment, action):
    client.force_login(outsider)

    assert client.post(reverse(action, args=[shipment.pk])).status_code == 404

    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.DRAFT


@pytest.mark.parametrize("action", ["shipping:send", "shipping:cancel", "shipping:edit", "shipping:sheet_import"])
def test_anonymous_cannot_act_on_the_shipment(client, shipment, action):
    response = client.post(reverse(action, args=[shipment.pk]))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.DRAFT


def test_outsider_cannot_post_a_shipment_into_alices_proposal(client, outsider, proposal):
    client.force_login(outsider)

    response = client.post(reverse("shipping:create", args=[proposal.pk]), {"name": "Intruder"})

    assert response.status_code == 404
    assert not Shipment.objects.filter(name="Intruder").exists()


def test_outsider_cannot_edit_alices_shipment(client, outsider, shipment):
    client.force_login(outsider)

    response = client.post(reverse("shipping:edit", args=[shipment.pk]), {"name": "Taken"})

    assert response.status_code == 404
    assert Shipment.objects.get(pk=shipment.pk).name == "Alice-1"
