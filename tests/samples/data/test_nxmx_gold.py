"""``read_nxmx`` against a gold standard: NXmx master files written by Diamond's nexgen (tests/samples/data/nxmx_files.py),
their expected fields read by dials' ``nxmx`` reader (``nxmx_files.truth``), never by ``samples.data.nxmx``.

How read_nxmx's dict is compared with truth: a key absent from it means None; floats to 1e-9 (relative); the
times are ISO strings, parsed with Django's parse_datetime and compared as datetimes. truth's
``end_time_estimated`` is the file's estimate (a datetime); read_nxmx's is a flag: True when the file gives only
the estimate, and then its ``end_time`` is the estimate.
"""

import pytest

pytest.importorskip("nexgen")
pytest.importorskip("nxmx")

import h5py  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils.dateparse import parse_datetime  # noqa: E402

from tests import factories as f  # noqa: E402
from tests.samples.data.test_nxmx import bearer, loaded  # noqa: E402, F401, F811 (a helper and the fixture)

from . import nxmx_files as nf  # noqa: E402

URL = "/api/v1/data-collections/nxmx/"
FLOATS = (
    "wavelength",
    "detector_distance",
    "exposure_time",
    "oscillation_start",
    "oscillation_range",
    "beam_centre_x",
    "beam_centre_y",
)


def read(path):
    from samples.data.nxmx import read_nxmx

    return read_nxmx(str(path), base_dir=path.parent)


def expected(truth: dict) -> dict:
    """truth in read_nxmx's terms: the end time is the observed one, else the estimate (then flagged)."""
    only_estimate = truth["end_time"] is None and truth["end_time_estimated"] is not None
    return {
        **truth,
        "end_time": truth["end_time"] or truth["end_time_estimated"],
        "end_time_estimated": only_estimate,
    }


def mismatches(truth: dict, fields: dict) -> dict:
    """{key: (expected, read_nxmx's)} for every key of truth on which read_nxmx's dict differs."""
    wrong = {}
    for key, want in expected(truth).items():
        got = fields.get(key)
        if key in ("start_time", "end_time"):
            parsed = parse_datetime(got) if isinstance(got, str) else got
            ok = parsed == want
        elif key == "end_time_estimated":
            ok = bool(got) is want
        elif want is None:
            ok = got is None
        elif key in FLOATS:
            ok = isinstance(got, int | float) and got == pytest.approx(want, rel=1e-9)
        else:
            ok = got == want
        if not ok:
            wrong[key] = (want, got)
    return wrong


def check(path):
    truth = nf.truth(path)
    wrong = mismatches(truth, read(path))
    assert not wrong, f"(expected, read_nxmx) per key: {wrong}"


# ------------------------------------------------------------------------------- the made files themselves


def test_the_made_files_say_what_they_claim(tmp_path):
    """The helper, not the reader: the files and truth() hold the values the makers' docstrings give."""
    t = nf.truth(nf.eiger_rotation(tmp_path / "a"))
    assert (t["scan_axis"], t["number_of_images"], t["detector_distance"]) == ("omega", 20, 200.0)
    assert (t["oscillation_start"], t["oscillation_range"]) == (pytest.approx(10.0), pytest.approx(0.1))
    assert (
        t["end_time"] is not None and t["end_time_estimated"] is not None and t["end_time"] != t["end_time_estimated"]
    )
    links = nf.eiger_links_only(tmp_path / "b")
    with h5py.File(links) as h5:
        assert "data" not in h5["/entry/data"] and "data_000001" in h5["/entry/data"]
    t = nf.truth(nf.kappa_phi_scan(tmp_path / "c"))
    assert (t["scan_axis"], t["oscillation_start"], t["oscillation_range"]) == ("phi", 30.0, pytest.approx(0.2))
    assert nf.truth(nf.grid_scan(tmp_path / "d"))["scan_axis"] is None
    assert nf.truth(nf.weighted_spectrum(tmp_path / "e"))["wavelength"] == pytest.approx(0.984)
    t = nf.truth(nf.estimated_end_only(tmp_path / "f"))
    assert t["end_time"] is None and t["end_time_estimated"] is not None
    assert nf.truth(nf.distance_only_in_chain(tmp_path / "g"))["detector_distance"] == pytest.approx(245.5)
    assert nf.truth(nf.energy_only(tmp_path / "h"))["wavelength"] == pytest.approx(0.99987, rel=1e-4)
    base = nf.truth(nf.eiger_rotation(tmp_path / "base"))
    for n, (field, unit) in enumerate(nf.UNIT_CASES):
        t = nf.truth(nf.with_units(tmp_path / f"u{n}", field, unit))
        assert t == {k: pytest.approx(v, rel=1e-12) if k in FLOATS else v for k, v in base.items()}, (field, unit)
    master = nf.outside_link(tmp_path / "o")
    with h5py.File(master) as h5:
        target = h5["/entry/data"].get("data_000001", getlink=True).filename
    assert not target.startswith(str(tmp_path / "o" / "data"))
    with h5py.File(target) as h5:
        assert h5["data"].shape[0] == 7  # not the 20 the scan says: a reader that opened it would count 7
    for file in (tmp_path / "a").iterdir():
        assert file.stat().st_size < 1_000_000


# ------------------------------------------------------------------------------------------------- reading


@pytest.mark.parametrize("maker", list(nf.MAKERS))
def test_the_reader_agrees_with_nxmx(tmp_path, settings, maker):
    settings.DATA_ROOT = tmp_path
    check(nf.MAKERS[maker](tmp_path))


@pytest.mark.parametrize(("field", "unit"), nf.UNIT_CASES, ids=[f"{f}-{u}" for f, u in nf.UNIT_CASES])
def test_every_unit_spelling_gives_the_same_values(tmp_path, settings, field, unit):
    settings.DATA_ROOT = tmp_path
    check(nf.with_units(tmp_path, field, unit))


def test_a_unit_pint_does_not_know_is_refused_naming_field_and_unit(tmp_path, settings):
    settings.DATA_ROOT = tmp_path
    master = nf.unknown_unit(tmp_path)
    with pytest.raises(ValidationError) as exc:
        read(master)
    message = " ".join(exc.value.messages)
    assert "detector_distance" in message and "bogomm" in message, message


@pytest.mark.parametrize("vds", [True, False], ids=["vds", "links-only"])
def test_a_data_link_outside_the_data_root_is_not_followed(tmp_path, settings, vds):
    settings.DATA_ROOT = tmp_path / "data"
    master = nf.outside_link(tmp_path, vds=vds)
    truth = nf.truth(master)
    assert truth["number_of_images"] == 20
    fields = read(master)
    assert fields.get("number_of_images") == 20, fields.get("number_of_images")
    wrong = mismatches(truth, fields)
    assert not wrong, f"(expected, read_nxmx) per key: {wrong}"


# ------------------------------------------------------------------------------------------ every route in


def test_the_vds_and_its_links_count_the_images_once_when_read(tmp_path, settings):
    settings.DATA_ROOT = tmp_path
    master = nf.eiger_rotation(tmp_path)
    assert nf.truth(master)["number_of_images"] == 20
    assert read(master).get("number_of_images") == 20


@pytest.mark.django_db
@pytest.mark.parametrize("route", ["command", "api-path", "upload"])
def test_the_vds_and_its_links_count_the_images_once_by_every_route(tmp_path, settings, loaded, isara, route):  # noqa: F811
    from samples.data.models import DataCollection

    settings.DATA_ROOT = tmp_path
    master = nf.eiger_rotation(tmp_path / "mx2345")
    truth = nf.truth(master)
    if route == "command":
        call_command("ingest_nxmx", str(master), "--beamline", "MX-3", "--pin", "PX00000042")
        dc = DataCollection.objects.get()
    elif route == "api-path":
        client = bearer(f.api_token(isara))
        response = client.post(URL, {"path": "mx2345/eiger_master.h5", "sample": loaded.pk}, format="json")
        assert response.status_code == 201, response.content
        dc = DataCollection.objects.get(pk=response.json()["id"])
    else:
        client = bearer(f.api_token(isara))
        upload = SimpleUploadedFile("eiger_master.h5", master.read_bytes(), content_type="application/x-hdf5")
        response = client.post(
            URL, {"file": upload, "directory": str(master.parent), "pin_code": "PX00000042"}, format="multipart"
        )
        assert response.status_code == 201, response.content
        dc = DataCollection.objects.get(pk=response.json()["id"])
    stored = {
        "number_of_images": dc.number_of_images,
        "scan_axis": dc.scan_axis,
        "oscillation_start": dc.oscillation_start,
        "oscillation_range": dc.oscillation_range,
    }
    assert stored == {
        "number_of_images": 20,
        "scan_axis": truth["scan_axis"],
        "oscillation_start": pytest.approx(truth["oscillation_start"], rel=1e-9),
        "oscillation_range": pytest.approx(truth["oscillation_range"], rel=1e-9),
    }
