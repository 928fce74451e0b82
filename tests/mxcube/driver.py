"""MXCuBE's real py-ispyb client against a running server: run by the python of MXCuBE's venv
(``conftest.mxcube_python``), never by this project's, and importing nothing of this project.

stdin: one JSON object::

    {"root": "http://127.0.0.1:PORT/ispyb/api/v1/", "beamline": "MX-3",
     "token_login": ["mxcube", "<API token key>"], "staff_login": ["blstaff", "<password>"],
     "wrong_login": ["alice", "<not her password>"],
     "proposal": ["MX", "2345"], "new_proposal": ["MX", "3456"],
     "session_id": 12, "sample_ids": [1, 2, 3],
     "sample": {"sampleId": 1, "code": "PIN0000001", "sampleName": ..., "sampleLocation": "1", ...}}

``session_id`` and ``sample`` are what the test prepared, used only when the client found no session for
today or did not list the sample (the flow goes on, to tell what else works; the test fails on those).

stdout: one JSON object, what each call returned (pydantic models as ``model_dump(mode="json")``), and
``errors``: every log record of level ERROR or above (the adapter swallows most HTTP failures and only
logs them with ``logger.exception``). Anything that raises: the traceback on stderr, exit status 1.

Each dict sent is built with the keys MXCuBE 2.149 sends: ``AbstractCollect`` with
``queue_model_objects.to_collect_dict`` for the data collection, ``ESRFEnergyScan`` for the energy scan,
``AbstractXRFSpectrum`` for the fluorescence spectrum, ``ISPyBAbstractLIMS`` for what it strips.
"""

import datetime
import enum
import json
import logging
import os
import sys
import time
import traceback

from mxcubecore.HardwareObjects.abstract.PyISPyBDataAdapter import PyISPyBDataAdapter
from mxcubecore.HardwareObjects.abstract.PyISPyBRestClient import PyISPyBRestClient

DATA = "/data/mx3/mx2345/20260311"
STAMP = "%Y-%m-%d %H:%M:%S"  # MXCuBE's time.strftime format: the beamline's wall-clock time, no zone
BL_CONFIG = {
    # AbstractCollect.BeamlineConfig's fields as a dict (the adapter calls .get and item assignment on it).
    "synchrotron_name": "LIMS-TEST",
    "directory_prefix": "mx3",
    "default_exposure_time": 0.02,
    "minimum_exposure_time": 0.002,
    "detector_fileext": "cbf",
    "detector_type": "HPC",
    "detector_manufacturer": "DECTRIS",
    "detector_model": "EIGER2 X 16M",
    "detector_px": 0.075,
    "detector_py": 0.075,
    "detector_binning_mode": "1x1",
    "undulators": [],
    "focusing_optic": "KB mirrors",
    "monochromator_type": "Si(111)",
    "beam_divergence_vertical": 6.0,
    "beam_divergence_horizontal": 104.0,
    "polarisation": 0.99,
    "input_files_server": None,
}


class ErrorLog(logging.Handler):
    """Every record of level ERROR or above, formatted with its traceback."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.records = []
        self._seen = set()

    def emit(self, record):
        if id(record) not in self._seen:
            self._seen.add(id(record))
            self.records.append(self.format(record))


def plain(value):
    """What a call returned, as JSON."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def authenticated(root: str, login: str, secret: str) -> PyISPyBRestClient:
    client = PyISPyBRestClient(root)
    client.authenticate(login, secret)
    return client


def mx_collection_for(session_id: str, sample: dict) -> dict:
    """``to_collect_dict(data_collection, sample, centred_pos)[0]`` for a 100-image OSC sweep, then what
    ``AbstractCollect.do_collect`` adds before ``store_data_collection_in_lims``."""
    directory = f"{DATA}/RAW_DATA/lyso1"
    process_directory = f"{DATA}/PROCESSED_DATA/lyso1"
    collection = {
        "comments": "",
        "take_video": False,
        "take_snapshots": 1,
        "fileinfo": {
            "directory": directory,
            "prefix": "lyso1",
            "run_number": 1,
            "archive_directory": f"{DATA}/ARCHIVE/lyso1",  # PathTemplate.get_archive_directory()
            "process_directory": process_directory,
            "template": "lyso1_1_%05d.cbf",
            "compression": False,
        },
        "in_queue": False,
        "in_interleave": False,
        "detector_binning_mode": "1x1",
        "detector_roi_mode": "",
        "shutterless": True,
        "sessionId": session_id,  # data_collection.lims_session_id = HWR.beamline.session.session_id
        "do_inducedraddam": False,
        "sample_reference": {
            "spacegroup": sample["crystalSpaceGroup"] or "",
            "cell": ",".join(
                str(sample[key] or 0) for key in ("cellA", "cellB", "cellC", "cellAlpha", "cellBeta", "cellGamma")
            ),
            "blSampleId": sample["sampleId"],
            "sample_name": sample["sampleName"],
            "acronym": sample["proteinAcronym"],
        },
        "processing": "True",
        "processing_offline": True,
        "processing_online": False,
        "residues": 200,
        "dark": False,
        "detector_distance": 250.0,
        "resolution": 1.8,
        "transmission": 50.0,
        "energy": 12.7,
        "oscillation_sequence": [
            {
                "exposure_time": 0.02,
                "kappaStart": 0.0,
                "phiStart": 0.0,
                "start_image_number": 1,
                "number_of_images": 100,
                "offset": 0.0,
                "start": 0.0,
                "range": 0.1,
                "number_of_passes": 1,
                "number_of_lines": 1,
                "mesh_range": [],
                "num_triggers": 0,
                "num_images_per_trigger": 0,
            }
        ],
        "group_id": None,  # data_collection.lims_group_id: no group yet
        "EDNA_files_dir": process_directory,
        "xds_dir": "",
        "anomalous": False,
        "experiment_type": "OSC",
        "skip_images": False,
        "position_name": 1,
        "motors": {"phi": 0.0, "phiy": 0.12, "phiz": -0.34, "sampx": 0.01, "sampy": -0.02, "kappa": 0.0},
        "ispyb_group_data_collections": False,
        "workflow_parameters": {},
    }
    # AbstractCollect.do_collect, then store_data_collection_in_lims.
    collection["status"] = "Running"
    collection["collection_start_time"] = time.strftime(STAMP)
    collection["synchrotronMode"] = "7/8 multibunch"  # get_machine_fill_mode()
    return collection


def after_store(collection: dict, collection_id: int, detector_id: int, sample: dict) -> None:
    """What ``AbstractCollect.do_collect`` sets after storing the collection: the ids back from LIMS, the
    sample (``get_sample_info``), the centring (``move_to_centered_position``), the snapshot
    (``take_crystal_snapshots``)."""
    collection["collection_id"] = collection_id
    if detector_id:
        collection["detector_id"] = detector_id
    collection["blSampleId"] = int(collection["sample_reference"]["blSampleId"])
    collection["actualSampleBarcode"] = sample["code"]
    collection["actualContainerBarcode"] = sample["containerCode"]
    collection["actualSampleSlotInContainer"] = int(sample["sampleLocation"])
    collection["actualContainerSlotInSC"] = int(sample["containerSampleChangerLocation"])
    collection["actualCentringPosition"] = " ".join(f"{k}={v}" for k, v in collection["motors"].items())
    archive = collection["fileinfo"]["archive_directory"]
    collection["xtalSnapshotFullPath1"] = f"{archive}/lyso1_1_1.snapshot.jpeg"


def update_in_lims(collection: dict) -> None:
    """``AbstractCollect.update_data_collection_in_lims``: the beamline's values when the sweep ends.
    (MXCuBE puts ``beam.get_beam_shape()``, an Enum, in ``beamShape``, which requests cannot encode:
    its value is sent here.)"""
    collection["flux"] = 2.1e12
    collection["flux_end"] = collection["flux"]
    collection["totalAbsorbedDose"] = None
    collection["wavelength"] = 0.97625
    collection["detectorDistance"] = 250.0
    collection["resolution"] = 1.8
    collection["transmission"] = 50.0
    collection["xBeam"] = 2072.5 * 0.075  # beam centre (px) × pixel size (mm)
    collection["yBeam"] = 2180.2 * 0.075
    collection["resolutionAtCorner"] = 1.45
    collection["beamSizeAtSampleX"] = 0.05  # mm
    collection["beamSizeAtSampleY"] = 0.02
    collection["beamShape"] = "ellipse"
    collection["slitGapHorizontal"] = 0.1
    collection["slitGapVertical"] = 0.05


def lims_image(collection: dict, frame_number: int) -> dict:
    """``AbstractCollect.store_image_in_lims(frame_number)``, with the machine's values."""
    file_location = collection["fileinfo"]["directory"]
    image_file_template = collection["fileinfo"]["template"]
    image = {
        "dataCollectionId": collection.get("collection_id"),
        "fileName": image_file_template % frame_number,
        "fileLocation": file_location,
        "imageNumber": frame_number,
        "measuredIntensity": 1.2e5,
        "synchrotronCurrent": 199.8,
        "machineMessage": "USM: 7/8 multibunch",
        "temperature": 100.0,
    }
    archive_directory = collection["fileinfo"]["archive_directory"]
    if archive_directory:
        stem = os.path.splitext(image_file_template)[0]
        jpeg = os.path.join(archive_directory, f"{stem}.jpeg").replace("cbf.jpeg", "jpeg")
        thumbnail = os.path.join(archive_directory, f"{stem}.thumb.jpeg").replace("cbf.thumb", "thumb")
        image["jpegFileFullPath"] = jpeg % frame_number
        image["jpegThumbnailFileFullPath"] = thumbnail % frame_number
    return image


def run(args: dict, errors: ErrorLog) -> dict:
    out = {}
    root, beamline = args["root"], args["beamline"]

    # A. Logins: a beamline's API token, a person's password (both in the client's ``token`` field).
    token_client = authenticated(root, *args["token_login"])
    staff_client = authenticated(root, *args["staff_login"])
    for name, client in (("token_login", token_client), ("staff_login", staff_client)):
        out[name] = {"expiry": plain(client._token_expiry), "has_refresh_token": bool(client._refresh_token)}
    before = len(errors.records)
    try:
        authenticated(root, *args["wrong_login"])
    except Exception as exc:  # expected: the client raises on a 401
        out["wrong_login"] = {"raised": type(exc).__name__, "message": str(exc)}
    else:
        out["wrong_login"] = {"raised": None}
    del errors.records[before:]  # a refused login is what this step expects, not an error

    # B. What MXCuBE reads at login, as beamline staff.
    staff = PyISPyBDataAdapter(staff_client, beamline)
    out["current_user"] = plain(staff.get_current_user_data())
    out["proposals"] = plain(staff.get_proposals())
    code, number = args["proposal"]
    proposal = staff.find_proposal(code, number)
    out["find_proposal"] = plain(proposal)
    today = staff.find_sessions_by_proposal_and_beamline_for_today(code.lower(), number, beamline)
    out["today"] = plain(today)
    new_proposal = staff.find_proposal(*args["new_proposal"])
    out["find_new_proposal"] = plain(new_proposal)
    out["create_session"] = [plain(staff.create_session(new_proposal)) for _ in range(2)]
    out["sessions_by_username"] = plain(staff.get_sessions_by_username())
    out["samples"] = plain(staff.get_samples(proposal.proposal_id))

    # C. What beamline control reports, with the beamline's token, in the session selected: its id as
    # MXCuBE holds it (``Session.session_id``, a string), the sample as ``get_samples`` listed it.
    control = PyISPyBDataAdapter(token_client, beamline)
    session_id = today[0].session_id if today else str(args["session_id"])
    sample_id = args["sample_ids"][0]
    sample = next((item for item in out["samples"] if item["sampleId"] == sample_id), args["sample"])

    # queue_entry.base_queue_entry.mount_sample: ``location`` is (container, sample) as LIMS listed them,
    # and MXCuBE puts the sample's slot in "containerLocation", the puck's in "dewarLocation".
    location = (int(sample["containerSampleChangerLocation"]), int(sample["sampleLocation"]))
    robot_action = {
        "actionType": "LOAD",
        "containerLocation": location[1],
        "dewarLocation": location[0],
        "sampleBarcode": sample["code"],
        "sampleId": sample_id,
        "sessionId": session_id,
        "startTime": time.strftime(STAMP),
    }
    robot_action["endTime"] = time.strftime(STAMP)
    robot_action["status"] = "SUCCESS"
    out["robot_action"] = plain(control.store_robot_action(robot_action))

    # The sweep: AbstractCollect.do_collect (store, an image, update), then collection_finished (update).
    collection = mx_collection_for(session_id, sample)
    collection_id, detector_id = control.store_data_collection(collection, dict(BL_CONFIG))
    out["store_data_collection"] = [collection_id, detector_id]
    after_store(collection, collection_id, detector_id, sample)
    out["store_image"] = plain(control.store_image(lims_image(collection, 1)))
    update_in_lims(collection)
    out["update_data_collection_running"] = plain(control.update_data_collection(collection))
    collection["status"] = "Data collection successful"
    update_in_lims(collection)
    out["update_data_collection"] = plain(control.update_data_collection(collection))
    out["get_data_collection"] = plain(control.get_data_collection(collection_id))

    # The beamline's setup (ISPyBAbstractLIMS.store_beamline_setup), then tied to the session.
    setup_id = control.store_beamline_setup(session_id, dict(BL_CONFIG))
    out["store_beamline_setup"] = plain(setup_id)
    out["update_session"] = plain(
        control.update_session({"sessionId": session_id, "BeamLineSetup": {"beamLineSetupId": setup_id}})
    )
    out["find_detector"] = plain(control.find_detector("DECTRIS", "EIGER2 X 16M", "1x1", "HPC"))

    # An energy scan: AbstractEnergyScan.start_energy_scan, ESRFEnergyScan's results and store_energy_scan
    # (the keys it pops gone; "scanFileFullPath" is a pathlib.Path there, which requests cannot encode),
    # then store_energy_scan_thread through ISPyBAbstractLIMS.store_energy_scan.
    scan = {
        "sessionId": session_id,
        "blSampleId": sample_id,
        "element": "Se",
        "edgeEnergy": "K",
        "startEnergy": 12.608,
        "endEnergy": 12.708,
        "remoteEnergy": 13.658,
        "fluorescenceDetector": "KETEK_AXAS-A",
        "transmissionFactor": 12.5,
        "exposureTime": 1.0,
        "flux": 1.8e12,
        "beamSizeHorizontal": 0.05,
        "beamSizeVertical": 0.02,
        "startTime": time.strftime(STAMP),
        "endTime": time.strftime(STAMP),
        "filename": "lyso1_Se_K1.raw",
        "scanFileFullPath": f"{DATA}/RAW_DATA/gallery/lyso1_Se_K1.raw",
        "choochFileFullPath": f"{DATA}/RAW_DATA/lyso1_Se_K1.efs",
        "jpegChoochFileFullPath": f"{DATA}/ARCHIVE/lyso1_Se_K1.png",
        "peakEnergy": 12.6621,
        "peakFPrime": -8.1,
        "peakFDoublePrime": 5.2,
        "inflectionEnergy": 12.6585,
        "inflectionFPrime": -10.3,
        "inflectionFDoublePrime": 2.9,
        "comments": "",
    }
    scan_info = dict(scan)
    blsample_id = scan_info.pop("blSampleId")
    stored_scan = control.store_energy_scan(scan_info)
    out["store_energy_scan"] = plain(stored_scan)
    escan_id = int(stored_scan["energyScanId"])
    out["associate_energy_scan"] = plain(
        control.associate_bl_sample_and_energy_scan({"blSampleId": blsample_id, "energyScanId": escan_id})
    )

    # A fluorescence spectrum: AbstractXRFSpectrum.start_spectrum, then spectrum_command_finished.
    spectrum = {"sessionId": session_id, "blSampleId": sample_id, "exposureTime": 3.0}
    spectrum["filename"] = f"{DATA}/RAW_DATA/lyso1_xrf_1.dat"
    archived = f"{DATA}/ARCHIVE/lyso1_xrf_1"
    spectrum["scanFileFullPath"] = f"{archived}.dat"
    spectrum["jpegScanFileFullPath"] = f"{archived}.png"
    spectrum["annotatedPymcaXfeSpectrum"] = f"{archived}.html"
    spectrum["fittedDataFileFullPath"] = f"{archived}_peaks.csv"
    spectrum["startTime"] = time.strftime(STAMP)
    spectrum["endTime"] = time.strftime(STAMP)
    spectrum["beamTransmission"] = 3.2
    spectrum["energy"] = 13.5
    spectrum["flux"] = 1.1e12
    spectrum["beamSizeHorizontal"], spectrum["beamSizeVertical"] = 0.05, 0.02  # beam.get_value()[:2], mm
    out["store_xfe_spectrum"] = plain(control.store_xfe_spectrum(spectrum))

    out["update_bl_sample"] = plain(control.update_bl_sample({"blSampleId": sample_id, "blSampleStatus": "LOADED"}))
    return out


def main() -> int:
    args = json.load(sys.stdin)
    stdout, sys.stdout = sys.stdout, sys.stderr  # whatever else prints goes to stderr: stdout is the answer's
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and not logger.propagate:
            logger.addHandler(errors)  # the root never sees these loggers' records
    try:
        out = run(args, errors)
    except Exception:
        traceback.print_exc()
        if errors.records:
            print("\nErrors logged before:\n" + "\n".join(errors.records), file=sys.stderr)
        return 1
    out["errors"] = errors.records
    json.dump(out, stdout)
    stdout.write("\n")
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
