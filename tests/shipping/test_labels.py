"""Labels as PDF: every DataMatrix printed reads back as its code, the clear text is on the page, the
facility's sheet layout is obeyed and refused when it does not fit, and who may print what.

The PDFs are rasterised with pdftoppm and read with pdftotext (poppler-utils, installed by `make test`);
the codes are read back with the project's own decoder, ``lims.barcodes.decode.decode_pil``.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from lims.barcodes.codes import validate_location_code
from lims.barcodes.decode import decode_pil
from lims.choices import FacilityRole
from samples.models import Container, Sample
from shipping import labels
from shipping.checks import label_layouts
from shipping.choices import LocationKind, SafetyLevel
from shipping.pdf import REMOVE_OLD_LABELS, LabelLayoutError, SheetLayout, sample_changer_position_code
from shipping.selectors import shipment_detail
from shipping.services import shipment_cancel
from tests import factories as f
from tests.conftest import api_as
from tests.queries import count_queries

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils (pdftoppm) is not installed"),
]

# The lowest resolution at which every symbol reads, with margin: 14 mm pin symbols decode at 72 dpi already;
# 150 dpi leaves room for the 9.5 mm symbols of the Letter layout (2.7 pixels a module at 100 dpi is too few).
DPI = 150
# Pin symbols are sized for a pin cap (5.3 mm, 6.4 mm with the quiet zone): read back as a 300 dpi printer puts
# them on paper.
PIN_DPI = 300
KINDS = ("dewars", "pucks", "pins")


# --- reading a PDF back ------------------------------------------------------------------------------------


def rasterise(pdf: bytes, dpi: int = DPI, gray: bool = True) -> list[Image.Image]:
    """Every page of ``pdf`` as an image, as a printer would put it on paper."""
    assert pdf.startswith(b"%PDF-")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "labels.pdf"
        path.write_bytes(pdf)
        options = ["-gray"] if gray else []
        subprocess.run(["pdftoppm", "-r", str(dpi), *options, str(path), str(Path(tmp) / "page")], check=True)
        pages = sorted(Path(tmp).glob("page*"), key=lambda p: int(re.findall(r"\d+", p.stem)[-1]))
        return [Image.open(p).copy() for p in pages]


def codes_on(pdf: bytes, dpi: int = DPI) -> list[str]:
    """Every DataMatrix code read from the rasterised pages, once per page it is on."""
    # A page holds many codes: read at full size too (the decoder's quick pass settles a photo of one code).
    pages_ = rasterise(pdf, dpi)
    return [code.text for page in pages_ for code in decode_pil(page, fallback_budget_ms=0, expected=2)]


def text_of(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return result.stdout.decode()


def info(pdf: bytes) -> dict[str, str]:
    result = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    return dict(line.split(":", 1) for line in result.stdout.decode().splitlines() if ":" in line)


def pages(pdf: bytes) -> int:
    return int(info(pdf)["Pages"])


def page_mm(pdf: bytes) -> tuple[int, int]:
    """The first page's size in whole millimetres ("419.528 x 595.276 pts" → (148, 210))."""
    width, height = re.findall(r"[\d.]+", info(pdf)["Page size"])[:2]
    return round(float(width) * 25.4 / 72), round(float(height) * 25.4 / 72)


# --- the shipment to label -----------------------------------------------------------------------------------


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


def tree(shipment):
    dewars = list(shipment.dewars.all())
    containers = [c for d in dewars for c in d.containers.all()]
    samples = [s for c in containers for s in c.samples.all()]
    return dewars, containers, samples


def get_labels(user, shipment, kind, **params):
    return api_as(user).get(f"/api/v1/shipments/{shipment.pk}/labels/{kind}/", params)


# --- dewar labels ------------------------------------------------------------------------------------------


def test_dewar_labels_carry_every_dewar_barcode_readably_one_page_each(member, labelled):
    dewars, _, _ = tree(labelled)

    response = get_labels(member, labelled, "dewars")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="lab-dewar-labels.pdf"'
    assert pages(response.content) == 2
    found = codes_on(response.content)
    assert sorted(found) == sorted(d.barcode for d in dewars)
    assert all(d.barcode for d in dewars)


def test_the_dewar_label_says_where_it_goes_where_it_returns_and_what_is_in_it(member, labelled, settings):
    settings.FACILITY_NAME = "Test Light Source"
    settings.FACILITY_ADDRESS = "TLS Goods In\n7 Ring Road\n99999 Campus"
    dewars, containers, _ = tree(labelled)
    card = labelled.return_contact

    text = text_of(get_labels(member, labelled, "dewars", dewar=dewars[0].pk).content)

    for expected in [
        "Test Light Source",
        "TLS Goods In",
        "7 Ring Road",
        "99999 Campus",
        "Beamline ID23-1",
        card.name,
        card.lab_name,
        *card.address.splitlines(),
        card.telephone,
        card.email,
        labelled.proposal.name,
        "Shipment Lab",
        "Lab-D1",
        "Dewar 1 of 2",
        dewars[0].barcode,
        "SAFETY LEVEL",
        "YELLOW",
        REMOVE_OLD_LABELS,
        "Printed 20",
        # The pucks inside, by barcode; the puck of the other dewar is not on this label.
        "PK-0001",
        "PK-0002",
    ]:
        assert expected in text, expected
    assert "Dewar 2 of 2" not in text and "PK-0003" not in text


def test_a_puck_without_barcode_is_listed_on_its_dewar_label_by_name(member, labelled):
    dewars, _, _ = tree(labelled)

    text = text_of(get_labels(member, labelled, "dewars", dewar=dewars[1].pk).content)

    assert "Dewar 2 of 2" in text
    assert "PK-0003" in text and "Lab-D2-P2" in text


def test_one_dewar_on_a5(member, labelled):
    dewars, _, _ = tree(labelled)

    response = get_labels(member, labelled, "dewars", dewar=dewars[1].pk, page_size="a5")

    assert response.status_code == 200
    assert page_mm(response.content) == (148, 210)
    assert codes_on(response.content) == [dewars[1].barcode]
    assert response["Content-Disposition"] == 'attachment; filename="lab-lab-d2-dewar-labels.pdf"'


@pytest.mark.parametrize(
    ("level", "rgb"),
    [(SafetyLevel.GREEN, (46, 125, 51)), (SafetyLevel.YELLOW, (255, 204, 25)), (SafetyLevel.RED, (199, 31, 31))],
)
def test_the_safety_level_is_printed_in_its_colour(member, labelled, level, rgb):
    labelled.safety_level = level
    labelled.save(update_fields=["safety_level"])
    dewars, _, _ = tree(labelled)

    pdf = get_labels(member, labelled, "dewars", dewar=dewars[0].pk).content

    (page,) = rasterise(pdf, dpi=30, gray=False)
    close = sum(
        1
        for pixel in page.convert("RGB").get_flattened_data()
        if all(abs(a - b) < 20 for a, b in zip(pixel, rgb, strict=True))
    )
    assert close > 0.025 * page.width * page.height  # the safety box is 3.6 % of the page, less its words
    assert level.label.split()[0].upper() in text_of(pdf)


def test_a_shipment_without_return_card_says_so_on_the_label(member, proposal):
    shipment = f.shipment_tree(proposal=proposal, user=member, name="Bare", return_contact=None, sending_contact=None)
    shipment = shipment_detail(member).get(pk=shipment.pk)

    text = text_of(labels.shipment_labels(shipment, "dewars", {}).content)

    assert "No return address" in text
    assert "no delivery location chosen" in text


def test_letters_beyond_western_europe_print_as_letters(member, proposal):
    from lims.pdf import BOLD, _unicode_font

    if _unicode_font(BOLD) is None:
        pytest.skip("no DejaVu fonts (fonts-dejavu-core): such letters print as boxes")
    card = f.LabContactFactory(
        proposal=proposal, name="Łukasz Żółć", lab_name="Ινστιτούτο", address="ul. Łódzka 1\nKraków"
    )
    shipment = f.shipment_tree(proposal=proposal, user=member, name="Uni", return_contact=card)
    shipment = shipment_detail(member).get(pk=shipment.pk)

    text = text_of(labels.shipment_labels(shipment, "dewars", {}).content)

    for expected in ("Łukasz Żółć", "Ινστιτούτο", "ul. Łódzka 1"):
        assert expected in text


# --- puck labels -------------------------------------------------------------------------------------------


def test_puck_labels_read_back_and_name_the_puck_without_barcode(member, labelled):
    _, containers, _ = tree(labelled)

    response = get_labels(member, labelled, "pucks")

    assert response.status_code == 200
    found = codes_on(response.content)
    assert sorted(found) == sorted(c.barcode for c in containers if c.barcode)
    assert len(found) == 3
    text = text_of(response.content)
    for container in containers:
        assert container.name in text
    assert "PK-0001" in text and "NO BARCODE" in text
    assert "No barcode registered" in text and "Lab-D2-P2 (dewar Lab-D2)" in text
    assert f"Proposal {labelled.proposal.name}" in text and "Shipment Lab" in text and "Dewar Lab-D1" in text


def test_the_puck_label_of_one_puck(member, labelled):
    _, containers, _ = tree(labelled)

    response = get_labels(member, labelled, "pucks", container=containers[1].pk)

    assert codes_on(response.content) == [containers[1].barcode]
    assert "No barcode registered" not in text_of(response.content)


# --- pin labels --------------------------------------------------------------------------------------------


def test_pin_labels_of_a_shipment_read_back_and_list_the_pin_without_code(member, labelled):
    _, _, samples = tree(labelled)

    response = get_labels(member, labelled, "pins")

    found = codes_on(response.content, PIN_DPI)
    expected = [s.pin_code for s in samples if s.pin_code]
    assert len(expected) == 15
    assert sorted(found) == sorted(expected)
    text = text_of(response.content)
    for code in expected:
        assert code in text
    assert "no pin code" in text and "Lab-D1-P2: position 3" in text
    assert "Lab-0-0-0" in text  # the sample's name, shown by default


def test_pin_labels_of_one_puck(member, labelled):
    _, containers, _ = tree(labelled)
    puck = containers[2]

    response = get_labels(member, labelled, "pins", container=puck.pk)

    assert sorted(codes_on(response.content, PIN_DPI)) == sorted(s.pin_code for s in puck.samples.all())
    assert "no pin code" not in text_of(response.content)


def test_pin_labels_of_one_dewar_on_the_page(client, member, labelled):
    dewars, _, _ = tree(labelled)
    client.force_login(member)

    response = client.get(reverse("shipping:labels", args=[labelled.pk, "pins"]), {"dewar": dewars[1].pk})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'inline; filename="lab-lab-d2-pin-labels.pdf"'
    expected = [s.pin_code for c in dewars[1].containers.all() for s in c.samples.all()]
    assert sorted(codes_on(response.content, PIN_DPI)) == sorted(expected)


def test_a_full_shipment_sheet_of_256_pins_reads_back(member, proposal):
    """The bench's shipment (4 dewars × 4 pucks × 16 pins): every one of 256 labels, over 4 pages."""
    shipment = f.shipment_tree(proposal=proposal, user=member, dewars=4, pucks=4, samples=16, name="Full")
    for n, sample in enumerate(Sample.objects.filter(container__shipment=shipment).order_by("id")):
        Sample.objects.filter(pk=sample.pk).update(pin_code=f"FS{n:08d}")
    shipment = shipment_detail(member).get(pk=shipment.pk)

    pdf = labels.shipment_labels(shipment, "pins", {}).content

    found = codes_on(pdf, PIN_DPI)
    assert len(found) == 256
    assert set(found) == {f"FS{n:08d}" for n in range(256)}
    assert pages(pdf) == 4  # 65 a page on Avery L7651


# --- layout ------------------------------------------------------------------------------------------------


def test_the_layout_settings_decide_how_many_labels_a_page_holds(labelled):
    assert pages(labels.shipment_labels(labelled, "pins", {}).content) == 1

    with override_settings(PIN_LABEL_COLUMNS=2, PIN_LABEL_ROWS=3):
        pdf = labels.shipment_labels(labelled, "pins", {}).content
    assert pages(pdf) == 3  # 15 labels, 6 a page
    assert len(codes_on(pdf, PIN_DPI)) == 15

    with override_settings(PUCK_LABEL_COLUMNS=1, PUCK_LABEL_ROWS=1):
        assert pages(labels.shipment_labels(labelled, "pucks", {}).content) == 4


def test_labels_go_where_the_sheet_has_them():
    layout = SheetLayout("PIN", "A4", 38.1, 21.2, 5, 13, 4.75, 10.7, 2.5, 0, 14)
    mm = 72 / 25.4

    assert layout.per_page == 65
    assert layout.origin(0) == pytest.approx((4.75 * mm, (297 - 10.7 - 21.2) * mm))
    assert layout.origin(64) == pytest.approx(((4.75 + 4 * 40.6) * mm, (297 - 10.7 - 13 * 21.2) * mm))
    assert layout.origin(65) == layout.origin(0)  # the next page


@override_settings(PIN_LABEL_WIDTH_MM=16, PIN_LABEL_HEIGHT_MM=20, PIN_DATAMATRIX_MM=11, PIN_LABEL_COLUMNS=10)
def test_narrow_labels_print_the_code_under_its_symbol(labelled):
    layout = SheetLayout.from_settings("PIN")
    assert layout.text_place() == "below"

    pdf = labels.shipment_labels(labelled, "pins", {}).content

    assert len(codes_on(pdf)) == 15
    assert "LB00000001" in text_of(pdf)


@override_settings(
    LABEL_PAGE_SIZE="Letter",
    PIN_LABEL_WIDTH_MM=44.45,
    PIN_LABEL_HEIGHT_MM=12.7,
    PIN_LABEL_COLUMNS=4,
    PIN_LABEL_ROWS=20,
    PIN_LABEL_MARGIN_LEFT_MM=7.14,
    PIN_LABEL_MARGIN_TOP_MM=12.7,
    PIN_LABEL_GAP_X_MM=7.94,
    PIN_LABEL_GAP_Y_MM=0,
    PIN_DATAMATRIX_MM=9.5,
)
def test_the_letter_default_for_pins_avery_5167_fits_and_reads_back(labelled):
    pdf = labels.shipment_labels(labelled, "pins", {}).content

    assert page_mm(pdf) == (216, 279)
    assert len(set(codes_on(pdf))) == 15


def test_the_default_pin_symbol_fits_a_pin_cap_and_reads_back_at_300_dpi(labelled, settings):
    """A SPINE/UniPuck cap's base holds about a 6.4 mm square: the symbol with its quiet zone stays within it."""
    from lims.label_stocks import PIN_CAP_SQUARE_MM
    from shipping.pdf.layout import QUIET_ZONE

    assert settings.PIN_DATAMATRIX_MM * (1 + QUIET_ZONE) <= PIN_CAP_SQUARE_MM
    pdf = labels.shipment_labels(labelled, "pins", {}).content
    assert len(set(codes_on(pdf, 300))) == 15


def _settings_with(**env) -> dict:
    """The label settings a fresh process computes from these environment variables."""
    script = (
        "import json, django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(json.dumps({k: getattr(s, k) for k in dir(s) if 'LABEL' in k or 'DATAMATRIX' in k}))"
    )
    environment = {k: v for k, v in os.environ.items() if "LABEL" not in k and "DATAMATRIX" not in k} | env
    done = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout)


def test_named_label_stocks_set_the_sheet_and_single_settings_still_override():
    letter = _settings_with(LABEL_PAGE_SIZE="Letter")
    assert (letter["LABEL_STOCK"], letter["PIN_LABEL_COLUMNS"], letter["PIN_LABEL_ROWS"]) == ("avery-5167", 4, 20)
    assert (letter["PUCK_LABEL_STOCK"], letter["PUCK_LABEL_WIDTH_MM"]) == ("avery-5160", 66.68)
    puck_stock = _settings_with(PUCK_LABEL_STOCK="avery-l7160", LABEL_STOCK="avery-l7651", PIN_LABEL_ROWS="12")
    assert (puck_stock["PIN_LABEL_WIDTH_MM"], puck_stock["PIN_LABEL_ROWS"]) == (38.1, 12)
    assert (puck_stock["PUCK_LABEL_COLUMNS"], puck_stock["PUCK_DATAMATRIX_MM"]) == (3, 24)
    unknown = _settings_with(LABEL_STOCK="avery-9999")
    assert "LABEL_STOCK='avery-9999' is no label stock this LIMS knows: use one of avery-5160" in unknown["error"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"PIN_LABEL_COLUMNS": 6}, "6 columns of 38.1 mm with 2.5 mm gaps from 4.75 mm need 245.9 mm, wider than"),
        ({"PUCK_LABEL_ROWS": 8}, "Puck labels: 8 rows of 38.1 mm"),
        ({"PIN_LABEL_MARGIN_TOP_MM": 25}, "taller than the A4 page (297.0 mm); change PIN_LABEL_ROWS"),
        ({"PIN_DATAMATRIX_MM": 20}, "PIN_DATAMATRIX_MM is 20 mm: with its quiet zone (24.0 mm) it does not fit"),
        ({"PIN_DATAMATRIX_MM": 3}, "smaller than 5 mm"),
        ({"PIN_LABEL_WIDTH_MM": 20, "PIN_LABEL_HEIGHT_MM": 17, "PIN_DATAMATRIX_MM": 14}, "leave no room for the code"),
        ({"PUCK_LABEL_GAP_X_MM": -1}, "PUCK_LABEL_GAP_X_MM cannot be negative"),
        ({"PIN_LABEL_ROWS": 0}, "PIN_LABEL_ROWS must be more than 0"),
        ({"PIN_LABEL_WIDTH_MM": "wide"}, "PIN_LABEL_WIDTH_MM must be a number, not 'wide'"),
        ({"LABEL_PAGE_SIZE": "B5"}, "LABEL_PAGE_SIZE must be A4 or Letter, not 'B5'"),
    ],
)
def test_a_layout_that_does_not_fit_is_refused_at_startup_and_when_printing(labelled, overrides, message):
    assert label_layouts(None) == []

    with override_settings(**overrides):
        errors = label_layouts(None)
        with pytest.raises(LabelLayoutError) as raised:
            for kind in ("pins", "pucks"):
                labels.shipment_labels(labelled, kind, {})

    assert [e.id for e in errors] == ["shipping.E001"]
    assert message in errors[0].msg
    assert message in raised.value.message


@override_settings(PIN_LABEL_COLUMNS=6)
def test_a_layout_that_does_not_fit_is_a_clear_message_on_the_page_and_in_the_api(client, member, labelled):
    response = get_labels(member, labelled, "pins")

    assert response.status_code == 500
    assert response.json()["code"] == "label_layout"
    assert "PIN_LABEL_COLUMNS" in response.json()["detail"]

    client.force_login(member)
    response = client.get(reverse("shipping:labels", args=[labelled.pk, "pins"]))
    assert response.status_code == 302 and response.url == reverse("shipping:detail", args=[labelled.pk])
    assert "PIN_LABEL_COLUMNS" in str(next(iter(get_messages(response.wsgi_request))))


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
