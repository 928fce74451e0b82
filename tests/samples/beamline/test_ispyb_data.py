"""What MXCuBE stores through the ISPyB-compatible API, call by call, in the shapes its py-ispyb client
sends and reads (``docs/mxcube-contract.md``): logins, proposal search, today's session, the current user,
data collection groups and collections, images, beamline setups and detectors, energy scans and XRF
spectra; who may write them (the ingest API's rules) and the errors. The real client drives the same calls
in ``tests/mxcube/``."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from lims.choices import FacilityRole
from lims.models import Session
from samples.data.models import (
    BeamlineSetup,
    DataCollection,
    DataCollectionGroup,
    Detector,
    EnergyScan,
    Image,
    SessionSetup,
    XrfSpectrum,
)
from tests import factories as f
from tests.samples.beamline.test_ispyb_contract import Ispyb, assert_error, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def mx3(isara):
    return Ispyb(f.api_token(isara, name="MXCuBE MX-3"))


@pytest.fixture
def mx1(db):
    return Ispyb(f.api_token(f.BeamlineFactory(name="MX-1"), name="MXCuBE MX-1"))


@pytest.fixture
def running(proposal, isara):
    now = timezone.now()
    return f.SessionFactory(
        proposal=proposal, beamline=isara, start=now - dt.timedelta(hours=2), end=now + dt.timedelta(hours=10)
    )


@pytest.fixture
def sample(loaded):
    """The first sample of Alice's puck in MX-3's sample changer (a token sees the samples in its changer)."""
    return loaded.samples.get(position=1)


def mx_collection(session, sample, **changes) -> dict:
    """MXCuBE's collection dictionary (``queue_model_objects.to_collect_dict`` + ``AbstractCollect``)."""
    return {
        "comments": "",
        "fileinfo": {
            "directory": "/data/mx2345/20261205/RAW_DATA/lyso",
            "prefix": "lyso1",
            "run_number": 1,
            "archive_directory": "",
            "process_directory": "/data/mx2345/20261205/PROCESSED_DATA/lyso",
            "template": "lyso1_1_%05d.cbf",
        },
        "in_queue": False,
        "in_interleave": False,
        "sessionId": session.pk,
        "sample_reference": {"spacegroup": "P212121", "cell": "", "blSampleId": sample.pk, "sample_name": sample.name},
        "energy": 12.7,
        "resolution": {"upper": 1.8},
        "transmission": 50.0,
        "oscillation_sequence": [
            {
                "exposure_time": 0.02,
                "kappaStart": 0.0,
                "phiStart": 0.0,
                "start_image_number": 1,
                "number_of_images": 1800,
                "offset": 0.0,
                "start": 10.0,
                "range": 0.1,
                "number_of_passes": 1,
            }
        ],
        "group_id": None,
        "experiment_type": "OSC",
        "status": "Running",
        "collection_start_time": "2026-12-05 10:00:00",
        **changes,
    }


# Logins, proposals, sessions, the current user.


def test_a_person_logs_in_with_the_password_in_the_token_field(member, settings):
    """MXCuBE's client always sends the secret as ``token``: a person's password arrives there."""
    response = Ispyb().post("auth/login", {"plugin": "keycloak", "login": "alice", "token": f.PASSWORD})
    assert response.status_code == 200, response.content
    assert Ispyb(response.json()["token"]).get("user/current").json()["login"] == "alice"

    # The same lockout as every password.
    settings.AXES_FAILURE_LIMIT = 2
    assert_error(Ispyb().post("auth/login", {"login": "alice", "token": "wrong"}), 401, "authentication_failed")
    assert_error(Ispyb().post("auth/login", {"login": "alice", "token": "wrong"}), 429, "locked_out")
    assert_error(Ispyb().post("auth/login", {"login": "alice", "token": f.PASSWORD}), 429, "locked_out")


def test_current_user_of_a_person_and_of_a_token(member, isara, beamline_staff):
    member.first_name, member.last_name = "Alice", "Martin"
    member.save()
    item = login(member).get("user/current").json()
    assert item["login"] == "alice" and item["givenName"] == "Alice" and item["familyName"] == "Martin"
    assert item["personId"] == member.pk and item["Permissions"] == []
    assert login(beamline_staff).get("user/current").json()["Permissions"] == [FacilityRole.BEAMLINE_STAFF]

    answerable = Ispyb(f.api_token(isara, name="MXCuBE MX-3", user=beamline_staff)).get("user/current").json()
    assert answerable["personId"] == beamline_staff.pk and answerable["beamLines"] == ["MX-3"]
    nobody = Ispyb(f.api_token(isara, name="Pipeline")).get("user/current").json()
    assert nobody["personId"] is None and nobody["givenName"] == "Pipeline"


def test_proposal_search_answers_that_proposal_only(member, proposal):
    """The client takes the first answer of ``proposals?search=MX2345`` as the proposal it asked for."""
    other = f.ProposalFactory(code="mx", number="1111", title="Kinase complexes")
    f.ProposalMemberFactory(proposal=other, user=member)
    client = login(member)
    assert [p["proposalId"] for p in client.get("proposals", search="MX2345").json()] == [proposal.pk]
    assert [p["proposalId"] for p in client.get("proposals", search="mx1111").json()] == [other.pk]
    assert [p["proposalId"] for p in client.get("proposals", search="complexes").json()] == [other.pk]
    assert client.get("proposals", search="MX9999").json() == []


def test_todays_session_compares_with_a_naive_today(member, running):
    """MXCuBE keeps the sessions whose naive start and end hold ``datetime.today()``: no offset in the dates."""
    today = dt.datetime.today()
    items = login(member).get(
        "sessions", proposal="MX2345", beamLineName="MX-3", year=today.year, month=today.month, day=today.day
    )
    (item,) = items.json()
    start, end = dt.datetime.fromisoformat(item["startDate"]), dt.datetime.fromisoformat(item["endDate"])
    assert start.tzinfo is None and start <= today <= end
    assert start == timezone.localtime(running.start).replace(tzinfo=None, microsecond=start.microsecond)


# Errors.


def test_every_unknown_path_under_ispyb_is_a_json_404(mx3, settings):
    settings.DEBUG = True  # not even the debug page
    for path in ("/ispyb/api/v1/nothing", "/ispyb/api/v1/samples/x", "/ispyb/api/v2/proposals", "/ispyb/"):
        response = Client().get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", path
        assert response.json()["code"] == "not_found"


# Data collections.


def test_a_collection_stored_updated_and_read_back_as_mxcube_does(mx3, running, sample, member):
    response = mx3.post("datacollections/datacollection", mx_collection(running, sample))
    assert response.status_code == 201, response.content
    stored = response.json()
    collection = DataCollection.objects.get(pk=stored["dataCollectionId"])
    assert stored["dataCollectionGroupId"] == collection.group_id and "results" not in stored
    assert collection.sample_id == sample.pk and collection.session_id == running.pk
    assert collection.status == "running" and collection.end_time is None
    assert collection.number_of_images == 1800 and collection.first_image == 1
    assert collection.oscillation_start == 10.0 and collection.oscillation_range == 0.1
    assert collection.file_template == "lyso1_1_%05d.cbf" and collection.resolution == 1.8
    assert collection.wavelength == pytest.approx(12.398419843320026 / 12.7)
    assert timezone.localtime(collection.start_time).replace(tzinfo=None) == dt.datetime(2026, 12, 5, 10, 0)

    # The update: MXCuBE first stores the group (with the collection's id), then the collection again.
    done = mx_collection(
        running,
        sample,
        collection_id=collection.pk,
        status="Data collection successful",
        wavelength=0.9763,
        detectorDistance=250.0,
        flux=3.2e12,
        xBeam=155.2,
        yBeam=163.9,
        beamSizeAtSampleX=0.05,
        beamSizeAtSampleY=0.02,
        xtalSnapshotFullPath1="/data/mx2345/snapshots/lyso1_1_snapshot1.jpeg",
        undulatorGap1=7.5,
    )
    group = mx3.post("datacollections/group", done)
    assert group.status_code == 200 and group.json()["dataCollectionGroupId"] == collection.group_id
    response = mx3.post("datacollections/datacollection", {**done, "group_id": collection.group_id})
    assert response.status_code == 200, response.content
    # The client unpacks an update's answer as (collection id, group id): it unwraps "results".
    assert response.json()["results"] == [collection.pk, collection.group_id]
    collection.refresh_from_db()
    assert collection.status == "successful" and collection.end_time is not None
    assert collection.wavelength == 0.9763 and collection.detector_distance == 250.0 and collection.flux == 3.2e12
    assert (collection.beam_size_x, collection.beam_size_y) == (50.0, 20.0)  # mm in, µm kept
    assert collection.snapshot_path.endswith("snapshot1.jpeg")
    kept = collection.metadata["ispyb"]
    assert kept["xBeam"] == 155.2 and kept["undulatorGap1"] == 7.5 and kept["prefix"] == "lyso1"
    assert DataCollection.objects.count() == 1 and DataCollectionGroup.objects.count() == 1

    item = mx3.get(f"datacollections/{collection.pk}").json()
    assert item["dataCollectionId"] == collection.pk and item["runStatus"] == "Data collection successful"
    assert item["startTime"] == "2026-12-05T10:00:00" and dt.datetime.fromisoformat(item["endTime"])
    assert item["blSampleId"] == sample.pk and item["beamSizeAtSampleX"] == 0.05
    # Members read their own collection through this API and the native one (the catalogue's).
    assert login(member).get(f"datacollections/{collection.pk}").status_code == 200
    client = Client()
    client.force_login(member)
    listed = client.get("/api/v1/data-collections/", {"sample": sample.pk}).json()["results"]
    assert [c["id"] for c in listed] == [collection.pk]


def test_a_running_collection_has_an_end_time_to_parse(mx3, running, sample):
    collection_id = mx3.post("datacollections/datacollection", mx_collection(running, sample)).json()[
        "dataCollectionId"
    ]
    item = mx3.get(f"datacollections/{collection_id}").json()
    assert item["runStatus"] == "Running" and dt.datetime.fromisoformat(item["endTime"])


def test_a_new_group_then_collections_in_it(mx3, running, sample):
    response = mx3.post("datacollections/group", mx_collection(running, sample, experiment_type="Characterization"))
    assert response.status_code == 201, response.content
    group = response.json()
    assert group["experimentType"] == "Characterization" and group["blSampleId"] == sample.pk
    first = mx3.post(
        "datacollections/datacollection", mx_collection(running, sample, group_id=group["dataCollectionGroupId"])
    )
    assert first.json()["dataCollectionGroupId"] == group["dataCollectionGroupId"]


def test_collection_refusals(mx3, mx1, running, sample, member, other_proposal, isara):
    body = assert_error(mx3.post("datacollections/datacollection", mx_collection(running, sample, status="Maybe")), 400)
    assert "status" in body["errors"]
    body = assert_error(
        mx3.post("datacollections/datacollection", mx_collection(running, sample, fileinfo={"prefix": "x"})), 400
    )
    assert {"fileinfo.directory", "fileinfo.template"} <= body["errors"].keys()
    # Another beamline's token does not see the session; members do not write data.
    assert (
        "sessionId"
        in assert_error(mx1.post("datacollections/datacollection", mx_collection(running, sample)), 400)["errors"]
    )
    assert_error(login(member).post("datacollections/datacollection", mx_collection(running, sample)), 403)
    # A sample of another proposal than the session's.
    other = f.SessionFactory(proposal=other_proposal, beamline=isara)
    assert_error(mx3.post("datacollections/datacollection", mx_collection(other, sample)), 400)
    assert_error(mx3.post("datacollections/datacollection", mx_collection(running, sample, collection_id=999999)), 404)
    assert DataCollection.objects.count() == 0


# Images, setups, detectors.


def test_images_of_a_collection(mx3, mx1, running, sample):
    collection_id = mx3.post("datacollections/datacollection", mx_collection(running, sample)).json()[
        "dataCollectionId"
    ]
    image = {
        "dataCollectionId": collection_id,
        "fileName": "lyso1_1_00001.cbf",
        "fileLocation": "/data/mx2345/20261205/RAW_DATA/lyso",
        "imageNumber": 1,
        "measuredIntensity": 0.0,
        "synchrotronCurrent": 199.8,
        "machineMessage": "",
        "temperature": 100.0,
        "jpegFileFullPath": "/data/mx2345/ARCHIVE/lyso1_1_00001.jpeg",
        "jpegThumbnailFileFullPath": "/data/mx2345/ARCHIVE/lyso1_1_00001.thumb.jpeg",
    }
    response = mx3.post("images/image", image)
    assert response.status_code == 201, response.content
    stored = Image.objects.get(pk=response.json()["imageId"])
    assert stored.data_collection_id == collection_id and stored.synchrotron_current == 199.8
    # The collection shows the first image's thumbnail in the catalogue.
    assert DataCollection.objects.get(pk=collection_id).thumbnail_path.endswith("00001.thumb.jpeg")
    again = mx3.post("images/image", {**image, "temperature": 101.0})
    assert again.json()["imageId"] == stored.pk and Image.objects.get().temperature == 101.0
    assert_error(mx1.post("images/image", image), 404)
    assert_error(mx3.post("images/image", {**image, "imageNumber": "first"}), 400)


def test_beamline_setup_detector_and_session(mx3, mx1, running, member):
    bl_config = {
        "synchrotron_name": "EBS",
        "detector_manufacturer": "DECTRIS",
        "detector_model": "EIGER2 X 16M",
        "detector_binning_mode": "1x1",
        "detector_type": "HPC",
        "undulators": [{"type": "U20"}],
        "synchrotronMode": "7/8 multibunch",
    }
    response = mx3.post("beamline-setups/beamline-setup", bl_config)
    assert response.status_code == 201, response.content
    setup_id = response.json()["results"]
    setup = BeamlineSetup.objects.get(pk=setup_id)
    assert setup.values["synchrotron_name"] == "EBS" and setup.synchrotron_mode == "7/8 multibunch"
    assert mx3.post("beamline-setups/beamline-setup", bl_config).json()["detectorId"] == setup.detector_id

    found = mx3.get("detectors", manufacturer="DECTRIS", model="EIGER2 X 16M", mode="1x1", type="")
    assert found.status_code == 200 and found.json()["detectorId"] == setup.detector_id
    assert Detector.objects.count() == 1
    assert_error(mx3.get("detectors", manufacturer="Rayonix", model="MX-300", mode="", type=""), 404)

    response = mx3.patch(f"sessions/{running.pk}/associate-beamline-setup?beamLineSetupId={setup_id}", {})
    assert response.status_code == 200, response.content
    assert response.json()["beamLineSetupId"] == setup_id
    assert SessionSetup.objects.get(session=running).setup_id == setup_id
    assert login(member).get(f"sessions/{running.pk}").json()["BeamLineSetup"] == {"beamLineSetupId": setup_id}
    assert_error(mx1.patch(f"sessions/{running.pk}/associate-beamline-setup?beamLineSetupId={setup_id}", {}), 404)
    assert_error(login(member).post("beamline-setups/beamline-setup", bl_config), 403)


# Energy scans and XRF spectra.


def test_an_energy_scan_then_its_sample(mx3, mx1, running, sample):
    scan = {
        "sessionId": running.pk,
        "element": "Se",
        "edgeEnergy": "K",
        "startEnergy": 12.61,
        "endEnergy": 12.71,
        "exposureTime": 0.5,
        "transmissionFactor": 10.0,
        "beamSizeHorizontal": 0.05,
        "beamSizeVertical": 0.02,
        "startTime": "2026-12-05 10:05:00",
        "endTime": "2026-12-05 10:09:30",
        "fluorescenceDetector": "Ketek",
        "scanFileFullPath": "/data/mx2345/lyso1_Se.scan",
        "choochFileFullPath": "/data/mx2345/lyso1_Se.efs",
        "jpegChoochFileFullPath": "/data/mx2345/lyso1_Se.png",
        "peakEnergy": 12.6596,
        "peakFPrime": -8.1,
        "peakFDoublePrime": 5.9,
        "inflectionEnergy": 12.6579,
        "inflectionFPrime": -10.4,
        "inflectionFDoublePrime": 3.2,
        "remoteEnergy": 12.9,
        "comments": "",
    }
    response = mx3.post("events/energyscan", scan)
    assert response.status_code == 201, response.content
    scan_id = response.json()["results"]
    stored = EnergyScan.objects.get(pk=scan_id)
    assert stored.session_id == running.pk and stored.sample_id is None and stored.beam_size_x == 50.0
    assert stored.peak_energy == 12.6596 and stored.metadata == {"remoteEnergy": 12.9}

    linked = mx3.patch("events/energyscan/associate-bl-sample", {"energyScanId": scan_id, "blSampleId": sample.pk})
    assert linked.status_code == 200 and linked.json() == {"energyScanId": scan_id, "blSampleId": sample.pk}
    assert EnergyScan.objects.get().sample_id == sample.pk
    assert_error(mx1.patch("events/energyscan/associate-bl-sample", {"energyScanId": scan_id, "blSampleId": 1}), 404)
    assert_error(mx3.post("events/energyscan", {**scan, "element": None}), 400)
    # ESRF's MXCuBE sends the edge as "edge" and the edge's energy (keV) as "edgeEnergy": both kept.
    esrf = mx3.post("events/energyscan", {**scan, "edge": "K", "edgeEnergy": 12.658})
    assert esrf.status_code == 201, esrf.content
    stored = EnergyScan.objects.get(pk=esrf.json()["energyScanId"])
    assert stored.edge == "K" and stored.metadata["edgeEnergy"] == 12.658


def test_an_xrf_spectrum(mx3, running, sample, member):
    spectrum = {
        "sessionId": running.pk,
        "blSampleId": sample.pk,
        "exposureTime": 3.0,
        "filename": "/data/mx2345/lyso1_xrf.dat",
        "scanFileFullPath": "/data/mx2345/lyso1_xrf.dat",
        "jpegScanFileFullPath": "/data/mx2345/lyso1_xrf.png",
        "annotatedPymcaXfeSpectrum": "/data/mx2345/lyso1_xrf.html",
        "fittedDataFileFullPath": "/data/mx2345/lyso1_xrf_peaks.csv",
        "startTime": "2026-12-05 10:12:00",
        "endTime": "2026-12-05 10:12:05",
        "beamTransmission": 1.0,
        "energy": 13.5,
        "flux": 1.2e11,
        "beamSizeHorizontal": 0.05,
        "beamSizeVertical": 0.02,
    }
    response = mx3.post("events/xfe-fluorescence-spectrum", spectrum)
    assert response.status_code == 201, response.content
    stored = XrfSpectrum.objects.get(pk=response.json()["xfeFluorescenceSpectrumId"])
    assert stored.sample_id == sample.pk and stored.energy == 13.5 and stored.proposal_id == running.proposal_id
    assert_error(login(member).post("events/xfe-fluorescence-spectrum", spectrum), 403)

    # The sample page shows what the beamline measured on it.
    client = Client()
    client.force_login(member)
    page = client.get(f"/samples/{sample.pk}/").content.decode()
    assert "lyso1_xrf.png" in page and "13.5" in page


def test_members_book_no_more_than_one_session_a_day(member, proposal, isara):
    today = timezone.localdate()
    booking = {
        "proposalId": proposal.pk,
        "beamLineName": "MX-3",
        "startDate": f"{today:%Y-%m-%d}T00:00:00.000000Z",
        "endDate": f"{today + dt.timedelta(days=2):%Y-%m-%d}T07:59:59.000000Z",
        "comments": "Session created by the BCM",
        "scheduled": False,
    }
    client = login(member)
    first = client.post("sessions", booking)
    assert first.status_code == 201
    for _ in range(3):
        assert client.post("sessions", booking).json()["sessionId"] == first.json()["sessionId"]
    assert Session.objects.count() == 1


GARBAGE = [
    [],
    "text",
    {"sessionId": "x"},
    {"sessionId": True, "blSampleId": [1]},
    {"oscillation_sequence": "x", "fileinfo": [1], "resolution": {"upper": "abc"}, "status": ["Running"]},
    {"collection_id": 10**30, "group_id": -1},
    {"dataCollectionId": 1.5, "imageNumber": 1e300, "fileName": {"a": 1}},
    {"startTime": 12, "endTime": "yesterday", "exposureTime": "nan", "flux": "1e400", "element": 7},
    {"energyScanId": "1; DROP TABLE", "blSampleId": None},
    {"detector_manufacturer": ["D"], "synchrotronMode": {}},
]
WRITES = [
    ("post", "datacollections/group"),
    ("post", "datacollections/datacollection"),
    ("post", "images/image"),
    ("post", "beamline-setups/beamline-setup"),
    ("post", "events/energyscan"),
    ("patch", "events/energyscan/associate-bl-sample"),
    ("post", "events/xfe-fluorescence-spectrum"),
]


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_bad_input_is_a_json_error_never_a_500(mx3, running, sample, method, path):
    for garbage in GARBAGE:
        response = getattr(mx3, method)(path, garbage)
        assert response["Content-Type"] == "application/json", (path, garbage)
        assert response.status_code < 500, (path, garbage, response.content)
        if response.status_code >= 400:
            assert {"detail", "code"} <= response.json().keys()
    assert DataCollection.objects.count() == 0 and EnergyScan.objects.count() == 0
