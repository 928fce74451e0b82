"""Space groups and cells: every spelling users write maps to one of the 230 groups (gemmi's own table is the
ground truth here, by group number), a non-group is refused beside the field, a cell is all six values or
none, and the same rule holds in the form, the native API and the sample sheet (one service), and for the
rows stored before (the migration)."""

import gemmi
import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from lims.crystals import cell_errors, space_group
from samples.models import Sample
from shipping.sheets import import_sheet
from tests import factories as f
from tests.conftest import api_as
from tests.shipping.test_sheets import csv_file, row
from tests.shipping.test_views import cell, filled_create_form

SPELLINGS = [
    ("P 21 21 21", 19),
    ("P212121", 19),
    ("P2(1)2(1)2(1)", 19),
    ("p212121", 19),
    ("I4(1)22", 98),
    ("I 41 2 2", 98),
    ("P 1", 1),
    ("P1", 1),
    ("p21", 4),
    ("P 1 21 1", 4),
    ("C2", 5),
    ("C 1 2 1", 5),
    ("P6(5)22", 179),
    ("P 43 21 2", 96),
    ("R3", 146),
    ("H3", 146),
    ("I 41/a", 88),
    ("96", 96),
]


@pytest.mark.parametrize(("written", "number"), SPELLINGS)
def test_every_spelling_is_one_standard_symbol_of_its_group(written, number):
    stored = space_group(written)
    assert gemmi.find_spacegroup_by_name(stored).number == number
    # One symbol per group: every spelling of a group gives the same one.
    assert stored == space_group(gemmi.find_spacegroup_by_number(number).hm)


@pytest.mark.parametrize("written", ["P99", "banana", "P 2 2", "I 21 21 21 21", "231", "0", "P" * 40])
def test_a_non_group_is_refused(written):
    with pytest.raises(ValidationError, match="none of the 230 space groups"):
        space_group(written)


def test_a_cell_is_all_six_values_or_none():
    assert cell_errors({}) == {}
    whole = {"cell_a": 79.1, "cell_b": 79.1, "cell_c": 37.9, "cell_alpha": 90, "cell_beta": 90, "cell_gamma": 90}
    assert cell_errors(whole) == {}
    assert set(cell_errors({"cell_a": 79.1})) == {"cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma"}


def test_the_form_normalises_and_refuses_beside_the_field(client, member, proposal, lab_contact):
    client.force_login(member)
    samples = [
        {"name": "s-1", "protein_acronym": "LYS", "space_group": "P2(1)2(1)2(1)"},
        {"name": "s-2", "protein_acronym": "LYS", "space_group": "P99"},
        {"name": "s-3", "protein_acronym": "LYS", "cell_a": "79.1", "cell_gamma": "180"},
    ]
    response = client.post(
        reverse("shipping:create", args=[proposal.pk]), filled_create_form(client, proposal, samples=samples)
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "none of the 230 space groups" in cell(html, "d-0-c-0-s-2-space_group")
    assert "between 0° and 180°" in cell(html, "d-0-c-0-s-3-cell_gamma")
    assert "all six values" in cell(html, "d-0-c-0-s-3-cell_b")
    assert not Sample.objects.exists()  # nothing half-saved

    ok = [samples[0], {"name": "s-2", "protein_acronym": "LYS", "space_group": "p21"}]
    response = client.post(
        reverse("shipping:create", args=[proposal.pk]), filled_create_form(client, proposal, samples=ok)
    )
    assert response.status_code == 302
    assert dict(Sample.objects.values_list("name", "space_group")) == {"s-1": "P212121", "s-2": "P21"}


def test_the_api_normalises_and_refuses(member, proposal, lab_contact):
    def shipment(space):
        return {
            "proposal": proposal.pk,
            "name": "SG",
            "dewars": [
                {
                    "name": "D",
                    "containers": [
                        {
                            "name": "P",
                            "samples": [{"position": 1, "name": "s", "protein_acronym": "L", "space_group": space}],
                        }
                    ],
                }
            ],
        }

    client = api_as(member)
    response = client.post("/api/v1/shipments/", shipment("banana"), format="json")
    assert response.status_code == 400
    assert "dewars.0.containers.0.samples.0.space_group" in response.json()["errors"]
    response = client.post("/api/v1/shipments/", shipment("I4(1)22"), format="json")
    assert response.status_code == 201, response.content
    assert Sample.objects.get().space_group == "I4122"


def test_the_sheet_normalises_and_refuses(proposal, member):
    draft = f.ShipmentFactory(proposal=proposal, name="Empty")
    with pytest.raises(Exception, match="none of the 230 space groups"):
        import_sheet(shipment=draft, user=member, uploaded_file=csv_file([row(space_group="P99")]))
    assert not Sample.objects.exists()
    import_sheet(shipment=draft, user=member, uploaded_file=csv_file([row(space_group="P 21 21 21")]))
    assert Sample.objects.get().space_group == "P212121"


def test_the_migration_normalises_stored_rows_and_keeps_what_it_cannot_read(received):
    from importlib import import_module

    migration = import_module("samples.migrations.0013_space_groups")
    first, second, third = received.containers.get().samples.order_by("position")[:3]
    Sample.objects.filter(pk=first.pk).update(space_group="P2(1)2(1)2(1)")
    Sample.objects.filter(pk=second.pk).update(space_group="banana", comments="small")
    Sample.objects.filter(pk=third.pk).update(space_group="C2")
    migration.normalise_space_groups(apps, None)
    stored = {s.pk: (s.space_group, s.comments) for s in Sample.objects.all()}
    assert stored[first.pk] == ("P212121", first.comments)
    assert stored[second.pk] == ("", "small\nSpace group as registered: banana")
    assert stored[third.pk][0] == "C2"
