"""The transport history PDF of a shipment: what it prints (read back with pdftotext), its pages, who may
download it (page and API), and that drawing it asks nothing of the database."""

import re
import shutil

import pytest
from django.urls import reverse

from lims.choices import FacilityRole
from shipping import labels, services
from shipping.choices import LocationKind
from shipping.pdf.transport import INCIDENT_BACKGROUND, render_transport_history, transport_history
from shipping.selectors import shipment_detail
from shipping.services.dewars import dewar_dispatch, dewar_incident, dewar_move, dewar_note, dewar_receive
from tests import factories as f
from tests.conftest import api_as
from tests.queries import count_queries
from tests.shipping.label_pdfs import pages, rasterise, text_of

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) is not installed"),
]


def flat(pdf: bytes) -> str:
    """The PDF's text with runs of spaces as one: table columns do not split the words we look for."""
    return re.sub(r"[ \t]+", " ", text_of(pdf))


@pytest.fixture
def stores_location(db):
    return f.LocationFactory(name="MX stores", kind=LocationKind.STORES)


@pytest.fixture
def beamline_location(db):
    return f.LocationFactory(name="ID23-1 hutch", kind=LocationKind.BEAMLINE)


@pytest.fixture
def travelled(proposal, member, stores, stores_location, beamline_location):
    """Alice's shipment of two dewars that went the whole way: sent, received, moved, noted, damaged, sent back."""
    for user, first, last in ((stores, "Sam", "Storekeeper"), (member, "Alice", "Member")):
        user.first_name, user.last_name = first, last
        user.save()
    shipment = f.shipment_tree(proposal=proposal, user=member, dewars=2, name="Travel-1")
    first, second = shipment.dewars.order_by("id")
    first.courier_to_facility, first.tracking_to_facility = "FedEx", "FX-778899"
    first.save()
    services.shipment_send(shipment=shipment, user=member)
    for dewar in (first, second):
        dewar_receive(dewar=dewar, user=stores)
    dewar_move(dewar=first, user=stores, location=beamline_location)
    dewar_note(dewar=first, user=stores, note="LN2 topped up")
    dewar_incident(dewar=second, user=stores, incident="damaged", note="Lid cracked")
    dewar_dispatch(dewar=first, user=stores, courier="DHL", tracking_number="JD0123456789")
    return shipment


def history_pdf(user, shipment) -> bytes:
    return labels.transport_history_file(shipment_detail(user).get(pk=shipment.pk)).content


def test_it_prints_the_shipment_and_proposal_header(member, travelled):
    text = flat(history_pdf(member, travelled))
    header = text.split("Dewar Travel-1-D1")[0]

    assert "Transport history of shipment Travel-1 (mx2345)" in header
    assert "mx2345 · Alice's kinases" in header
    assert "Status At facility" in header  # one dewar is on its way home, the other still here
    assert re.search(r"Sending date \d{4}-\d\d-\d\d \d\d:\d\d", text)
    contact = travelled.sending_contact
    assert contact.name in text and contact.lab_name in text
    assert re.search(r"Printed \d{4}-\d\d-\d\d \d\d:\d\d \(Europe/Paris\)", text)
    assert "page 1 of 1" in text


def test_it_prints_every_step_of_every_dewar(member, stores, travelled):
    pdf = history_pdf(member, travelled)
    text = flat(pdf)

    # 2 × (sent, received), then moved, noted, damaged, dispatched.
    assert sum(d.events.count() for d in travelled.dewars.all()) == 8
    for dewar in travelled.dewars.all():
        assert f"Dewar {dewar.name} · {dewar.barcode}" in text
    for status in ("In transit to facility", "At facility", "At beamline /", "In transit to user"):
        assert status in text
    assert text.count("Shipment marked as sent") == 2  # the note of the first step
    assert "MX stores" in text and "ID23-1 hutch" in text
    # Who did each step, by name: Alice sent both dewars, the stores did the rest.
    assert text.count("Alice Member") == 2
    assert text.count("Sam Storekeeper") == 6
    assert "LN2 topped up" in text
    assert text.count("INCIDENT ·") == 1 and "Damaged: Lid cracked" in text
    # Couriers and tracking numbers both ways, the tracking pages printed in full.
    assert "DHL JD0123456789" in text and "FedEx FX-778899" in text
    assert "https://www.dhl.com/en/express/tracking.html?AWB=JD0123456789" in text
    assert "https://www.fedex.com/fedextrack/?trknbr=FX-778899" in text


def incident_pixels(pdf: bytes) -> int:
    """How many pixels of the first page have the incident's background colour."""
    page = rasterise(pdf, dpi=50, gray=False)[0].convert("RGB")
    wanted = tuple(round(c * 255) for c in INCIDENT_BACKGROUND.rgb())
    return sum(
        n for n, rgb in page.getcolors(1 << 20) if all(abs(a - b) <= 3 for a, b in zip(rgb, wanted, strict=True))
    )


def test_an_incident_is_highlighted(member, travelled):
    assert incident_pixels(history_pdf(member, travelled)) > 500


def test_a_history_without_incident_has_no_highlight(member, shipment):
    services.shipment_send(shipment=shipment, user=member)
    assert incident_pixels(history_pdf(member, shipment)) == 0


def test_many_steps_run_over_several_numbered_pages(member, stores, shipment, stores_location):
    services.shipment_send(shipment=shipment, user=member)
    dewar = shipment.dewars.get()
    dewar_receive(dewar=dewar, user=stores)
    for n in range(90):
        dewar_note(dewar=dewar, user=stores, note=f"Check {n:03d}")
    pdf = history_pdf(member, shipment)
    text = flat(pdf)

    count = pages(pdf)
    assert count >= 2
    for number in range(1, count + 1):
        assert f"page {number} of {count}" in text
    assert all(f"Check {n:03d}" in text for n in range(90))
    # The column headings are repeated at the top of every page the table runs over.
    assert text.count("Courier / tracking") == count


def test_letters_beyond_latin_1_and_markup_characters_print_as_typed(member, stores, shipment, stores_location):
    contact = shipment.sending_contact
    contact.lab_name = "Lab <A&B>"
    contact.save()
    services.shipment_send(shipment=shipment, user=member)
    dewar_receive(dewar=shipment.dewars.get(), user=stores)
    dewar_note(dewar=shipment.dewars.get(), user=stores, note="Customs <opened> & resealed")
    text = flat(history_pdf(member, shipment))

    assert "Lab <A&B>" in text
    assert "Customs <opened> & resealed" in text


def test_it_is_drawn_without_a_single_query(member, travelled):
    shipment = shipment_detail(member).get(pk=travelled.pk)
    with count_queries() as queries:
        pdf = render_transport_history(transport_history(shipment))
    assert len(queries) == 0, queries.captured_queries
    assert pdf.startswith(b"%PDF-")


def test_a_shipment_without_events_says_so(member, shipment):
    text = flat(history_pdf(member, shipment))
    assert "No transport events yet." in text
    assert "page 1 of 1" in text


# --- who may download it ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"), [("member", 200), ("outsider", 404), ("stores", 200), ("admin_user", 200)]
)
def test_the_page_serves_it_to_the_proposal_and_to_staff(request, client, travelled, persona, expected):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("shipping:transport_pdf", args=[travelled.pk]))

    assert response.status_code == expected
    if expected == 200:
        assert response["Content-Type"] == "application/pdf"
        assert 'filename="mx2345-travel-1-transport-history.pdf"' in response["Content-Disposition"]
        assert "Travel-1" in flat(response.content)


def test_anonymous_is_sent_to_sign_in(client, travelled):
    response = client.get(reverse("shipping:transport_pdf", args=[travelled.pk]))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_an_unknown_shipment_is_a_404(client, member):
    client.force_login(member)
    assert client.get(reverse("shipping:transport_pdf", args=[987654])).status_code == 404


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("member", 200), ("outsider", 404), ("stores", 200), ("admin_user", 200), ("anonymous", 401)],
)
def test_the_api_serves_it_as_a_download(request, travelled, persona, expected):
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    response = api_as(user).get(f"/api/v1/shipments/{travelled.pk}/transport-history/")

    assert response.status_code == expected
    if expected == 200:
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == 'attachment; filename="mx2345-travel-1-transport-history.pdf"'
        assert "JD0123456789" in flat(response.content)
    else:
        assert response.json()["code"] in ("not_found", "not_authenticated")


def test_the_api_answers_a_bad_id_with_a_404(member):
    response = api_as(member).get("/api/v1/shipments/not-a-number/transport-history/")
    assert response.status_code == 404


def test_beamline_staff_and_local_contacts_may_download_it(travelled):
    for role in (FacilityRole.BEAMLINE_STAFF, FacilityRole.LOCAL_CONTACT):
        user = f.UserFactory(groups=[role])
        assert api_as(user).get(f"/api/v1/shipments/{travelled.pk}/transport-history/").status_code == 200


def test_the_shipment_page_offers_it(client, member, travelled):
    client.force_login(member)
    response = client.get(reverse("shipping:detail", args=[travelled.pk]))
    assert reverse("shipping:transport_pdf", args=[travelled.pk]) in response.content.decode()
