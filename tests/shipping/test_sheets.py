"""The sample-sheet import: CSV and XLSX in, a shipment's tree out, or every problem by line and column."""

import io
import zipfile

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from lims.errors import Frozen
from lims.models import AuditEntry
from samples.choices import ContainerType, ExperimentKind
from samples.models import Container, Protein, Sample
from shipping import sheets
from shipping.models import Dewar
from shipping.services import shipment_send
from shipping.sheets import HEADERS, SheetError, import_sheet, template_csv, template_xlsx
from tests import factories as f

pytestmark = pytest.mark.django_db


# --- helpers -------------------------------------------------------------------------------------------


WHOLE_CELL = {"cell_a": 50, "cell_b": 60, "cell_c": 70, "cell_alpha": 90, "cell_beta": 90, "cell_gamma": 90}


def row(**cells) -> list:
    """A sheet row in template column order; ``cells`` by key (dewar, container, position, name, ...)."""
    values = {
        "dewar": "D1",
        "container": "P1",
        "container_type": "",
        "position": 1,
        "protein_acronym": "LYS",
        "name": "lys-1",
        **cells,
    }
    if any(key.startswith("cell_") for key in cells):  # a cell is all six values: the others around the one given
        for key, default in WHOLE_CELL.items():
            values.setdefault(key, default)
    return ["" if values.get(c.key) is None else values.get(c.key, "") for c in sheets.COLUMNS]


def csv_file(rows, *, header=HEADERS, delimiter=",", encoding="utf-8", bom=False, name="samples.csv"):
    lines = [delimiter.join(str(c) for c in header)] + [delimiter.join(str(c) for c in r) for r in rows]
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    return SimpleUploadedFile(name, (b"\xef\xbb\xbf" if bom else b"") + data, content_type="text/csv")


def xlsx_file(rows, *, header=HEADERS, name="samples.xlsx") -> SimpleUploadedFile:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    workbook.save(out)
    return SimpleUploadedFile(name, out.getvalue())


def problems_of(exc_info) -> set[tuple]:
    return {(p.line, p.column) for p in exc_info.value.problems}


def db_state() -> tuple:
    return (
        Dewar.objects.count(),
        Container.objects.count(),
        Protein.objects.count(),
        list(Sample.objects.order_by("id").values_list("id", "container_id", "position", "name", "comments")),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def draft(proposal):
    """An empty draft shipment of Alice's proposal."""
    return f.ShipmentFactory(proposal=proposal, name="Empty")


def samples_of(shipment):
    return {
        (s.container.dewar.name, s.container.name, s.position): s
        for s in Sample.objects.filter(container__shipment=shipment).select_related("container__dewar", "protein")
    }


# --- good sheets ---------------------------------------------------------------------------------------------


def test_csv_with_commas_creates_the_tree(draft, member):
    upload = csv_file(
        [
            row(
                container_type="SPINE",
                position=1,
                name="lys-1",
                pin_code="ab12345678",
                space_group="P43212",
                cell_a="79.1",
                cell_b="79.1",
                cell_c="37.9",
                cell_alpha=90,
                cell_beta=90,
                cell_gamma=90,
                experiment_kind="SAD",
                required_resolution="1.8",
                comments="first",
            ),
            row(container_type="SPINE", position=2, name="lys-2"),
            row(dewar="D2", container="P2", position=16, protein_acronym="TRYP", name="tryp-1"),
        ]
    )
    result = import_sheet(shipment=draft, user=member, uploaded_file=upload)

    assert (result.dewars, result.containers, result.samples) == (2, 2, 3)
    assert "3 samples (3 new, 0 replaced)" in result.messages[0]
    found = samples_of(draft)
    first = found[("D1", "P1", 1)]
    assert first.container.container_type == ContainerType.SPINE and first.container.capacity == 10
    assert first.pin_code == "AB12345678" and first.protein.acronym == "LYS"
    assert (first.cell_a, first.cell_c, first.cell_gamma, first.required_resolution) == (79.1, 37.9, 90, 1.8)
    assert (first.space_group, first.experiment_kind, first.comments) == ("P43212", "SAD", "first")
    assert found[("D1", "P1", 2)].experiment_kind == ExperimentKind.DEFAULT
    assert found[("D2", "P2", 16)].container.container_type == ContainerType.UNIPUCK  # empty type → UniPuck
    assert all(d.barcode for d in draft.dewars.all())


def test_semicolon_csv_with_bom_and_decimal_commas(draft, member):
    upload = csv_file(
        [
            row(
                cell_a="79,1",
                cell_b="79,1",
                cell_c="37,9",
                cell_alpha="90",
                cell_beta="90",
                cell_gamma="90",
                required_resolution="1,85",
                comments="Kristall für SAD",
            )
        ],
        delimiter=";",
        bom=True,
    )
    import_sheet(shipment=draft, user=member, uploaded_file=upload)
    sample = Sample.objects.get(container__shipment=draft)
    assert (sample.cell_a, sample.required_resolution, sample.comments) == (79.1, 1.85, "Kristall für SAD")


def test_tab_separated_latin1_csv(draft, member):
    upload = csv_file([row(comments="cristal congelé")], delimiter="\t", encoding="latin-1")
    import_sheet(shipment=draft, user=member, uploaded_file=upload)
    assert Sample.objects.get(container__shipment=draft).comments == "cristal congelé"


def test_excel_unicode_text_export(draft, member):
    """Excel's "Unicode text": UTF-16 with a BOM, tab-separated."""
    text = "\t".join(HEADERS) + "\r\n" + "\t".join(str(c) for c in row(comments="α-helix")) + "\r\n"
    import_sheet(shipment=draft, user=member, uploaded_file=SimpleUploadedFile("s.txt", text.encode("utf-16")))
    assert Sample.objects.get(container__shipment=draft).comments == "α-helix"


def test_excel_separator_hint_line(draft, member):
    text = "sep=;\r\n" + ";".join(HEADERS) + "\r\n" + ";".join(str(c) for c in row(cell_a="1,5")) + "\r\n"
    import_sheet(shipment=draft, user=member, uploaded_file=SimpleUploadedFile("s.csv", text.encode()))
    assert Sample.objects.get(container__shipment=draft).cell_a == 1.5


def test_headers_are_matched_case_insensitively_and_by_alias(draft, member):
    header = [
        "DEWAR",
        "Puck",
        "Puck type",
        "Sample position",
        "Protein",
        "sample name",
        "Pin code",
        "Spacegroup",
        "Cell a",
        "Cell b",
        "Cell c",
        "α",
        "β",
        "γ",
        "Experiment type",
        "Required resolution (Å)",
        "Comment",
    ]
    upload = csv_file([row(pin_code="XY00000001", cell_alpha="91", cell_gamma="120")], header=header)
    import_sheet(shipment=draft, user=member, uploaded_file=upload)
    sample = Sample.objects.get(container__shipment=draft)
    assert (sample.pin_code, sample.cell_alpha, sample.cell_gamma) == ("XY00000001", 91, 120)


def test_columns_may_come_in_any_order_and_optional_ones_may_be_missing(draft, member):
    header = ["Sample name", "Position", "Protein acronym", "Container", "Dewar"]
    upload = csv_file([["x1", "4", "LYS", "P9", "D9"]], header=header)
    import_sheet(shipment=draft, user=member, uploaded_file=upload)
    assert set(samples_of(draft)) == {("D9", "P9", 4)}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("SPINE", ContainerType.SPINE),
        ("Spine puck", ContainerType.SPINE),
        ("SPINE puck (10)", ContainerType.SPINE),
        ("unipuck", ContainerType.UNIPUCK),
        ("UniPuck", ContainerType.UNIPUCK),
        ("Uni-Puck", ContainerType.UNIPUCK),
        ("", ContainerType.UNIPUCK),
        ("Other", ContainerType.OTHER),
    ],
)
def test_container_type_spellings(draft, member, cell, expected):
    import_sheet(shipment=draft, user=member, uploaded_file=csv_file([row(container_type=cell)]))
    assert Container.objects.get(shipment=draft).container_type == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("mxpresse", ExperimentKind.MXPRESS_E),
        ("SAD - inverse beam", ExperimentKind.SAD_INVERSE),
        ("Molecular replacement", ExperimentKind.MR),
        ("OSC (native)", ExperimentKind.OSC),
        ("Screening only", ExperimentKind.SCREENING),
        ("", ExperimentKind.DEFAULT),
    ],
)
def test_experiment_kind_values_and_labels(draft, member, cell, expected):
    import_sheet(shipment=draft, user=member, uploaded_file=csv_file([row(experiment_kind=cell)]))
    assert Sample.objects.get(container__shipment=draft).experiment_kind == expected


def test_other_container_is_as_large_as_its_largest_position(draft, member):
    upload = csv_file([row(container_type="other", position=3), row(container_type="", position=24, name="lys-2")])
    result = import_sheet(shipment=draft, user=member, uploaded_file=upload)
    container = Container.objects.get(shipment=draft)
    assert (container.container_type, container.capacity) == (ContainerType.OTHER, 24)
    assert any("24 positions" in m for m in result.messages)


def test_xlsx_with_numeric_cells(draft, member):
    upload = xlsx_file(
        [
            row(position=3.0, name=1234, cell_a=79.1, required_resolution=2),
            [None] * len(HEADERS),
            row(position=4, name="lys-4", cell_a="78,5", container=7),
        ]
    )
    result = import_sheet(shipment=draft, user=member, uploaded_file=upload)
    assert result.samples == 2
    found = samples_of(draft)
    assert found[("D1", "P1", 3)].name == "1234" and found[("D1", "P1", 3)].cell_a == 79.1
    assert found[("D1", "7", 4)].cell_a == 78.5


def test_blank_lines_are_skipped_and_lines_still_count(draft, member):
    text = ",".join(HEADERS) + "\n\n" + ",".join(str(c) for c in row()) + "\n,,,\n\n"
    text += ",".join(str(c) for c in row(position=2, name="bad name")) + "\n"
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=draft, user=member, uploaded_file=SimpleUploadedFile("s.csv", text.encode()))
    assert problems_of(err) == {(6, "Sample name")}


def test_quoted_multiline_comment_keeps_line_numbers(draft, member):
    text = ",".join(HEADERS) + "\n" + ",".join(str(c) for c in row(comments='"two\nlines"')) + "\n"
    text += ",".join(str(c) for c in row(position="x", name="lys-2")) + "\n"
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=draft, user=member, uploaded_file=SimpleUploadedFile("s.csv", text.encode()))
    assert problems_of(err) == {(4, "Position")}


def test_forty_rows_for_two_dewars_of_four_pucks(draft, member):
    rows = [
        row(dewar=f"D{d}", container=f"D{d}-P{p}", position=s, name=f"x{d}{p}{s}", container_type="unipuck")
        for d in (1, 2)
        for p in (1, 2, 3, 4)
        for s in range(1, 6)
    ]
    result = import_sheet(shipment=draft, user=member, uploaded_file=csv_file(rows))
    assert (result.dewars, result.containers, result.samples) == (2, 8, 40)
    assert draft.dewars.count() == 2
    assert Container.objects.filter(shipment=draft, dewar__name="D2").count() == 4
    assert Sample.objects.filter(container__shipment=draft).count() == 40


# --- merging into a shipment that has contents -----------------------------------------------------------


def test_import_merges_into_existing_contents(shipment, member):
    """Alice-1 holds dewar Alice-1-D1 with puck Alice-1-D1-P1 and samples at positions 1 to 3."""
    before = samples_of(shipment)
    Sample.objects.filter(pk=before[("Alice-1-D1", "Alice-1-D1-P1", 1)].pk).update(comments="kept")
    upload = csv_file(
        [
            row(dewar="Alice-1-D1", container="Alice-1-D1-P1", position=2, name="renamed", comments="new"),
            row(dewar="Alice-1-D1", container="Alice-1-D1-P1", position=5, name="added"),
            row(dewar="Alice-1-D1", container="P-new", position=1, name="in-new-puck"),
            row(dewar="D-new", container="P-other", container_type="SPINE", position=1, name="in-new-dewar"),
        ]
    )
    result = import_sheet(shipment=shipment, user=member, uploaded_file=upload)

    after = samples_of(shipment)
    assert len(after) == 3 + 4 - 1
    # Untouched samples stay as they were; the replaced one keeps its identity with the row's fields.
    assert after[("Alice-1-D1", "Alice-1-D1-P1", 1)].pk == before[("Alice-1-D1", "Alice-1-D1-P1", 1)].pk
    assert after[("Alice-1-D1", "Alice-1-D1-P1", 1)].comments == "kept"
    assert after[("Alice-1-D1", "Alice-1-D1-P1", 3)].name == before[("Alice-1-D1", "Alice-1-D1-P1", 3)].name
    replaced = after[("Alice-1-D1", "Alice-1-D1-P1", 2)]
    assert replaced.pk == before[("Alice-1-D1", "Alice-1-D1-P1", 2)].pk
    assert (replaced.name, replaced.comments) == ("renamed", "new")
    assert shipment.dewars.count() == 2
    assert (result.dewars, result.containers, result.samples) == (2, 3, 4)
    assert "4 samples (3 new, 1 replaced)" in result.messages[0]


def test_replacing_a_sample_keeps_the_fields_the_sheet_has_no_column_for(shipment, member):
    Sample.objects.filter(container__shipment=shipment, position=1).update(comments="keep me", cell_a=50)
    header = ["Dewar", "Container", "Position", "Protein acronym", "Sample name", "a"]
    upload = csv_file([["Alice-1-D1", "Alice-1-D1-P1", 1, "LYS", "again", ""]], header=header)
    import_sheet(shipment=shipment, user=member, uploaded_file=upload)
    sample = Sample.objects.get(container__shipment=shipment, position=1)
    # Present column, empty cell: cleared. No column: kept.
    assert (sample.name, sample.cell_a, sample.comments) == ("again", None, "keep me")


def test_container_already_in_another_dewar_of_the_shipment(shipment, member):
    upload = csv_file([row(dewar="D-new", container="Alice-1-D1-P1", position=9)])
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=shipment, user=member, uploaded_file=upload)
    assert problems_of(err) == {(2, "Container")}
    assert "Alice-1-D1" in err.value.problems[0].message


def test_conflict_with_a_sample_no_row_touches_is_reported_without_a_line(shipment, member):
    upload = csv_file([row(dewar="Alice-1-D1", container="Alice-1-D1-P1", position=9, name="Alice-1-0-0-0")])
    state = db_state()
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=shipment, user=member, uploaded_file=upload)
    assert problems_of(err) == {(2, "Sample name"), (None, "Sample name")}
    unlined = next(p for p in err.value.problems if p.line is None)
    assert "Alice-1-0-0-0" in unlined.message and "already in the shipment" in unlined.message
    assert db_state() == state


# --- bad sheets ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        ({"name": ""}, "Sample name"),
        ({"name": "my crystal"}, "Sample name"),
        ({"dewar": ""}, "Dewar"),
        ({"container": ""}, "Container"),
        ({"container": "Puck 1"}, "Container"),
        ({"protein_acronym": ""}, "Protein acronym"),
        ({"protein_acronym": "my protein"}, "Protein acronym"),
        ({"position": ""}, "Position"),
        ({"position": "A1"}, "Position"),
        ({"position": "2.5"}, "Position"),
        ({"position": 0}, "Position"),
        ({"position": 101}, "Position"),
        ({"position": 17}, "Position"),  # a UniPuck has 16 positions: found by the service
        ({"container_type": "SPINE", "position": 11}, "Position"),
        ({"container_type": "cassette"}, "Container type"),
        ({"pin_code": "123"}, "Pin barcode"),
        ({"cell_a": "abc"}, "a"),
        ({"cell_b": "-3"}, "b"),
        ({"cell_alpha": "200"}, "alpha"),
        ({"cell_gamma": "nan"}, "gamma"),
        ({"experiment_kind": "SAXS"}, "Experiment kind"),
        ({"required_resolution": "0"}, "Required resolution"),
        ({"space_group": "P" * 30}, "Space group"),
    ],
)
def test_each_bad_cell_is_reported_on_its_line_and_column(draft, member, cells, column):
    upload = csv_file([row(position=1, name="ok-1"), row(**{"position": 2, "name": "ok-2", **cells})])
    state = db_state()
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=draft, user=member, uploaded_file=upload)
    assert problems_of(err) == {(3, column)}
    assert db_state() == state


def test_several_problems_at_once_and_nothing_is_saved(draft, member):
    upload = csv_file(
        [
            row(position=1, name="good-1"),
            row(position="x", name="bad name", cell_a="abc"),  # line 3: three problems
            row(position=2, name="good-2"),
            row(position=2, name="same-slot"),  # line 5: position of line 4
            row(dewar="D2", container="P1", position=3, name="elsewhere"),  # line 6: P1 is in D1
            row(container="P3", container_type="SPINE", position=1, name="a-1"),
            row(container="P3", container_type="unipuck", position=2, name="a-2"),  # line 8: type of line 7
            row(container="P4", position=1, name="good-1"),  # line 9: name of line 2 (same protein)
        ],
        delimiter=";",
    )
    state = db_state()
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=draft, user=member, uploaded_file=upload)
    assert problems_of(err) == {
        (2, "Sample name"),
        (3, "Position"),
        (3, "Sample name"),
        (3, "a"),
        (5, "Position"),
        (6, "Container"),
        (8, "Container type"),
        (9, "Sample name"),
    }
    by_line = {p.line: p.message for p in err.value.problems}
    assert "line 4" in by_line[5] and "line 2" in by_line[6] and "line 7" in by_line[8]
    assert [p.line for p in err.value.problems] == sorted(p.line for p in err.value.problems)
    assert db_state() == state


def test_good_rows_are_not_saved_when_another_row_is_bad(draft, member):
    upload = csv_file([row(position=1, name="fine"), row(position="?", name="fine-2")])
    with pytest.raises(SheetError):
        import_sheet(shipment=draft, user=member, uploaded_file=upload)
    assert not Sample.objects.filter(container__shipment=draft).exists()
    assert not draft.dewars.exists()


def test_sample_name_used_in_another_shipment_of_the_proposal(shipment, draft, member):
    upload = csv_file([row(name="Alice-1-0-0-1")])
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=draft, user=member, uploaded_file=upload)
    assert problems_of(err) == {(2, "Sample name")}
    assert "another shipment" in err.value.problems[0].message


def test_pin_code_of_a_live_sample_elsewhere(proposal, draft, member):
    f.SampleFactory(pin_code="AB12345678")
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=draft, user=member, uploaded_file=csv_file([row(pin_code="ab12345678")]))
    assert problems_of(err) == {(2, "Pin barcode")}


def test_errors_on_a_container_are_reported_on_each_of_its_rows(draft, member, monkeypatch):
    """Paths above a sample (dewar, container) point at every row that described that object."""

    def refuse(**kwargs):
        raise ValidationError(
            {"dewars.0.containers.1.capacity": ["Too small."], "dewars.1.name": ["Bad dewar."], "name": ["Odd."]}
        )

    monkeypatch.setattr(sheets.merging, "shipment_update", refuse)
    upload = csv_file(
        [
            row(container="P1", position=1, name="a"),
            row(container="P2", position=1, name="b"),
            row(container="P2", position=2, name="c"),
            row(dewar="D2", container="P3", position=1, name="d"),
        ]
    )
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=draft, user=member, uploaded_file=upload)
    assert problems_of(err) == {(3, "Container type"), (4, "Container type"), (5, "Dewar"), (None, None)}


def test_unknown_duplicate_and_missing_columns(draft, member):
    header = ["Dewar", "Puck", "Container", "Position", "Protein acronym", "Colour", "a"]
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=draft, user=member, uploaded_file=csv_file([], header=header))
    assert problems_of(err) == {(1, "Container"), (1, "Colour"), (1, "Sample name")}
    messages = " ".join(p.message for p in err.value.problems)
    assert "Unknown column" in messages and "missing" in messages


def test_value_in_a_column_without_header(draft, member):
    upload = csv_file([row() + ["surprise"]])
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=draft, user=member, uploaded_file=upload)
    assert problems_of(err) == {(2, None)}


def test_header_only(draft, member):
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=draft, user=member, uploaded_file=csv_file([]))
    assert problems_of(err) == {(None, None)}
    assert "no samples" in str(err.value)


def _zip(members: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("photo.png", PNG, "not a sample sheet"),
        ("samples.csv", b"", "empty"),
        ("samples.csv", b"  \r\n\r\n", "empty"),
        ("samples.xlsx", b"this is not a workbook at all", "not an Excel workbook"),
        ("samples.xlsx", b"PK\x03\x04" + b"\x00garbage" * 50, "corrupted"),
        ("samples.xlsx", _zip({"xl/workbook.xml": "<nonsense"}), "corrupted"),
        ("archive.zip", _zip({"readme.txt": "hello"}), "zip archive"),
        ("samples.ods", _zip({"mimetype": "application/vnd.oasis.opendocument.spreadsheet"}), "OpenDocument"),
        ("samples.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
        ("notes.txt", b"Dear facility,\nplease find our samples.\n", "header"),
    ],
)
def test_files_that_are_not_sample_sheets(draft, member, name, content, words):
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=draft, user=member, uploaded_file=SimpleUploadedFile(name, content))
    assert words in str(err.value)
    assert all(p.line in (None, 1) for p in err.value.problems)


def test_a_file_larger_than_5_mb(draft, member):
    content = (",".join(HEADERS) + "\n").encode() + b"x" * sheets.MAX_BYTES
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=draft, user=member, uploaded_file=SimpleUploadedFile("big.csv", content))
    assert problems_of(err) == {(None, None)} and "5 MB" in str(err.value)


def test_more_than_5000_rows(draft, member):
    rows = [row(container=f"P{i // 16}", position=i % 16 + 1, name=f"x{i}") for i in range(sheets.MAX_ROWS + 1)]
    with pytest.raises(SheetError) as err:
        import_sheet(shipment=draft, user=member, uploaded_file=csv_file(rows))
    assert problems_of(err) == {(None, None)} and "5000 rows" in str(err.value)


def test_5000_rows_are_accepted_by_the_reader():
    rows = [[str(i)] for i in range(sheets.MAX_ROWS)]
    text = "Dewar\n" + "\n".join(",".join(r) for r in rows)
    assert len(sheets.reading._read_csv(text).rows) == sheets.MAX_ROWS + 1


def test_sent_shipment_is_frozen(shipment, member):
    shipment_send(shipment=shipment, user=member)
    state = db_state()
    with pytest.raises(Frozen):
        import_sheet(shipment=shipment, user=member, uploaded_file=csv_file([row()]))
    # Even a bad sheet: there is no point fixing it for a shipment that cannot change.
    with pytest.raises(Frozen):
        import_sheet(shipment=shipment, user=member, uploaded_file=SimpleUploadedFile("x.png", PNG))
    assert db_state() == state


# --- templates ----------------------------------------------------------------------------------------------------


def test_csv_template_imports_cleanly_into_an_empty_draft(draft, member):
    content = template_csv()
    assert content.decode().splitlines()[0] == ",".join(HEADERS)
    result = import_sheet(shipment=draft, user=member, uploaded_file=SimpleUploadedFile("t.csv", content))
    assert (result.dewars, result.containers, result.samples) == (1, 1, 2)


def test_xlsx_template_imports_cleanly_into_an_empty_draft(draft, member):
    content = template_xlsx()
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == list(HEADERS)
    assert all(c.font.bold for c in sheet[1])
    assert sheet.column_dimensions["F"].width >= 12
    validated = {str(v.sqref).split(":")[0] for v in sheet.data_validations.dataValidation}
    # Container type, experiment kind, request, data set, priority, centring method, collection mode, screening
    assert validated == {"C2", "O2", "S2", "T2", "V2", "AO2", "AP2", "AQ2"}

    result = import_sheet(shipment=draft, user=member, uploaded_file=SimpleUploadedFile("t.xlsx", content))
    assert (result.dewars, result.containers, result.samples) == (1, 1, 2)
    sample = Sample.objects.get(container__shipment=draft, position=1)
    assert (sample.cell_a, sample.experiment_kind) == (79.1, ExperimentKind.MXPRESS_E)
