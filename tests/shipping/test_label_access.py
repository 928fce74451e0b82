"""Label sheets of places, and who may print which labels: location and sample-changer sheets for staff, a
shipment's labels in any status for those who see it; bad parameters are a 400 that names them; labels are drawn
from the fetched tree without a query; where the buttons are. The PDFs are read back by ``label_pdfs.py``.
"""

import shutil

import pytest
from django.urls import reverse

from lims.barcodes.codes import validate_location_code
from lims.choices import FacilityRole
from samples.models import Container
from shipping import labels
from shipping.choices import LocationKind
from shipping.pdf import sample_changer_position_code
from shipping.services import shipment_cancel
from tests import factories as f
from tests.conftest import api_as
from tests.queries import count_queries
from tests.shipping.label_pdfs import codes_on, get_labels, text_of, tree

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils (pdftoppm) is not installed"),
]

KINDS = ("dewars", "pucks", "pins")


# --- location sheets ---------------------------------------------------------------------------------------


@pytest.fixture
def facility(db, delivery):
    """Locations and two beamlines: an ISARA-like changer of 4 positions and a FlexHCD of 2 cells × 3."""
    f.LocationFactory(name="Stores shelf A", kind=LocationKind.STORES, barcode="LOC-SHELF-A")
    f.LocationFactory(name="Shelf without code", kind=LocationKind.STORES, barcode=None)
    f.LocationFactory(name="Old shelf", kind=LocationKind.STORES, barcode="LOC-OLD", active=False)
    f.BeamlineFactory(name="ID23-1", puck_positions=4)
    f.BeamlineFactory(name="ID30B", sample_changer_model="FlexHCD", puck_positions=6, positions_per_cell=3)
    f.BeamlineFactory(name="Closed", puck_positions=2, active=False)


def test_location_sheets_carry_every_location_and_changer_position(stores, facility):
    response = api_as(stores).get("/api/v1/locations/labels/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="location-barcodes.pdf"'
    found = codes_on(response.content)
    expected = ["LOC-ID23-1", "LOC-SHELF-A"]
    expected += [f"ID23-1-SC-{n}" for n in range(1, 5)]
    expected += [f"ID30B-SC-{cell}-{puck}" for cell in (1, 2) for puck in (1, 2, 3)]
    assert sorted(found) == sorted(expected)
    text = text_of(response.content)
    for code in expected:
        assert code in text
    assert "Stores shelf A" in text and "ID30B position 2:3" in text and "cell 2 puck 3" in text
    assert "No barcode, not printed: Shelf without code" in text
    assert "LOC-OLD" not in text and "Closed" not in text


def test_sample_changer_codes_are_location_codes():
    for code in [
        sample_changer_position_code("ID23-1", 29),
        sample_changer_position_code("id30b", 24, 3),
        sample_changer_position_code("P11 (DESY)", 1),
    ]:
        assert validate_location_code(code) == code
    assert sample_changer_position_code("id30b", 24, 3) == "ID30B-SC-8-3"
    assert sample_changer_position_code("P11 (DESY)", 1) == "P11-DESY-SC-1"


# --- access ------------------------------------------------------------------------------------------------

# What each persona gets on the labels of Alice's shipment: another proposal's member a 404 (never a 403
# that would confirm the shipment exists); facility staff print any proposal's labels.
SHIPMENT_LABELS = {"member": 200, "outsider": 404, "stores": 200, "beamline_staff": 200, "admin_user": 200}
# Location sheets are facility facts, not a proposal's: a signed-in user without the role is refused (403).
LOCATION_LABELS = {"member": 403, "outsider": 403, "stores": 200, "beamline_staff": 200, "admin_user": 200}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("persona", sorted(SHIPMENT_LABELS))
def test_who_may_print_a_shipments_labels(client, request, labelled, persona, kind):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    page = client.get(reverse("shipping:labels", args=[labelled.pk, kind]))
    api = get_labels(user, labelled, kind)

    assert page.status_code == SHIPMENT_LABELS[persona]
    assert api.status_code == SHIPMENT_LABELS[persona]
    if api.status_code == 404:
        assert api.json()["code"] == "not_found"


@pytest.mark.parametrize("kind", KINDS)
def test_anonymous_may_not_print_labels(client, labelled, kind):
    url = reverse("shipping:labels", args=[labelled.pk, kind])

    response = client.get(url)

    assert response.status_code == 302 and response.url == f"{reverse('login')}?next={url}"
    api = get_labels(None, labelled, kind)
    assert api.status_code == 401 and api.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("persona", sorted(LOCATION_LABELS))
def test_who_may_print_location_sheets(client, request, facility, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    page = client.get(reverse("shipping:location_labels"))
    api = api_as(user).get("/api/v1/locations/labels/")

    assert page.status_code == LOCATION_LABELS[persona]
    assert api.status_code == LOCATION_LABELS[persona]
    if api.status_code == 403:
        assert api.json()["code"] == "permission_denied"
    else:
        assert page["Content-Type"] == api["Content-Type"] == "application/pdf"


def test_location_sheets_refuse_anonymous_and_other_facility_roles(client, facility):
    url = reverse("shipping:location_labels")
    assert client.get(url).status_code == 302
    assert api_as(None).get("/api/v1/locations/labels/").status_code == 401
    for role in (FacilityRole.LOCAL_CONTACT, FacilityRole.MAILIN_OPERATOR):
        user = f.UserFactory(username=role.replace(" ", "-"), groups=[role])
        assert api_as(user).get("/api/v1/locations/labels/").status_code == 403


def test_labels_print_in_any_status(member, labelled):
    shipment_cancel(shipment=labelled, user=member)

    for kind in KINDS:
        assert get_labels(member, labelled, kind).status_code == 200


# --- bad parameters ----------------------------------------------------------------------------------------


@pytest.fixture
def elsewhere(outsider, other_proposal):
    """Another proposal's shipment: its dewar and puck ids must not be accepted on Alice's shipment."""
    return f.shipment_tree(proposal=other_proposal, user=outsider, samples=1, name="Theirs")


def bad_parameters(elsewhere):
    dewar = elsewhere.dewars.get()
    container = Container.objects.get(shipment=elsewhere)
    return [
        ("dewars", {"dewar": "abc"}, "dewar"),
        ("dewars", {"dewar": "1.5"}, "dewar"),
        ("dewars", {"dewar": str(dewar.pk)}, "dewar"),
        ("dewars", {"dewar": "999999"}, "dewar"),
        ("dewars", {"page_size": "B5"}, "page_size"),
        ("dewars", {"page_size": "A4\x00"}, "page_size"),
        ("pucks", {"container": "x"}, "container"),
        ("pucks", {"container": str(container.pk)}, "container"),
        ("pins", {"container": "-1"}, "container"),
        ("pins", {"dewar": "99999999999999999999999"}, "dewar"),
    ]


def test_bad_parameters_are_a_400_that_names_them(client, member, labelled, elsewhere):
    client.force_login(member)
    for kind, params, field in bad_parameters(elsewhere):
        api = get_labels(member, labelled, kind, **params)
        page = client.get(reverse("shipping:labels", args=[labelled.pk, kind]), params)

        assert api.status_code == 400, (kind, params)
        assert api.json()["code"] == "invalid" and field in api.json()["errors"]
        assert page.status_code == 400, (kind, params)
        assert page.content.decode().startswith(f"{field}: ")


def test_another_proposals_dewar_reads_as_no_dewar_at_all(member, labelled, elsewhere):
    theirs = get_labels(member, labelled, "dewars", dewar=elsewhere.dewars.get().pk).json()["errors"]["dewar"][0]
    nothing = get_labels(member, labelled, "dewars", dewar=999999).json()["errors"]["dewar"][0]

    assert theirs.replace(str(elsewhere.dewars.get().pk), "N") == nothing.replace("999999", "N")


def test_unknown_label_kinds_and_empty_parameters(client, member, labelled):
    client.force_login(member)

    assert client.get(reverse("shipping:labels", args=[labelled.pk, "crates"])).status_code == 404
    assert get_labels(member, labelled, "crates").status_code == 404
    assert get_labels(member, labelled, "dewars", dewar="", page_size="").status_code == 200
    assert api_as(member).get(f"/api/v1/shipments/{labelled.pk}/labels/pins/", {"format": "pdf"}).status_code == 200


# --- no queries while drawing ------------------------------------------------------------------------------


def test_labels_render_from_the_fetched_tree_without_a_query(labelled):
    dewars, containers, _ = tree(labelled)

    with count_queries() as queries:
        for kind in KINDS:
            labels.shipment_labels(labelled, kind, {})
        labels.shipment_labels(labelled, "pins", {"dewar": str(dewars[0].pk), "container": str(containers[0].pk)})
    assert len(queries) == 0, queries.captured_queries


# --- where the buttons are ---------------------------------------------------------------------------------


def test_the_shipment_page_has_the_label_buttons(client, member, labelled):
    dewars, containers, _ = tree(labelled)
    client.force_login(member)

    html = client.get(reverse("shipping:detail", args=[labelled.pk])).content.decode()

    for kind, label in (("dewars", "Dewar labels"), ("pucks", "Puck labels"), ("pins", "Pin labels")):
        url = reverse("shipping:labels", args=[labelled.pk, kind])
        assert f'href="{url}"' in html and label in html
        assert f'href="{url}?dewar={dewars[1].pk}"' in html
    assert f'href="{reverse("shipping:labels", args=[labelled.pk, "dewars"])}?page_size=A5"' in html
    assert f'href="{reverse("shipping:labels", args=[labelled.pk, "pins"])}?container={containers[3].pk}"' in html


@pytest.mark.parametrize(("persona", "shown"), [("member", False), ("stores", True), ("beamline_staff", True)])
def test_the_dashboard_links_location_sheets_for_staff(client, request, persona, shown):
    client.force_login(request.getfixturevalue(persona))

    html = client.get(reverse("dashboard")).content.decode()

    assert (reverse("shipping:location_labels") in html) is shown
