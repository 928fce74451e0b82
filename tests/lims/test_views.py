"""Sign in and out, the dashboard, and the lab contact cards of a proposal."""

from decimal import Decimal

import pytest
from django.urls import reverse

from lims.models import AuditEntry, LabContact
from shipping.choices import ShipmentStatus
from tests import factories as f

pytestmark = pytest.mark.django_db

CARD = {
    "card_name": "Bench 4",
    "name": "Alice Liddell",
    "telephone": "+33 4 76 00 00 01",
    "fax": "+33 4 76 00 00 02",
    "email": "alice@lab.org",
    "lab_name": "Kinase lab",
    "address": "1 Lab Road\n38000 Grenoble",
    "default_courier": "FedEx",
    "courier_account": "FX-123",
    "billing_reference": "PO-77",
    "default_customs_value": "120.50",
    "default_transport_value": "80",
}


def test_login_page_signs_in_and_lands_on_the_dashboard(client, member):
    response = client.post(reverse("login"), {"username": "alice", "password": f.PASSWORD})
    assert response.status_code == 302 and response.url == reverse("dashboard")


def test_login_with_a_wrong_password_says_so(client, member):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_logout_is_a_post(client, member):
    client.force_login(member)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response.url == reverse("login")
    assert client.get(reverse("dashboard")).status_code == 302


def test_dashboard_lists_my_proposals_and_shipments_with_counts(client, member, proposal, other_proposal):
    f.shipment_tree(proposal=proposal, user=member, dewars=2, pucks=2, samples=3, name="Mine")
    f.shipment_tree(proposal=other_proposal, samples=1, name="Theirs")
    client.force_login(member)

    html = client.get(reverse("dashboard")).content.decode()

    assert "mx2345" in html and "mx9999" not in html
    assert reverse("shipping:create", args=[proposal.pk]) in html
    assert "Mine" in html and "Theirs" not in html
    row = html[html.index(">Mine<") :].split("</tr>")[0]
    assert [c.split("<")[0] for c in row.split('<td class="num">')[1:]] == ["2", "4", "12"]
    assert ShipmentStatus.DRAFT.label in row


def test_facility_staff_see_every_shipment_on_the_dashboard(client, stores, proposal, other_proposal):
    f.shipment_tree(proposal=proposal, samples=1, name="Mine")
    f.shipment_tree(proposal=other_proposal, samples=1, name="Theirs")
    client.force_login(stores)

    html = client.get(reverse("dashboard")).content.decode()

    assert "Mine" in html and "Theirs" in html


def test_card_list_shows_the_proposal_cards_only(client, member, proposal, other_proposal, lab_contact):
    f.LabContactFactory(proposal=other_proposal, card_name="Not yours")
    client.force_login(member)

    html = client.get(reverse("lab_contact_list", args=[proposal.pk])).content.decode()

    assert "Home lab" in html and "Not yours" not in html


def test_member_creates_a_card_with_every_field(client, member, proposal):
    client.force_login(member)

    response = client.post(reverse("lab_contact_create", args=[proposal.pk]), CARD)

    assert response.status_code == 302 and response.url == reverse("lab_contact_list", args=[proposal.pk])
    card = LabContact.objects.get(proposal=proposal, card_name="Bench 4")
    texts = {name: value for name, value in CARD.items() if not name.startswith("default_") or "courier" in name}
    assert {name: getattr(card, name).replace("\r", "") for name in texts} == texts
    assert (card.default_customs_value, card.default_transport_value) == (Decimal("120.50"), Decimal("80"))
    assert AuditEntry.objects.filter(user=member, object_id=str(card.pk), action="create").exists()


def test_a_duplicate_card_name_is_shown_beside_the_field(client, member, proposal, lab_contact):
    client.force_login(member)

    response = client.post(reverse("lab_contact_create", args=[proposal.pk]), {**CARD, "card_name": "Home lab"})

    assert response.status_code == 200
    html = response.content.decode()
    field = html[html.index('id="id_card_name"') :].split("</div>")[0]
    assert "already has a card called Home lab" in field
    assert LabContact.objects.filter(proposal=proposal).count() == 1


def test_member_edits_a_card(client, member, lab_contact):
    client.force_login(member)

    response = client.post(reverse("lab_contact_edit", args=[lab_contact.pk]), {**CARD, "telephone": "+1 555"})

    assert response.status_code == 302
    lab_contact.refresh_from_db()
    assert lab_contact.telephone == "+1 555" and lab_contact.card_name == "Bench 4"


def test_outsider_cannot_edit_the_card(client, outsider, lab_contact):
    client.force_login(outsider)
    assert client.post(reverse("lab_contact_edit", args=[lab_contact.pk]), CARD).status_code == 404
    lab_contact.refresh_from_db()
    assert lab_contact.card_name == "Home lab"
