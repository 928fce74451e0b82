"""Proteins, and the sample sheet: import into a shipment and the blank templates."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from samples.models import Sample
from shipping.services import shipment_send
from tests import factories as f
from tests.conftest import api_as

pytestmark = pytest.mark.django_db

HEADER = (
    "Dewar,Container,Container type,Position,Protein acronym,Sample name,Pin barcode,Space group,"
    "a,b,c,alpha,beta,gamma,Experiment kind,Required resolution,Comments,"
    "Anomalous scatterer,Request,Data set,Collect if better than,Priority,Request comments,"
    "Aimed resolution,Aimed completeness,Aimed multiplicity,Beam size,Number of positions,Radiation sensitivity,"
    "SMILES,Forced space group,Observed resolution,Minimum resolution,Total rotation,Oscillation per image,"
    "Minimum oscillation,Exposure time,Transmission,Detector distance,Energy,Centring method,Collection mode,"
    "Screen and collect recipe,S&C N value,Sample group,Sublocation,User path,Prefix for images,Recipe,"
    "Contact person,Loop type,Holder length,Protein name"
)
GOOD_ROWS = [
    "Dewar-1,Puck-1,UniPuck,1,LYS,lys-01,AB12345678,P43212,79.1,79.1,37.9,90,90,90,MXPressE,1.8,first",
    "Dewar-1,Puck-1,UniPuck,2,LYS,lys-02,,,,,,,,,OSC,,",
    "Dewar-1,Puck-2,SPINE,1,TRYP,tryp-01,,,,,,,,,,,",
]
TEMPLATE = "/api/v1/shipments/sample-sheet-template/"


def sheet(*rows: str, name: str = "samples.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\r\n".join([HEADER, *rows]) + "\r\n").encode(), content_type="text/csv")


def import_url(shipment) -> str:
    return f"/api/v1/shipments/{shipment.pk}/import/"


@pytest.fixture
def empty_shipment(proposal, member, lab_contact):
    return f.ShipmentFactory(proposal=proposal, name="Empty", sending_contact=lab_contact, return_contact=lab_contact)


# --- proteins -------------------------------------------------------------------------------------------


def test_proteins_are_scoped_and_filtered(proposal, other_proposal, member, stores):
    lys = f.ProteinFactory(proposal=proposal, acronym="LYS")
    kin = f.ProteinFactory(proposal=proposal, acronym="KIN")
    theirs = f.ProteinFactory(proposal=other_proposal, acronym="LYS")
    client = api_as(member)
    assert [p["id"] for p in client.get("/api/v1/proteins/").json()["results"]] == [kin.pk, lys.pk]
    assert [p["id"] for p in client.get("/api/v1/proteins/", {"acronym": "lys"}).json()["results"]] == [lys.pk]
    assert client.get(f"/api/v1/proteins/{theirs.pk}/").status_code == 404
    staff = api_as(stores).get("/api/v1/proteins/", {"proposal": other_proposal.pk}).json()
    assert [p["id"] for p in staff["results"]] == [theirs.pk]


# --- import ---------------------------------------------------------------------------------------------


def test_a_sheet_fills_the_shipment(empty_shipment, member):
    client = api_as(member)
    response = client.post(import_url(empty_shipment), {"file": sheet(*GOOD_ROWS)}, format="multipart")
    assert response.status_code == 200, response.json()
    assert {k: response.json()[k] for k in ("dewars", "containers", "samples")} == {
        "dewars": 1,
        "containers": 2,
        "samples": 3,
    }
    assert response.json()["format"] == "this LIMS's sample sheet"
    tree = client.get(f"/api/v1/shipments/{empty_shipment.pk}/").json()
    pucks = tree["dewars"][0]["containers"]
    assert [(c["name"], c["container_type"], len(c["samples"])) for c in pucks] == [
        ("Puck-1", "unipuck", 2),
        ("Puck-2", "spine", 1),
    ]
    first = pucks[0]["samples"][0]
    assert (first["name"], first["pin_code"], first["cell_a"], first["required_resolution"]) == (
        "lys-01",
        "AB12345678",
        79.1,
        1.8,
    )


def test_a_bad_sheet_is_400_with_every_problem_by_line_and_column(empty_shipment, member):
    rows = [
        GOOD_ROWS[0],
        "Dewar-1,Puck-1,UniPuck,2,LYS,bad name,,,,,,,,,,,",
        "Dewar-1,Puck-1,UniPuck,99,LYS,x,,,,,,,,,,,",
    ]
    response = api_as(member).post(import_url(empty_shipment), {"file": sheet(*rows)}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_sheet" and body["detail"]
    assert {(e["line"], e["column"]) for e in body["errors"]} >= {(3, "Sample name"), (4, "Position")}
    assert all(set(e) == {"line", "column", "message"} and e["message"] for e in body["errors"])
    assert not Sample.objects.filter(container__shipment=empty_shipment).exists()


def test_a_file_that_is_no_sheet_is_400(empty_shipment, member):
    junk = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00", content_type="image/png")
    response = api_as(member).post(import_url(empty_shipment), {"file": junk}, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "invalid_sheet"


def test_an_import_without_a_file_is_400(empty_shipment, member):
    response = api_as(member).post(import_url(empty_shipment), {}, format="multipart")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["file"]


def test_an_import_as_json_is_415(empty_shipment, member):
    response = api_as(member).post(import_url(empty_shipment), {"file": "a,b"}, format="json")
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"


def test_an_import_into_a_sent_shipment_is_frozen(shipment, member):
    shipment_send(shipment=shipment, user=member)
    response = api_as(member).post(import_url(shipment), {"file": sheet(*GOOD_ROWS)}, format="multipart")
    assert response.status_code == 409 and response.json()["code"] == "frozen"


def test_an_import_into_another_proposals_shipment_is_not_found(empty_shipment, outsider):
    response = api_as(outsider).post(import_url(empty_shipment), {"file": sheet(*GOOD_ROWS)}, format="multipart")
    assert response.status_code == 404
    assert not Sample.objects.exists()


# --- templates ------------------------------------------------------------------------------------------


def test_the_csv_template_has_the_columns_of_the_import(member):
    response = api_as(member).get(TEMPLATE, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="sample-sheet-template.csv"' in response["Content-Disposition"]
    assert response.content.decode().splitlines()[0] == HEADER
    assert api_as(member).get(TEMPLATE).content == response.content


def test_the_xlsx_template_is_a_workbook(member):
    response = api_as(member).get(TEMPLATE, {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = load_workbook(io.BytesIO(response.content))
    header = [cell.value for cell in next(workbook.active.iter_rows(max_row=1))]
    assert ",".join(header) == HEADER


def test_an_unknown_template_format_is_400(member):
    response = api_as(member).get(TEMPLATE, {"format": "pdf"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["format"]
