"""Labels as PDF: every DataMatrix printed reads back as its code, the clear text is on the page, the facility's
sheet layout is obeyed and refused when it does not fit. Who may print what, bad parameters and the buttons:
``test_label_access.py``. The PDFs are read back by ``tests/shipping/label_pdfs.py``.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings
from django.urls import reverse

from samples.models import Sample
from shipping import labels
from shipping.checks import label_layouts
from shipping.choices import SafetyLevel
from shipping.pdf import REMOVE_OLD_LABELS, LabelLayoutError, SheetLayout
from shipping.selectors import shipment_detail
from tests import factories as f
from tests.shipping.label_pdfs import codes_on, get_labels, page_mm, pages, rasterise, text_of, tree

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils (pdftoppm) is not installed"),
]

# Pin symbols are sized for a pin cap (5.3 mm, 6.4 mm with the quiet zone): read back as a 300 dpi printer puts
# them on paper.
PIN_DPI = 300


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
