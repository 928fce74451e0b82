"""Names refuse characters that hide or disguise what they say: control characters, zero-width characters
and text-direction (bidi) overrides and isolates, on every surface (model, REST API, sample sheet, forms)."""

import pytest
from django.core.exceptions import ValidationError

from lims.validators import validate_name
from shipping.sheets import SheetError, import_sheet
from tests import factories as f
from tests.conftest import api_as
from tests.lims.test_api import CARD
from tests.shipping.test_api import payload, post
from tests.shipping.test_sheets import csv_file, row

HIDDEN = [
    "\x07",
    "\n",
    "\x7f",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u202a",
    "\u202e",
    "\u2066",
    "\u2069",
]


@pytest.mark.parametrize("char", HIDDEN)
def test_the_validator_refuses_each_hidden_character(char):
    with pytest.raises(ValidationError) as exc:
        validate_name(f"Lys{char}1")
    assert f"U+{ord(char):04X}" in exc.value.messages[0]


def test_the_validator_keeps_ordinary_names():
    for name in ("Kinases-1", "Lysozyme Ünïcode ĳ", "Dewar A (blue)", "蛋白"):
        validate_name(name)


@pytest.mark.django_db
@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\x07"])
@pytest.mark.parametrize(
    "where",
    # Puck and pin names already had a letters-and-digits pattern; free-text names had nothing.
    ["name", "dewars.0.name"],
)
def test_the_api_refuses_them_in_shipment_names(proposal, member, lab_contact, char, where):
    data = payload(proposal, lab_contact)
    target = data
    *path, last = where.split(".")
    for key in path:
        target = target[int(key)] if key.isdigit() else target[key]
    target[last] = f"Lys{char}1"
    response = post(api_as(member), data)
    assert response.status_code == 400, response.json()
    assert where in response.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["card_name", "name", "lab_name"])
def test_the_api_refuses_them_in_lab_contact_cards(proposal, member, field):
    response = api_as(member).post(
        "/api/v1/lab-contacts/", {"proposal": proposal.pk, **CARD, field: "Lab\u202eA"}, format="json"
    )
    assert response.status_code == 400 and field in response.json()["errors"]


@pytest.mark.django_db
def test_a_trailing_newline_no_longer_slips_through_the_sample_name_pattern(proposal):
    # RegexValidator's "$" matches before a final newline: the pattern alone let "LYS\n" through.
    protein = f.ProteinFactory(proposal=proposal)
    protein.acronym = "LYS\n"
    with pytest.raises(ValidationError):
        protein.full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["dewar"])  # the other name columns have the sample-name pattern
def test_a_sample_sheet_refuses_them(proposal, member, column):
    draft = f.ShipmentFactory(proposal=proposal, name="Empty")
    with pytest.raises(SheetError):
        import_sheet(shipment=draft, user=member, uploaded_file=csv_file([row(**{column: "Lys\u202e1"})]))
    assert not draft.dewars.exists()
