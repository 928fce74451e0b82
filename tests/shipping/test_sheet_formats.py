"""Sample sheets as users have them: ISPyB's shipping CSV (EXI, py-ispyb-ui) and SynchWeb's Diamond and IMCA
profiles, with and without header, title rows, comment lines, in every encoding and as XLSX.

The formats are written here from their definitions in the sources, not from the importer's tables:
py-ispyb-ui ``src/legacy/helpers/mx/shipping/shippingcsv.ts`` (FIELDS) and the titles of its import table
(``src/legacy/pages/shipping/csv/importshipping.tsx``), EXI's ``csv/example3.csv`` (its ``#`` lines), SynchWeb's
``client/src/js/csv/diamond.js`` and ``imca.js`` (headers, in order).
"""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lims.choices import ProposalKind
from lims.models import AuditEntry
from samples.models import Container, Protein, Sample
from shipping.models import Dewar
from shipping.sheets import SheetError, import_sheet
from tests import factories as f

pytestmark = pytest.mark.django_db

# py-ispyb-ui's FIELDS, in order (EXI writes the same names on its "#" line).
ISPYB_FIELDS = [
    "parcel name", "container name", "container type", "container position", "protein acronym", "sample acronym",
    "pin barcode", "SPG", "cellA", "cellB", "cellC", "cellAlpha", "cellBeta", "cellGamma", "experimentType",
    "aimed Resolution", "required Resolution", "beam diameter", "number of positions", "aimed multiplicity",
    "aimed completeness", "forced SPG", "radiation sensitivity", "smiles", "total rot. angle", "min osc. angle",
    "observed resolution", "comments",
]  # fmt: skip
# The titles of py-ispyb-ui's import table, "<br />" read as a space.
ISPYB_TITLES = [
    "Parcel Name", "Container Name", "Container Type", "Container Position", "Protein Acronym", "Sample Acronym",
    "Pin Barcode", "Spacegroup", "A", "B", "C", "Alpha", "Beta", "Gamma", "Experiment Type", "Aimed Resolution",
    "Required Resolution", "Beam Diameter", "Number of positions", "Aimed multiplicity", "Aimed completeness",
    "Forced Spacegroup", "Radiation sensitivity", "Smiles", "Total rot. angle", "Min osc. angle",
    "Observed resolution", "Comments",
]  # fmt: skip
EXI_COMMENTS = [
    "# For more information go to https://github.com/ispyb/EXI/wiki/Fill-shipment-from-CSV" + "," * 27,
    "#" + ", ".join(ISPYB_FIELDS[:21]) + ",",
]
DIAMOND_HEADERS = [
    "Proposal Code", "Proposal Number", "Visit Number", "Shipping Name", "Dewar Code", "Puck", "preObsResolution",
    "minimalResolution", "Oscillation Range", "Protein Acronym", "Protein Name", "Space Group", "Barcode",
    "Sample Name", "Location", "Comments", "Cell A", "Cell B", "Cell C", "Cell Alpha", "Cell Beta", "Cell Gamma",
    "Sublocation", "Loop Type", "Required Resolution", "Centring Method", "Experiment Kind",
    "Radiation Sensitivity", "Energy", "User Path", "Screen and Collect Recipe", "S&C N value", "Sample Group",
]  # fmt: skip
IMCA_HEADERS = [
    "Puck", "Pin", "Project", "Priority", "Mode", "Notes to Staff", "Collection strategy", "Contact person",
    "Expected space group", "Expected Cell Dimensions", "Expected Resolution",
    "Minimum Resolution Required to Collect", "Recipe", "Exposure time", "Image Width", "Phi", "Attenuation",
    "Aperture", "Detector Distance", "Prefix for frames", "Observed Resolution", "Comments From Staff", "Status",
]  # fmt: skip


def ispyb_row(**values) -> list:
    cells = {
        "parcel name": "parcelA3",
        "container name": "containerA3",
        "container type": "SPINEpuck",
        "container position": 1,
        "protein acronym": "LYS",
        "sample acronym": "lys-1",
        **values,
    }
    return [cells.get(name, "") for name in ISPYB_FIELDS]


FULL_ISPYB = ispyb_row(
    **{
        "pin barcode": "ab12345678",
        "SPG": "P2(1)2(1)2(1)",
        "cellA": 78.5,
        "cellB": 79.25,
        "cellC": 37.75,
        "cellAlpha": 90,
        "cellBeta": 90,
        "cellGamma": 90,
        "experimentType": "MXPressE",
        "aimed Resolution": 1.5,
        "required Resolution": 2.5,
        "beam diameter": 50,
        "number of positions": 2,
        "aimed multiplicity": 4,
        "aimed completeness": 99.5,
        "forced SPG": "P 21 21 21",
        "radiation sensitivity": 0.5,
        "smiles": "CC(=O)O",
        "total rot. angle": 180,
        "min osc. angle": 0.1,
        "observed resolution": 1.9,
        "comments": "Grown in Å-well, 20 °C",
    }
)
FULL_ISPYB_STORED = {
    "pin_code": "AB12345678",
    "space_group": "P212121",
    "cell_a": 78.5,
    "cell_b": 79.25,
    "cell_c": 37.75,
    "cell_alpha": 90,
    "cell_beta": 90,
    "cell_gamma": 90,
    "experiment_kind": "MXPressE",
    "aimed_resolution": 1.5,
    "required_resolution": 2.5,
    "preferred_beam_size": 50,
    "number_of_positions": 2,
    "aimed_multiplicity": 4,
    "aimed_completeness": 99.5,
    "forced_space_group": "P212121",
    "radiation_sensitivity": 0.5,
    "smiles": "CC(=O)O",
    "total_rotation": 180,
    "min_oscillation": 0.1,
    "observed_resolution": 1.9,
    "comments": "Grown in Å-well, 20 °C",
}
SECOND_ISPYB = ispyb_row(**{"container position": 2, "sample acronym": "lys-2", "experimentType": "Default"})


def csv_upload(
    lines: list, *, delimiter=",", encoding="utf-8", bom=False, name="shipment.csv", decimal="."
) -> SimpleUploadedFile:
    """A CSV file of ``lines`` (strings are written as they are, lists as quoted cells)."""
    out = []
    for line in lines:
        if isinstance(line, str):
            out.append(line)
            continue
        cells = []
        for cell in line:
            text = str(cell)
            if isinstance(cell, float):
                text = text.replace(".", decimal)
            if delimiter in text or '"' in text:
                text = '"' + text.replace('"', '""') + '"'
            cells.append(text)
        out.append(delimiter.join(cells))
    data = ("\r\n".join(out) + "\r\n").encode(encoding)
    return SimpleUploadedFile(name, (b"\xef\xbb\xbf" if bom else b"") + data, content_type="text/csv")


def xlsx_upload(rows: list[list], name="shipment.xlsx") -> SimpleUploadedFile:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    workbook.save(out)
    return SimpleUploadedFile(name, out.getvalue())


@pytest.fixture
def draft(proposal):
    return f.ShipmentFactory(proposal=proposal, name="Empty")


def stored(shipment) -> dict:
    return {
        (s.container.dewar.name, s.container.name, s.position): s
        for s in Sample.objects.filter(container__shipment=shipment).select_related("container__dewar", "protein")
    }


def db_state() -> tuple:
    return (
        Dewar.objects.count(),
        Container.objects.count(),
        Protein.objects.count(),
        list(Sample.objects.order_by("id").values_list("id", "name", "comments")),
        AuditEntry.objects.count(),
    )


def assert_full_ispyb_row(shipment):
    samples = stored(shipment)
    assert set(samples) == {("parcelA3", "containerA3", 1), ("parcelA3", "containerA3", 2)}
    first = samples["parcelA3", "containerA3", 1]
    assert first.container.container_type == "spine"
    assert (first.protein.acronym, first.name) == ("LYS", "lys-1")
    assert {key: getattr(first, key) for key in FULL_ISPYB_STORED} == FULL_ISPYB_STORED
    assert samples["parcelA3", "containerA3", 2].experiment_kind == "Default"


# --- ISPyB's shipping CSV ------------------------------------------------------------------------------------


def test_ispyb_csv_as_exi_ships_it_headerless_with_comment_lines(draft, member):
    result = import_sheet(
        shipment=draft, user=member, uploaded_file=csv_upload([*EXI_COMMENTS, FULL_ISPYB, SECOND_ISPYB])
    )
    assert_full_ispyb_row(draft)
    assert result.format == "ISPyB shipping CSV (EXI, py-ispyb-ui)"
    assert "Read as ISPyB shipping CSV (EXI, py-ispyb-ui), without a header row." in result.messages


def test_ispyb_csv_with_py_ispyb_ui_titles(draft, member):
    result = import_sheet(
        shipment=draft, user=member, uploaded_file=csv_upload([ISPYB_TITLES, FULL_ISPYB, SECOND_ISPYB])
    )
    assert_full_ispyb_row(draft)
    assert "Read as ISPyB shipping CSV (EXI, py-ispyb-ui), with its header on line 1." in result.messages


def test_ispyb_csv_with_exi_field_names_as_header(draft, member):
    import_sheet(shipment=draft, user=member, uploaded_file=csv_upload([ISPYB_FIELDS, FULL_ISPYB, SECOND_ISPYB]))
    assert_full_ispyb_row(draft)


def test_max_iv_exi_template_stops_after_the_cell(draft, member):
    """MAX IV's EXI example has 14 fields per row (up to gamma)."""
    lines = [
        "#Please see https://www.maxiv.lu.se/ ... importing-sample-information-list-as-a-csv-file/,,,,,,,,,,,,,",
        "#parcel name, container name, container type, container position, protein acronym, sample acronym,"
        "pin barcode, SPG, cellA, cellB, cellC, cellAlpha, cellBeta, cellGamma",
        "Dewar1,MX-001,Unipuck,1,HEWL,Sample1,,,,,,,,",
        "Dewar1,MX-001,Unipuck,2,HEWL,Sample2,,P43212,79,79,38,90,90,90",
    ]
    import_sheet(shipment=draft, user=member, uploaded_file=csv_upload(lines))
    samples = stored(draft)
    assert samples["Dewar1", "MX-001", 2].space_group == "P43212"
    assert samples["Dewar1", "MX-001", 1].container.container_type == "unipuck"


def test_ispyb_bad_rows_reported_by_line_and_column_and_nothing_saved(draft, member):
    before = db_state()
    bad_group = ispyb_row(**{"container position": 2, "sample acronym": "lys-2", "SPG": "P99"})
    bad_cell = ispyb_row(**{"container position": 3, "sample acronym": "lys-3", "cellA": "ten"})
    bad_type = ispyb_row(**{"container name": "c2", "container type": "PLATE", "sample acronym": "lys-4"})
    lines = [*EXI_COMMENTS, FULL_ISPYB, bad_group, bad_cell, bad_type]
    with pytest.raises(SheetError) as caught:
        import_sheet(shipment=draft, user=member, uploaded_file=csv_upload(lines))
    found = {(p.line, p.column) for p in caught.value.problems}
    assert {(4, "SPG"), (5, "cellA")} <= found
    # A row of an unknown container type does not look like ISPyB's shape, but the file as a whole does.
    assert any(p.line == 6 and p.column == "container type" for p in caught.value.problems)
    assert db_state() == before


# --- title rows, blank rows, XLSX ----------------------------------------------------------------------------


def test_xlsx_with_a_title_row_and_blank_rows_above_the_header(draft, member):
    upload = xlsx_upload(
        [["Samples for mx shipment, December"], [], [None, None], ISPYB_TITLES, FULL_ISPYB, SECOND_ISPYB]
    )
    result = import_sheet(shipment=draft, user=member, uploaded_file=upload)
    assert_full_ispyb_row(draft)
    assert "with its header on line 4" in " ".join(result.messages)


def test_csv_with_a_title_row_above_the_native_header(draft, member):
    lines = [
        "Shipment to the ESRF,,,,",
        "",
        "Dewar,Container,Position,Protein acronym,Sample name,Forced space group,Energy (eV)",
        "D1,P1,1,LYS,lys-1,p21,12700",
    ]
    import_sheet(shipment=draft, user=member, uploaded_file=csv_upload(lines))
    sample = stored(draft)["D1", "P1", 1]
    assert (sample.forced_space_group, sample.space_group, sample.energy) == ("P21", "", 12700)


def test_a_full_row_above_the_header_is_refused_not_dropped(draft, member):
    lines = ["D0,P0,1,LYS,lys-0", "Dewar,Container,Position,Protein acronym,Sample name", "D1,P1,1,LYS,lys-1"]
    with pytest.raises(SheetError) as caught:
        import_sheet(shipment=draft, user=member, uploaded_file=csv_upload(lines))
    assert [(p.line, "above the header" in p.message) for p in caught.value.problems] == [(1, True)]


def test_a_file_of_no_known_shape_says_what_it_expects(draft, member):
    with pytest.raises(SheetError) as caught:
        import_sheet(shipment=draft, user=member, uploaded_file=csv_upload(["x,y,z", "1,2,3"]))
    assert "ISPyB shipping CSV" in caught.value.problems[0].message


# --- SynchWeb: Diamond profile ---------------------------------------------------------------------------------


@pytest.fixture
def visits(proposal):
    """The proposal's visits 1 and 2 (its sessions by start)."""
    first = f.SessionFactory(proposal=proposal)
    second = f.SessionFactory(
        proposal=proposal, beamline=first.beamline, start=first.end, end=first.end + (first.end - first.start)
    )
    return first, second


def diamond_rows(proposal) -> list[list]:
    common = [proposal.code, proposal.number, 2, "mx-2026-12-05_10-00", "dewar-tk"]
    return [
        [*common, "I03-0001", 1.6, 3.0, 0.1, "INS", "Insulin", "I213", "DF150E0221", "ins-x1", 1, "Z1992316315",
         78, 78, 78, 90, 90, 90, 1, "mitegen", 1.8, "diffraction", "OSC", "medium", 12658, "soak/ins1", "best", 2,
         "insulin-soaks"],
        [*common, "I03-0001", "", "", "", "INS", "Insulin", "I 21 3", "", "ins-x2", 2, "", "", "", "", "", "", "", "",
         "", "", "optical", "phasing", "", "", "", "none", "", ""],
    ]  # fmt: skip


@pytest.mark.parametrize("with_header", [True, False])
def test_synchweb_diamond_profile(draft, member, proposal, visits, with_header):
    rows = diamond_rows(proposal)
    lines = [DIAMOND_HEADERS, *rows] if with_header else ["# exported from SynchWeb", *rows]
    result = import_sheet(shipment=draft, user=member, uploaded_file=csv_upload(lines))
    samples = stored(draft)
    first = samples["dewar-tk", "I03-0001", 1]
    assert first.protein.name == "Insulin"
    values = {
        key: getattr(first, key)
        for key in (
            "observed_resolution", "minimum_resolution", "oscillation_width", "space_group", "pin_code", "name",
            "comments", "cell_a", "cell_gamma", "sublocation", "loop_type", "required_resolution",
            "centring_method", "experiment_kind", "radiation_sensitivity", "energy", "user_path",
            "screening_method", "screening_collect_value", "sample_group",
        )
    }  # fmt: skip
    assert values == {
        "observed_resolution": 1.6, "minimum_resolution": 3.0, "oscillation_width": 0.1, "space_group": "I213",
        "pin_code": "DF150E0221", "name": "ins-x1", "comments": "Z1992316315", "cell_a": 78, "cell_gamma": 90,
        "sublocation": 1, "loop_type": "mitegen", "required_resolution": 1.8, "centring_method": "diffraction",
        "experiment_kind": "OSC", "radiation_sensitivity": 50, "energy": 12658, "user_path": "soak/ins1",
        "screening_method": "best", "screening_collect_value": 2, "sample_group": "insulin-soaks",
    }  # fmt: skip
    second = samples["dewar-tk", "I03-0001", 2]
    assert (second.experiment_kind, second.centring_method, second.screening_method) == ("SAD", "optical", "none")
    # The visit number is the proposal's second session: the dewar is booked on it.
    assert first.container.dewar.session == visits[1]
    assert result.format == "SynchWeb CSV, Diamond profile"
    assert any("mx-2026-12-05_10-00" in m for m in result.messages)


def test_synchweb_diamond_rows_of_another_proposal_or_visit_are_refused(draft, member, proposal, visits):
    rows = diamond_rows(proposal)
    rows[0][0], rows[0][1] = "cm", "28170"
    rows[1][2] = 9
    before = db_state()
    with pytest.raises(SheetError) as caught:
        import_sheet(shipment=draft, user=member, uploaded_file=csv_upload([DIAMOND_HEADERS, *rows]))
    messages = {(p.line, p.column): p.message for p in caught.value.problems}
    assert "cm28170" in messages[2, "Proposal Code"]
    assert "no visit 9" in messages[3, "Visit Number"]
    assert db_state() == before


# --- SynchWeb: IMCA profile ------------------------------------------------------------------------------------


IMCA_ROWS = [
    ["Blue53", 1, "LYS", 1, "Manual", "Tricky", "Do best you can", "Luke", "C2",
     "143.734, 67.095, 76.899, 90, 110.45, 90", 1.9, 4, "luke-360.rcp", "", "", "", "", "", "", "", "", "", ""],
    ["Blue53", 3, "LYS", 3, "Auto", "Routine", "SeMet", "Luke", "P2", "52.4 39.8 65.0 108.5", 1.5, 1.7, "", 0.04,
     0.25, 360, "", 10, 300, "", "", "", ""],
    ["Blue54", 1, "TRYP", "", "Auto", "", "", "", "P212121", "67 82 276", 2.1, 2.5, "", "", 0.25, 180, 95, 10, 350,
     "image_", "", "", ""],
]  # fmt: skip


@pytest.fixture
def mailin_draft():
    proposal = f.ProposalFactory(code="in", number="0042", kind=ProposalKind.INDUSTRIAL, mail_in=True)
    return f.ShipmentFactory(proposal=proposal, name="Mail-in")


@pytest.mark.parametrize("with_header", [True, False])
def test_synchweb_imca_profile(mailin_draft, admin_user, with_header):
    lines = (
        [IMCA_HEADERS, *IMCA_ROWS] if with_header else ["; IMCA-CAT mail-in", "! puck Blue53 and Blue54", *IMCA_ROWS]
    )
    result = import_sheet(shipment=mailin_draft, user=admin_user, uploaded_file=csv_upload(lines))
    samples = stored(mailin_draft)
    # No dewar column: the pucks go into one new dewar; no sample names: named after puck and pin.
    assert set(samples) == {("Dewar-1", "Blue53", 1), ("Dewar-1", "Blue53", 3), ("Dewar-1", "Blue54", 1)}
    first, second, third = (
        samples["Dewar-1", "Blue53", 1],
        samples["Dewar-1", "Blue53", 3],
        samples["Dewar-1", "Blue54", 1],
    )
    assert first.name == "Blue53-1"
    assert (first.mailin_priority, first.collection_mode, first.comments) == (1, "manual", "Tricky | Do best you can")
    assert (first.contact_person, first.space_group, first.recipe) == ("Luke", "C2", "luke-360.rcp")
    cell = ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")
    assert tuple(getattr(first, k) for k in cell) == (143.734, 67.095, 76.899, 90, 110.45, 90)
    assert (first.aimed_resolution, first.required_resolution) == (1.9, 4)
    # A monoclinic cell given as a, b, c, beta; an orthorhombic one as a, b, c.
    assert tuple(getattr(second, k) for k in cell) == (52.4, 39.8, 65.0, 90, 108.5, 90)
    assert tuple(getattr(third, k) for k in cell) == (67, 82, 276, 90, 90, 90)
    assert (second.exposure_time, second.oscillation_width, second.total_rotation) == (0.04, 0.25, 360)
    assert (second.preferred_beam_size, second.detector_distance) == (10, 300)
    assert (third.transmission, third.image_prefix, third.collection_mode) == (95, "image_", "auto")
    assert result.format == "SynchWeb CSV, IMCA profile"


def test_imca_facility_columns_must_be_empty(mailin_draft, admin_user):
    rows = [list(r) for r in IMCA_ROWS]
    rows[1][21] = "Looks great"
    before = db_state()
    with pytest.raises(SheetError) as caught:
        import_sheet(shipment=mailin_draft, user=admin_user, uploaded_file=csv_upload([IMCA_HEADERS, *rows]))
    assert [(p.line, p.column) for p in caught.value.problems] == [(3, "Comments From Staff")]
    assert db_state() == before


def test_imca_partial_cell_without_a_fixing_group_is_refused_by_line(mailin_draft, admin_user):
    rows = [list(r) for r in IMCA_ROWS]
    rows[0][8] = "P1"
    rows[0][9] = "50 60 70"
    with pytest.raises(SheetError) as caught:
        import_sheet(shipment=mailin_draft, user=admin_user, uploaded_file=csv_upload([IMCA_HEADERS, *rows]))
    assert [(p.line, p.column) for p in caught.value.problems] == [(2, "Expected Cell Dimensions")]


def test_a_range_of_resolutions_is_refused_with_its_reason(mailin_draft, admin_user):
    rows = [list(r) for r in IMCA_ROWS]
    rows[2][10] = "1.9-3.5"
    with pytest.raises(SheetError) as caught:
        import_sheet(shipment=mailin_draft, user=admin_user, uploaded_file=csv_upload([IMCA_HEADERS, *rows]))
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (4, "Expected Resolution")
    assert "is a range" in problem.message


# --- encodings --------------------------------------------------------------------------------------------------


ENCODINGS = [
    pytest.param({"encoding": "utf-8"}, id="utf-8"),
    pytest.param({"encoding": "utf-8", "bom": True}, id="utf-8-bom"),
    pytest.param({"encoding": "cp1252"}, id="windows-1252"),
    pytest.param({"encoding": "utf-8", "delimiter": ";", "decimal": ","}, id="semicolon-decimal-comma"),
    pytest.param({"encoding": "cp1252", "delimiter": ";", "decimal": ",", "bom": False}, id="excel-fr"),
    pytest.param({"encoding": "utf-8", "delimiter": "\t"}, id="tab"),
]


@pytest.mark.parametrize("options", ENCODINGS)
@pytest.mark.parametrize("header", [None, ISPYB_TITLES], ids=["headerless", "titled"])
def test_ispyb_csv_in_every_encoding(draft, member, options, header):
    lines = [*EXI_COMMENTS] if header is None else [header]
    if options.get("delimiter", ",") != ",":
        lines = [line.replace(",", options["delimiter"]) if isinstance(line, str) else line for line in lines]
    import_sheet(shipment=draft, user=member, uploaded_file=csv_upload([*lines, FULL_ISPYB, SECOND_ISPYB], **options))
    assert_full_ispyb_row(draft)


@pytest.mark.parametrize("options", ENCODINGS)
@pytest.mark.parametrize("header", [True, False], ids=["header", "headerless"])
def test_synchweb_imca_in_every_encoding(mailin_draft, admin_user, options, header):
    rows = [[c.replace(", ", " ") if isinstance(c, str) else c for c in r] for r in IMCA_ROWS]
    lines = [IMCA_HEADERS, *rows] if header else rows
    import_sheet(shipment=mailin_draft, user=admin_user, uploaded_file=csv_upload(lines, **options))
    first = stored(mailin_draft)["Dewar-1", "Blue53", 1]
    assert (first.cell_beta, first.aimed_resolution, first.comments) == (110.45, 1.9, "Tricky | Do best you can")


def test_synchweb_diamond_as_xlsx(draft, member, proposal, visits):
    import_sheet(shipment=draft, user=member, uploaded_file=xlsx_upload([DIAMOND_HEADERS, *diamond_rows(proposal)]))
    first = stored(draft)["dewar-tk", "I03-0001", 1]
    assert (first.energy, first.screening_method, first.oscillation_width) == (12658, "best", 0.1)


def test_headerless_ispyb_as_xlsx(draft, member):
    import_sheet(shipment=draft, user=member, uploaded_file=xlsx_upload([FULL_ISPYB, SECOND_ISPYB]))
    assert_full_ispyb_row(draft)


# SynchWeb's own IMCA example (client/src/js/csv/imca.js, exampleCSV), verbatim: a file with mistakes in it.
IMCA_EXAMPLE = """Puck,Pin,Project,Priority,Mode,Notes to Staff,Collection strategy,Contact person,Expected space group,Expected Cell Dimensions,Expected Resolution,Minimum Resolution Required to Collect,Recipe,Exposure time,Image Width,Phi,Attenuation,Aperture,Detector Distance,Prefix for frames,Observed Resolution,Comments From Staff,Status
Blue53,1,a,1,Manual,Tricky,Do best you can,Luke,C2,"143.734, 67.095, 76.899, 90, 110.45, 90",1.9-3.5,4,luke-360.rcp,,,,,,,,,,
Blue53,2,a,1,Manual,Very tricky,New crystals,Luke,C2,140 65 75 90 110 90,1.8-2.4,3.5,,0.1,0.25,,95,5,250,image_,,,
Blue53,2,a,1,Manual,Very tricky,New crystals,Luke,C2,140 65 75 90 110 90,1.8-2.4,3.5,,0.1,0.25,,95,5,250,image_,,,
Blue53,3,b,3,Auto,Routine,SeMet,Luke,P2,52.4 39.8 65.0 108.5,1.5,1.7,,0.04,0.25,360,,10,300,,,,
Blue53,4,c,3,Auto,Rods,Native,Luke,P21,39 69.2 60 90 105.3,1.5,1.7,,0.04,0.25,360,95,20,,image_,,,
Blue53,5,d,8,,Plates,,Luke,C222,280 45 112 102 90,1.5,1.7,,0.04,0.25,360,95,50,300,image_,,,
Blue54,1,e,,Auto,,,,P212121,67 82 276,2.1,2.5,,,0.25,180,,10,350,image_,,,
Blue54,2,e,4,,,,Luke,P2(1)2(1)2(1),67 82 276,,1.7,luke-180.rcp,,,,,,,,,,
Blue54,3,f,,Auto,,,,P222,,2.1,,,0.04,,180,95,,350,image_,,,
Blue54,4,g,4,Auto,,,Luke,,,2.1,2.5,,0.04,0.25,180,75,,350,image_,,,
Blue54,5,h,99,Auto,,,Luke,P222,,2.2,2.5,,0.04,0.25,180,95,,400,image_,,,
    """


def test_synchweb_imca_example_file_is_refused_exactly_where_it_is_wrong(mailin_draft, admin_user):
    """Ranges of resolutions, five-value cells and priorities beyond 5 are refused by line and column; the rest
    of SynchWeb's example is read (nothing saved, as a sheet is all or nothing)."""
    upload = SimpleUploadedFile("imca.csv", IMCA_EXAMPLE.encode(), content_type="text/csv")
    with pytest.raises(SheetError) as caught:
        import_sheet(shipment=mailin_draft, user=admin_user, uploaded_file=upload)
    assert sorted({(p.line, p.column) for p in caught.value.problems}) == [
        (2, "Expected Resolution"),
        (3, "Expected Resolution"),
        (4, "Expected Resolution"),
        (6, "Expected Cell Dimensions"),
        (7, "Expected Cell Dimensions"),
        (7, "Priority"),
        (12, "Priority"),
    ]
    assert not Sample.objects.exists()

    # With those mistakes put right (one resolution, six-value cells, priorities 1 to 5, the duplicate row
    # removed), the same file imports unedited otherwise.
    fixed = (
        IMCA_EXAMPLE.replace("1.9-3.5", "1.9")
        .replace("1.8-2.4", "1.8")
        .replace("39 69.2 60 90 105.3", "39 69.2 60 90 105.3 90")
        .replace("280 45 112 102 90", "280 45 112")
        .replace("Blue53,5,d,8,", "Blue53,5,d,5,")
        .replace("Blue54,5,h,99,", "Blue54,5,h,5,")
    )
    lines = fixed.splitlines()
    del lines[3]
    upload = SimpleUploadedFile("imca.csv", "\n".join(lines).encode(), content_type="text/csv")
    result = import_sheet(shipment=mailin_draft, user=admin_user, uploaded_file=upload)
    assert result.samples == 10
    rods = stored(mailin_draft)["Dewar-1", "Blue53", 4]
    assert (rods.space_group, rods.cell_beta, rods.comments, rods.protein.acronym) == (
        "P21",
        105.3,
        "Rods | Native",
        "c",
    )


@pytest.mark.parametrize("header", [None, ISPYB_TITLES], ids=["headerless", "titled"])
def test_a_dewar_named_like_a_comment_is_read_not_skipped(draft, member, header):
    """'#', ';' and '!' open comment lines, but a row that is a whole sample row is a sample: a dewar may be
    called "#1 box" (the export writes such rows; skipping them would lose samples)."""
    rows = [
        ispyb_row(**{"parcel name": "#1 box"}),
        ispyb_row(**{"parcel name": "!2", "container name": "c2", "sample acronym": "lys-2"}),
    ]
    lines = [*EXI_COMMENTS, *rows] if header is None else [header, *rows]
    result = import_sheet(shipment=draft, user=member, uploaded_file=csv_upload(lines))
    assert result.samples == 2
    assert set(stored(draft)) == {("#1 box", "containerA3", 1), ("!2", "c2", 1)}


def test_a_sample_row_with_header_like_names_is_not_taken_for_a_header(draft, member):
    """Dewar "Dewar", puck "Puck", protein "Protein": words of the native header, but a position makes it a row."""
    row = ispyb_row(**{"parcel name": "Dewar", "container name": "Puck", "protein acronym": "Protein"})
    result = import_sheet(shipment=draft, user=member, uploaded_file=csv_upload([row, SECOND_ISPYB]))
    assert result.format == "ISPyB shipping CSV (EXI, py-ispyb-ui)"
    assert set(stored(draft)) == {("Dewar", "Puck", 1), ("parcelA3", "containerA3", 2)}
