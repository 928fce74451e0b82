"""A shipment's samples downloaded as ISPyB's shipping CSV and as XLSX, and imported back unchanged."""

import csv
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from lims.choices import ProposalKind
from samples.models import Container, Protein, Sample
from shipping.models import Dewar
from shipping.services import shipment_cancel, shipment_create
from shipping.sheets import HEADERS, import_sheet, shipment_ispyb_csv, shipment_xlsx
from tests import factories as f
from tests.conftest import api_as
from tests.queries import count_queries
from tests.shipping.test_sheet_formats import ISPYB_FIELDS  # py-ispyb-ui's FIELDS, written out there

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The Sample fields those columns hold, by their ISPyB name.
ISPYB_SAMPLE_FIELDS = {
    "sample acronym": "name",
    "pin barcode": "pin_code",
    "SPG": "space_group",
    "cellA": "cell_a",
    "cellB": "cell_b",
    "cellC": "cell_c",
    "cellAlpha": "cell_alpha",
    "cellBeta": "cell_beta",
    "cellGamma": "cell_gamma",
    "experimentType": "experiment_kind",
    "aimed Resolution": "aimed_resolution",
    "required Resolution": "required_resolution",
    "beam diameter": "preferred_beam_size",
    "number of positions": "number_of_positions",
    "aimed multiplicity": "aimed_multiplicity",
    "aimed completeness": "aimed_completeness",
    "forced SPG": "forced_space_group",
    "radiation sensitivity": "radiation_sensitivity",
    "smiles": "smiles",
    "total rot. angle": "total_rotation",
    "min osc. angle": "min_oscillation",
    "observed resolution": "observed_resolution",
    "comments": "comments",
}
# The rest of the plan, which only the native sheet carries.
NATIVE_ONLY_FIELDS = (
    "anomalous_scatterer",
    "centring_method",
    "collection_mode",
    "screening_method",
    "screening_collect_value",
    "sample_group",
    "energy",
    "transmission",
    "user_path",
    "image_prefix",
    "recipe",
    "contact_person",
    "sublocation",
    "exposure_time",
    "detector_distance",
    "oscillation_width",
    "minimum_resolution",
    "loop_type",
    "holder_length",
)
MAILIN_FIELDS = ("mailin_request", "mailin_dataset_kind", "mailin_collect_better_than", "mailin_priority")

COMMENT = 'Handle with care, "fragile" – cell 79.1 Å'
KINDS = ("SAD - Inverse Beam", "MXPressE", "Ligand binding", "OSC", "MR", "Helical")
GROUPS = ("P43212", "C2", "P212121", "P6122", "I23", "P1")
CENTRING = ("optical", "diffraction", "xray", "loop", "optical", "xray")
SCREENING = (("best", 2, "grp-a"), ("all", None, ""), ("none", None, "grp-b"))


def plan(n: int) -> dict:
    """Every plan field set, to a value that differs from sample to sample and from the default."""
    screening, collect, group = SCREENING[n % 3]
    return {
        "pin_code": f"AB{n:08d}",
        "space_group": GROUPS[n],
        "cell_a": 79.1 + n,
        "cell_b": 79.1,
        "cell_c": 37.9,
        "cell_alpha": 90.0,
        "cell_beta": 90.0 + n / 10,
        "cell_gamma": 120.0 if n == 3 else 90.0,
        "experiment_kind": KINDS[n],
        "aimed_resolution": 1.1 + n / 10,  # 1.2000000000000002 for n = 1: written as Python writes it
        "required_resolution": 2.5 + n,
        "preferred_beam_size": 20.5,
        "number_of_positions": n + 2,
        "aimed_multiplicity": 7.25,
        "aimed_completeness": 99.5,
        "forced_space_group": "P43212" if n % 2 else "P212121",
        "radiation_sensitivity": 0.35 + n,
        "smiles": "CC(=O)Oc1ccccc1C(=O)O",
        "total_rotation": 180.5,
        "min_oscillation": 0.05,
        "observed_resolution": 1.9,
        "comments": f"{COMMENT} #{n}",
        "anomalous_scatterer": "Se",
        "centring_method": CENTRING[n],
        "collection_mode": "auto" if n % 2 else "manual",
        "screening_method": screening,
        "screening_collect_value": collect,
        "sample_group": group,
        "energy": 12398.4 + n,
        "transmission": 50.5,
        "user_path": f"run{n}/xtal",
        "image_prefix": f"img_{n}",
        "recipe": "native-360",
        "contact_person": "Luke Skywalker",
        "sublocation": n + 1,
        "exposure_time": 0.04,
        "detector_distance": 250.5,
        "oscillation_width": 0.1,
        "minimum_resolution": 3.5,
        "loop_type": "MiTeGen",
        "holder_length": 22.0,
    }


def full_tree(name: str, requests: list[dict] | None = None) -> dict:
    """Two dewars; a SPINE puck, a UniPuck and another with 24 positions; six samples of two proteins."""
    places = [
        ("D1", "Spine-A", "spine", 1, "LYS"),
        ("D1", "Spine-A", "spine", 10, "LYS"),
        ("D1", "Uni-B", "unipuck", 2, "LYS"),
        ("D1", "Uni-B", "unipuck", 16, "TRYP"),
        ("D2", "Other-C", "other", 5, "TRYP"),
        ("D2", "Other-C", "other", 24, "TRYP"),
    ]
    dewars: dict = {}
    for n, (dewar, puck, kind, position, acronym) in enumerate(places):
        containers = dewars.setdefault(dewar, {})
        container = containers.setdefault(
            puck, {"name": puck, "container_type": kind, "samples": []} | ({"capacity": 24} if kind == "other" else {})
        )
        sample = {"position": position, "name": f"{acronym.lower()}-{n}", "protein_acronym": acronym, **plan(n)}
        sample["protein_name"] = "Hen egg-white lysozyme" if acronym == "LYS" else "Trypsin, bovine"
        container["samples"].append(sample | (requests[n] if requests else {}))
    return {
        "name": name,
        "dewars": [{"name": d, "containers": list(containers.values())} for d, containers in dewars.items()],
    }


def create(proposal, user, name="Export 1/α", requests=None):
    contact = f.LabContactFactory(proposal=proposal)
    data = full_tree(name, requests) | {"sending_contact": contact, "return_contact": contact}
    return shipment_create(proposal=proposal, user=user, data=data)


@pytest.fixture
def full(proposal, member):
    return create(proposal, member)


MAILIN_REQUESTS = [
    {"mailin_request": "screen_collect", "mailin_collect_better_than": 2.2, "mailin_priority": 1},
    {"mailin_request": "dataset", "mailin_dataset_kind": "sad", "mailin_priority": 5},
    {"mailin_request": "screen", "mailin_priority": 2, "mailin_comments": 'Call me, "now" – Å'},
    {"mailin_request": "dataset", "mailin_dataset_kind": "native", "mailin_priority": 4},
    {"mailin_request": "dataset", "mailin_dataset_kind": "mad", "mailin_priority": 3, "mailin_comments": "Se edge"},
    {"mailin_request": "screen_collect", "mailin_collect_better_than": 1.75, "mailin_priority": 2},
]


@pytest.fixture
def mailin_proposal(db):
    return f.ProposalFactory(code="in", number="0042", kind=ProposalKind.INDUSTRIAL, mail_in=True)


@pytest.fixture
def mailin_member(mailin_proposal):
    user = f.UserFactory(username="acme")
    f.ProposalMemberFactory(proposal=mailin_proposal, user=user)
    return user


@pytest.fixture
def mailin_full(mailin_proposal, mailin_member):
    return create(mailin_proposal, mailin_member, requests=MAILIN_REQUESTS)


# --- helpers -------------------------------------------------------------------------------------------


def stored(shipment, *, skip=("id",)) -> dict:
    """Every concrete field of every sample (but ``skip``), by dewar, container and position."""
    names = [field.attname for field in Sample._meta.concrete_fields if field.attname not in skip]
    samples = Sample.objects.filter(container__shipment=shipment).select_related("container__dewar", "protein")
    return {(s.container.dewar.name, s.container.name, s.position): {n: getattr(s, n) for n in names} for s in samples}


def changes(after: dict, before: dict) -> dict:
    """What differs between two ``stored`` snapshots: {(place, field): (before, after)}."""
    assert after.keys() == before.keys()
    return {
        (place, name): (value, after[place][name])
        for place, values in before.items()
        for name, value in values.items()
        if after[place][name] != value
    }


def tree_state(shipment) -> tuple:
    containers = Container.objects.filter(shipment=shipment).order_by("name")
    return (
        sorted(Dewar.objects.filter(shipment=shipment).values_list("name", flat=True)),
        [(c.dewar.name, c.name, c.container_type, c.capacity) for c in containers],
        sorted(Protein.objects.filter(proposal=shipment.proposal).values_list("acronym", "name")),
        Sample.objects.count(),
    )


def scramble(shipment, fields) -> None:
    """Put every one of ``fields`` back to its default and rename the samples: what an import then restores
    can only have come from the file."""
    for sample in Sample.objects.filter(container__shipment=shipment):
        for name in fields:
            field = Sample._meta.get_field(name)
            setattr(sample, name, None if field.null else field.get_default())
        sample.name = f"old-{sample.pk}"
        sample.save()


def upload(content: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def csv_rows(content: bytes) -> tuple[str, list[list[str]]]:
    text = content.decode("utf-8")
    first, _, rest = text.partition("\r\n")
    return first, list(csv.reader(io.StringIO(rest, newline="")))


# --- ISPyB's shipping CSV ---------------------------------------------------------------------------------


def test_ispyb_csv_is_read_by_position_as_py_ispyb_ui_reads_it(full):
    content = shipment_ispyb_csv(full)
    assert b"\r\n" in content and b"\n" not in content.replace(b"\r\n", b"")  # CRLF lines only (no newline in values)
    first, rows = csv_rows(content)
    assert first.startswith("#parcel name, container name, container type, container position, protein acronym")
    assert first == "#" + ", ".join(ISPYB_FIELDS)
    assert len(rows) == 6 and all(len(r) == 28 for r in rows)

    by_field = [dict(zip(ISPYB_FIELDS, r, strict=True)) for r in rows]
    places = [(r["parcel name"], r["container name"], r["container type"], r["container position"]) for r in by_field]
    # By dewar, container and position; the container type as py-ispyb-ui's getContainerType names it.
    assert places == [
        ("D1", "Spine-A", "Spinepuck", "1"),
        ("D1", "Spine-A", "Spinepuck", "10"),
        ("D1", "Uni-B", "Unipuck", "2"),
        ("D1", "Uni-B", "Unipuck", "16"),
        ("D2", "Other-C", "OTHER", "5"),
        ("D2", "Other-C", "OTHER", "24"),
    ]
    samples = stored(full)
    for row in by_field:
        sample = samples[row["parcel name"], row["container name"], int(row["container position"])]
        assert row["protein acronym"] == ("LYS" if sample["name"].startswith("lys") else "TRYP")
        for title, name in ISPYB_SAMPLE_FIELDS.items():
            value = sample[name]
            if isinstance(value, float):
                assert float(row[title]) == value, title  # as py-ispyb-ui's Number() reads it
            else:
                assert row[title] == ("" if value is None else str(value)), title
    second = by_field[1]
    assert second["aimed Resolution"] == "1.2000000000000002" and second["cellAlpha"] == "90"
    assert second["experimentType"] == "MXPressE" and second["comments"] == f"{COMMENT} #1"
    assert '"Handle with care, ""fragile"" – cell 79.1 Å #0"' in content.decode()  # quoted by csv.writer


def test_ispyb_csv_imports_back_unchanged_into_the_same_shipment(full, member):
    before, state = stored(full), tree_state(full)
    content = shipment_ispyb_csv(full)
    scramble(full, ISPYB_SAMPLE_FIELDS.values())
    assert stored(full) != before

    result = import_sheet(shipment=full, user=member, uploaded_file=upload(content, "export.csv"))

    assert result.format == "ISPyB shipping CSV (EXI, py-ispyb-ui)"
    assert "6 samples (0 new, 6 replaced)" in result.messages[0]
    assert changes(stored(full), before) == {}
    assert tree_state(full) == state


def test_ispyb_csv_imports_into_a_new_shipment_of_another_proposal(full, member, other_proposal, outsider):
    """Another proposal has its own proteins, so the sample names are free there; the pins are free once the
    first shipment is cancelled. The containers come back with their types, the other one as large as its last
    position."""
    content = shipment_ispyb_csv(full)
    shipment_cancel(shipment=full, user=member)
    before = stored(full, skip=("id", "container_id", "protein_id", "retired_at"))
    draft = f.ShipmentFactory(proposal=other_proposal, name="Copy")

    import_sheet(shipment=draft, user=outsider, uploaded_file=upload(content, "export.csv"))

    copied = stored(draft, skip=("id", "container_id", "protein_id", "retired_at"))
    # The columns ISPyB's sheet has no room for take their defaults in the new shipment.
    for values in before.values():
        for name in NATIVE_ONLY_FIELDS:
            values[name] = None if Sample._meta.get_field(name).null else Sample._meta.get_field(name).get_default()
    assert changes(copied, before) == {}
    assert tree_state(draft)[1] == tree_state(full)[1]


def test_the_export_reads_the_samples_in_one_query(full):
    full.refresh_from_db()
    with count_queries() as queries:
        shipment_ispyb_csv(full)
    assert len(queries) == 1
    # The XLSX asks the proposal whether it is mail-in (the page and the API read it with the shipment).
    with count_queries() as queries:
        shipment_xlsx(full)
    assert len(queries) == 2


# --- XLSX --------------------------------------------------------------------------------------------------


def read_xlsx(content: bytes) -> tuple[list, list[dict]]:
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    assert sheet.title == "Samples"
    rows = list(sheet.iter_rows(values_only=True))
    assert all(cell.font.bold for cell in sheet[1])
    return list(rows[0]), [dict(zip(HEADERS, r, strict=True)) for r in rows[1:]]


def test_xlsx_has_every_column_filled(full):
    header, rows = read_xlsx(shipment_xlsx(full))
    assert header == list(HEADERS)
    assert len(rows) == 6
    first = rows[0]
    assert (first["Dewar"], first["Container"], first["Container type"], first["Position"]) == (
        "D1",
        "Spine-A",
        "spine",
        1,
    )
    assert (first["Protein acronym"], first["Protein name"], first["Sample name"]) == (
        "LYS",
        "Hen egg-white lysozyme",
        "lys-0",
    )
    assert (first["a"], first["Energy"], first["Sublocation"], first["S&C N value"]) == (79.1, 12398.4, 1, 2)
    assert (first["Centring method"], first["Screen and collect recipe"], first["Comments"]) == (
        "optical",
        "best",
        f"{COMMENT} #0",
    )
    # Numbers are number cells, a float that needs 17 digits included.
    assert rows[1]["Aimed resolution"] == 1.2000000000000002 and isinstance(rows[1]["Number of positions"], int)
    # Not a mail-in proposal: the request columns are empty (the stored priority 3 included).
    assert all(row[h] is None for row in rows for h in ("Request", "Data set", "Priority", "Request comments"))
    filled = set(HEADERS) - {"Request", "Data set", "Collect if better than", "Priority", "Request comments"}
    assert all(rows[0][h] is not None for h in filled)


def test_xlsx_imports_back_unchanged_into_the_same_shipment(full, member):
    before, state = stored(full), tree_state(full)
    content = shipment_xlsx(full)
    scramble(full, (*ISPYB_SAMPLE_FIELDS.values(), *NATIVE_ONLY_FIELDS))
    assert stored(full) != before

    result = import_sheet(shipment=full, user=member, uploaded_file=upload(content, "export.xlsx"))

    assert result.format == "this LIMS's sample sheet"
    assert "6 samples (0 new, 6 replaced)" in result.messages[0]
    assert changes(stored(full), before) == {}
    assert tree_state(full) == state


def test_xlsx_of_a_mail_in_proposal_carries_the_requests_back(mailin_full, mailin_member):
    before, state = stored(mailin_full), tree_state(mailin_full)
    content = shipment_xlsx(mailin_full)
    _, rows = read_xlsx(content)
    assert [(r["Request"], r["Data set"], r["Priority"]) for r in rows][:2] == [
        ("screen_collect", None, 1),
        ("dataset", "sad", 5),
    ]
    scramble(mailin_full, (*ISPYB_SAMPLE_FIELDS.values(), *NATIVE_ONLY_FIELDS, *MAILIN_FIELDS, "mailin_comments"))
    assert stored(mailin_full) != before

    import_sheet(shipment=mailin_full, user=mailin_member, uploaded_file=upload(content, "export.xlsx"))

    assert changes(stored(mailin_full), before) == {}
    assert tree_state(mailin_full) == state


def test_text_that_looks_like_a_formula_stays_text(full, member):
    Sample.objects.filter(container__shipment=full, position=1).update(comments="=1+1 is not a formula")
    before = stored(full)
    content = shipment_xlsx(full)
    _, rows = read_xlsx(content)
    assert rows[0]["Comments"] == "=1+1 is not a formula"
    import_sheet(shipment=full, user=member, uploaded_file=upload(content, "export.xlsx"))
    assert changes(stored(full), before) == {}


# --- the page and the API ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("csv", "text/csv; charset=utf-8"), ("xlsx", XLSX)], ids=["csv", "xlsx"]
)
def test_the_page_downloads_the_samples(client, member, full, fmt, content_type):
    client.force_login(member)
    response = client.get(reverse("shipping:sheet_export", args=[full.pk, fmt]))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    # "Export 1/α": only letters, digits, _ and - in the file name.
    assert response["Content-Disposition"] == f'attachment; filename="Export_1-samples.{fmt}"'
    if fmt == "csv":
        assert response.content == shipment_ispyb_csv(full)
    else:
        assert len(read_xlsx(response.content)[1]) == 6


def test_the_shipment_page_links_to_the_downloads(client, member, full):
    client.force_login(member)
    page = client.get(reverse("shipping:detail", args=[full.pk])).content.decode()
    for fmt, words in (("csv", "Download as ISPyB CSV"), ("xlsx", "Download as XLSX")):
        assert reverse("shipping:sheet_export", args=[full.pk, fmt]) in page and words in page


def test_the_page_download_of_another_proposals_shipment_or_format_is_404(client, outsider, member, full):
    client.force_login(outsider)
    assert client.get(reverse("shipping:sheet_export", args=[full.pk, "csv"])).status_code == 404
    client.force_login(member)
    assert client.get(reverse("shipping:sheet_export", args=[full.pk, "pdf"])).status_code == 404


def sheet_url(shipment) -> str:
    return f"/api/v1/shipments/{shipment.pk}/sheet/"


def test_the_api_downloads_both_formats(member, full):
    client = api_as(member)
    response = client.get(sheet_url(full), {"format": "ispyb-csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="Export_1-samples.csv"'
    assert response.content == shipment_ispyb_csv(full)
    assert client.get(sheet_url(full)).content == response.content  # ISPyB's CSV by default

    response = client.get(sheet_url(full), {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == 'attachment; filename="Export_1-samples.xlsx"'
    assert len(read_xlsx(response.content)[1]) == 6


def test_the_api_refuses_an_unknown_format(member, full):
    response = api_as(member).get(sheet_url(full), {"format": "bad"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "format" in body["detail"] and list(body["errors"]) == ["format"]


def test_the_api_hides_another_proposals_shipment(outsider, full):
    for fmt in ("ispyb-csv", "bad"):
        response = api_as(outsider).get(sheet_url(full), {"format": fmt})
        assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_the_schema_tells_the_truth_about_the_download(api):
    import json

    schema = json.loads(api.get("/api/v1/schema/", {"format": "json"}).content)
    operation = schema["paths"]["/api/v1/shipments/{id}/sheet/"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"text/csv", XLSX}
    assert {"400", "404"} <= set(operation["responses"])
    (parameter,) = [p for p in operation["parameters"] if p["name"] == "format"]
    assert parameter["schema"]["enum"] == ["ispyb-csv", "xlsx"]
