"""A zip-bomb XLSX is refused from the zip's directory, before openpyxl (or anything else) unpacks it."""

import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shipping.sheets import SheetError, import_sheet
from shipping.sheets.base import MAX_XLSX_MEMBERS
from tests import factories as f
from tests.shipping.test_sheets import db_state, row, xlsx_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(proposal):
    return f.ShipmentFactory(proposal=proposal, name="Empty")


@pytest.fixture
def openpyxl_must_not_run(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl read the workbook")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


def with_members(extra: dict[str, bytes]) -> SimpleUploadedFile:
    """A real workbook with ``extra`` members added (or replacing its own)."""
    base = xlsx_file([row()]).read()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename not in extra:
                dst.writestr(info.filename, src.read(info.filename))
        for name, data in extra.items():
            dst.writestr(name, data)
    return SimpleUploadedFile("samples.xlsx", out.getvalue())


def refused(draft, member, upload) -> str:
    before = db_state()
    with pytest.raises(SheetError) as exc:
        import_sheet(shipment=draft, user=member, uploaded_file=upload)
    assert db_state() == before
    return exc.value.problems[0].message


def test_a_highly_compressed_sheet_is_refused_unread(draft, member, openpyxl_must_not_run):
    # 30 MB of XML that deflates to a few kB: a zip bomb in miniature (a real one unpacks to gigabytes).
    sheet = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    bomb = sheet + b" " * 30_000_000 + b"</sheetData></worksheet>"
    message = refused(draft, member, with_members({"xl/worksheets/sheet1.xml": bomb}))
    assert "unpacks to far more" in message


def test_a_workbook_unpacking_past_the_limit_is_refused_unread(draft, member, openpyxl_must_not_run, monkeypatch):
    monkeypatch.setattr("shipping.sheets.reading.MAX_XLSX_UNPACKED", 10_000)
    message = refused(draft, member, with_members({"docProps/custom.xml": bytes(range(256)) * 64}))
    assert "unpacks to far more" in message


def test_a_workbook_of_too_many_parts_is_refused_unread(draft, member, openpyxl_must_not_run):
    parts = {f"xl/media/image{i}.bin": b"x" for i in range(MAX_XLSX_MEMBERS + 1)}
    assert "parts" in refused(draft, member, with_members(parts))


def test_a_bomb_named_mimetype_is_not_unpacked_either(draft, member, openpyxl_must_not_run):
    assert "unpacks to far more" in refused(draft, member, with_members({"mimetype": b"\0" * 30_000_000}))


def test_an_ordinary_workbook_still_imports(draft, member):
    import_sheet(shipment=draft, user=member, uploaded_file=xlsx_file([row(), row(position=2, name="lys-2")]))
    assert draft.containers.get().samples.count() == 2
