"""NXmx master files (``samples.data.nxmx``): small files built with h5py, read, ingested by command and API."""

import datetime as dt

import h5py
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from samples.data.models import DataCollection
from samples.data.nxmx import read_nxmx
from samples.services import container_assign
from tests import factories as f
from tests.conftest import api_as

pytestmark = pytest.mark.django_db

URL = "/api/v1/data-collections/nxmx/"


def group(parent, name, nx_class):
    g = parent.create_group(name)
    g.attrs["NX_class"] = nx_class
    return g


def write_nxmx(
    path,
    *,
    images=100,
    omega_vector=False,
    data_in_file=True,
    drop=(),
    start="2026-03-10T10:00:00Z",
    end="2026-03-10T10:01:40Z",
    definition="NXmx",
    units=True,
):
    """A small NXmx master file: entry, instrument (detector, beam), sample with omega, data."""
    with h5py.File(path, "w") as h5:
        entry = group(h5, "entry", "NXentry")
        if definition:
            entry["definition"] = definition
        if "start_time" not in drop:
            entry["start_time"] = start
        if end:
            entry["end_time"] = end
        if "instrument" not in drop:
            instrument = group(entry, "instrument", "NXinstrument")
            if "detector" not in drop:
                detector = group(instrument, "detector", "NXdetector")
                detector["description"] = b"Dectris EIGER2 XE 16M"
                detector["detector_distance"] = 0.2 if units else 200.0
                detector["detector_distance"].attrs["units"] = "m" if units else "mm"
                detector["count_time"] = 0.01
                detector["count_time"].attrs["units"] = "s"
                detector["beam_center_x"] = 2110.5
                detector["beam_center_x"].attrs["units"] = "pixel"
                detector["beam_center_y"] = 2230.25
                detector["beam_center_y"].attrs["units"] = "pixel"
                specific = detector.create_group("detectorSpecific")
                specific["nimages"] = images
                specific["ntrigger"] = 1
            if "beam" not in drop:
                beam = group(instrument, "beam", "NXbeam")
                beam["incident_wavelength"] = 0.9763
                beam["incident_wavelength"].attrs["units"] = "angstrom"
                beam["total_flux"] = 2.5e12
        sample = group(entry, "sample", "NXsample")
        transformations = group(sample, "transformations", "NXtransformations")
        if omega_vector:
            transformations["omega"] = np.arange(images) * 0.1 + 10.0
        else:
            transformations["omega"] = 10.0
            transformations["omega_increment_set"] = 0.1
        transformations["omega"].attrs["units"] = "deg"
        data = group(entry, "data", "NXdata")
        if data_in_file:
            data.create_dataset("data_000001", shape=(images, 4, 4), dtype="uint16")
        else:
            data["data_000001"] = h5py.ExternalLink("lyso_1_data_000001.h5", "/entry/data/data")
    return path


def test_it_reads_the_collection_fields(tmp_path):
    fields = read_nxmx(str(write_nxmx(tmp_path / "lyso_1_master.h5")))
    assert fields["wavelength"] == pytest.approx(0.9763)
    assert fields["detector_distance"] == pytest.approx(200.0)
    assert fields["oscillation_start"] == pytest.approx(10.0)
    assert fields["oscillation_range"] == pytest.approx(0.1)
    assert fields["number_of_images"] == 100
    assert fields["exposure_time"] == pytest.approx(0.01)
    assert fields["detector"] == "Dectris EIGER2 XE 16M"
    assert (fields["beam_centre_x"], fields["beam_centre_y"]) == (2110.5, 2230.25)
    assert fields["start_time"] == "2026-03-10T10:00:00Z"
    assert fields["flux"] == pytest.approx(2.5e12)


def test_an_omega_vector_gives_start_increment_and_images(tmp_path):
    fields = read_nxmx(str(write_nxmx(tmp_path / "m.h5", images=36, omega_vector=True, data_in_file=False)))
    assert fields["oscillation_start"] == pytest.approx(10.0)
    assert fields["oscillation_range"] == pytest.approx(0.1)
    assert fields["number_of_images"] == 36


def test_missing_data_files_fall_back_on_the_detector_image_count(tmp_path):
    fields = read_nxmx(str(write_nxmx(tmp_path / "m.h5", images=900, data_in_file=False)))
    assert fields["number_of_images"] == 900


def test_millimetres_stay_millimetres(tmp_path):
    assert read_nxmx(str(write_nxmx(tmp_path / "m.h5", units=False)))["detector_distance"] == 200.0


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        (("beam",), "NXbeam/incident_wavelength"),
        (("detector",), "NXinstrument/NXdetector"),
        (("instrument",), "NXinstrument"),
        (("start_time",), "NXentry/start_time"),
    ],
)
def test_an_incomplete_file_names_what_is_missing(tmp_path, drop, named):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        read_nxmx(str(write_nxmx(tmp_path / "m.h5", drop=drop)))
    assert named in exc.value.message_dict["file"][0]


def test_non_hdf5_and_non_nxmx_files_are_refused_clearly(tmp_path):
    from django.core.exceptions import ValidationError

    text = tmp_path / "notes.h5"
    text.write_text("not HDF5")
    with pytest.raises(ValidationError, match="not an HDF5 file"):
        read_nxmx(str(text))
    with h5py.File(tmp_path / "plain.h5", "w") as h5:
        h5["x"] = 1
    with pytest.raises(ValidationError, match="no NXentry"):
        read_nxmx(str(tmp_path / "plain.h5"))
    with pytest.raises(ValidationError, match="definition is 'NXtomo'"):
        read_nxmx(str(write_nxmx(tmp_path / "tomo.h5", definition="NXtomo")))


@pytest.fixture
def loaded(received, isara, beamline_staff):
    puck = received.containers.get()
    container_assign(container=puck, beamline=isara, position=3, user=beamline_staff)
    sample = puck.samples.order_by("position").first()
    sample.pin_code = "PX00000042"
    sample.save(update_fields=["pin_code"])
    return sample


def test_the_command_creates_then_updates(tmp_path, loaded, capsys):
    master = write_nxmx(tmp_path / "lyso_1_master.h5")
    call_command("ingest_nxmx", str(master), "--beamline", "mx-3", "--pin", "PX00000042")
    dc = DataCollection.objects.get()
    assert (dc.sample, dc.number_of_images, dc.status) == (loaded, 100, "successful")
    assert (dc.directory, dc.file_template) == (str(tmp_path), "lyso_1_master.h5")
    assert dc.external_id == f"{tmp_path}/lyso_1_master.h5"
    assert "100 images" in capsys.readouterr().out
    write_nxmx(master, images=120)
    call_command("ingest_nxmx", str(master), "--beamline", "MX-3", "--sample", str(loaded.pk))
    dc.refresh_from_db()
    assert DataCollection.objects.count() == 1 and dc.number_of_images == 120
    call_command("ingest_nxmx", str(master), "--beamline", "MX-3", "--sample", str(loaded.pk), "--external-id", "x1")
    assert DataCollection.objects.filter(external_id="x1").exists()


def test_the_command_names_what_is_wrong(tmp_path, loaded):
    master = write_nxmx(tmp_path / "m.h5", drop=("beam",))
    with pytest.raises(CommandError, match="incident_wavelength"):
        call_command("ingest_nxmx", str(master), "--beamline", "MX-3", "--sample", str(loaded.pk))
    good = write_nxmx(tmp_path / "good.h5")
    with pytest.raises(CommandError, match="Cannot tell whose data"):
        call_command("ingest_nxmx", str(good), "--beamline", "MX-3")
    with pytest.raises(CommandError, match="no beamline"):
        call_command("ingest_nxmx", str(good), "--beamline", "MX-9")


def bearer(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_the_api_takes_an_upload_or_a_path_under_the_data_root(tmp_path, settings, loaded, isara):
    settings.DATA_ROOT = tmp_path / "data"
    (tmp_path / "data" / "mx2345").mkdir(parents=True)
    client = bearer(f.api_token(isara))
    master = write_nxmx(tmp_path / "data" / "mx2345" / "lyso_2_master.h5")
    response = client.post(URL, {"path": "mx2345/lyso_2_master.h5", "sample": loaded.pk}, format="json")
    assert response.status_code == 201, response.content
    dc = DataCollection.objects.get(pk=response.json()["id"])
    assert dc.directory == str(master.parent) and dc.wavelength == pytest.approx(0.9763)

    upload = SimpleUploadedFile("lyso_3_master.h5", master.read_bytes(), content_type="application/x-hdf5")
    response = client.post(
        URL, {"file": upload, "directory": "/data/mx2345", "pin_code": "PX00000042"}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert DataCollection.objects.get(pk=response.json()["id"]).external_id == "/data/mx2345/lyso_3_master.h5"

    outside = write_nxmx(tmp_path / "elsewhere.h5")
    for path in (str(outside), "../elsewhere.h5"):
        refused = client.post(URL, {"path": path, "sample": loaded.pk}, format="json")
        assert refused.status_code == 400 and "outside the data root" in refused.json()["errors"]["path"][0]
    junk = SimpleUploadedFile("junk.h5", b"\x89HDF nope", content_type="application/x-hdf5")
    response = client.post(URL, {"file": junk, "directory": "/d", "sample": loaded.pk}, format="multipart")
    assert response.status_code == 400 and "not an HDF5 file" in response.json()["errors"]["file"][0]
    assert client.post(URL, {"sample": loaded.pk}, format="json").status_code == 400


def test_members_may_not_ingest_files(tmp_path, settings, member, loaded):
    settings.DATA_ROOT = tmp_path
    write_nxmx(tmp_path / "m.h5")
    assert api_as(member).post(URL, {"path": "m.h5", "sample": loaded.pk}, format="json").status_code == 403


def test_the_session_comes_from_the_start_time(tmp_path, settings, received, isara):
    now = timezone.now()
    session = f.SessionFactory(
        proposal=received.proposal, beamline=isara, start=now - dt.timedelta(hours=1), end=now + dt.timedelta(hours=1)
    )
    settings.DATA_ROOT = tmp_path
    write_nxmx(tmp_path / "m.h5", start=now.isoformat(), end=None)
    response = bearer(f.api_token(isara)).post(URL, {"path": "m.h5"}, format="json")
    assert response.status_code == 201, response.content
    dc = DataCollection.objects.get()
    assert (dc.session, dc.status) == (session, "running")  # no end time yet: still running
