"""What MXCuBE reports through the ISPyB-compatible API besides its sweeps: the beamline setup and its
detector, energy scans and XRF spectra (``docs/mxcube-contract.md``), stored through
``samples.data.records`` under the ingest API's rules. Replies whose whole value py-ispyb's client takes as
an id carry it in ``results`` too (see ``data_views``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from lims import access
from lims.selectors import session_visible_to

from ..data import records
from ..data.models import Detector
from . import selectors
from .http import ApiError, body, endpoint, error_reply, invalid, not_found, parse_id, parse_timestamp, reply
from .reading import MM_TO_UM, number, owner, text

# --- beamline setups and detectors -----------------------------------------------------------------------------------


def _detector_item(detector: Detector) -> dict:
    return {
        "detectorId": detector.pk,
        "detectorManufacturer": detector.manufacturer,
        "detectorModel": detector.model,
        "detectorMode": detector.mode or None,
        "detectorType": detector.type or None,
    }


@endpoint
def detector_find(request, principal):
    """``GET detectors?manufacturer=&model=&mode=&type=``: the detector (an object, as MXCuBE reads it)."""
    query = request.GET
    if not query.get("manufacturer", "").strip() or not query.get("model", "").strip():
        raise invalid({"manufacturer": ["Give the detector's manufacturer and model."]})
    found = records.detector_find(
        **{key: query.get(key, "").strip()[:60] for key in ("manufacturer", "model", "mode", "type")}
    )
    if found is None:
        raise not_found("No such detector: a beamline makes its detector known by storing its setup.")
    return reply(_detector_item(found))


@endpoint
def beamline_setup_store(request, principal):
    """``POST beamline-setups/beamline-setup`` with MXCuBE's beamline configuration: kept whole, its
    detector (``detector_manufacturer``, ``detector_model``, ``detector_binning_mode``, ``detector_type``)
    found or made."""
    access.may_ingest.require(principal)
    data = body(request)
    errors = {}
    detector = {
        "manufacturer": text(data, "detector_manufacturer", errors, max_length=60),
        "model": text(data, "detector_model", errors, max_length=60),
        "mode": text(data, "detector_binning_mode", errors, max_length=30),
        "type": text(data, "detector_type", errors, max_length=60),
    }
    synchrotron_mode = text(data, "synchrotronMode", errors, max_length=60)
    if errors:
        raise invalid(errors)
    setup = records.beamline_setup_store(
        principal=principal, values=data, detector=detector, synchrotron_mode=synchrotron_mode
    )
    return reply({"beamLineSetupId": setup.pk, "detectorId": setup.detector_id, "results": setup.pk}, status=201)


@endpoint
def session_setup_associate(request, principal, pk: int):
    """``PATCH sessions/{id}/associate-beamline-setup?beamLineSetupId=``: the session, with its setup."""
    access.may_ingest.require(principal)
    errors = {}
    setup_id = parse_id(request.GET.get("beamLineSetupId"), "beamLineSetupId", errors, blank=False)
    if errors:
        raise invalid(errors)
    try:
        records.session_setup_associate(principal=principal, session_id=pk, setup_id=setup_id)
    except Http404:
        raise not_found("No such session.") from None
    return reply(selectors.session_items(session_visible_to(principal).filter(pk=pk))[0])


# --- energy scans and XRF spectra ----------------------------------------------------------------------------------


def _times(data: dict, errors: dict) -> dict:
    start = parse_timestamp(data.get("startTime"), "startTime", errors)
    end = parse_timestamp(data.get("endTime"), "endTime", errors)
    if start and end and end < start:
        errors["endTime"] = ["The end is before the start."]
    return {"start_time": start or timezone.now(), "end_time": end}


def _beam(data: dict, errors: dict, *, transmission: str) -> dict:
    return {
        "exposure_time": number(data, "exposureTime", errors),
        "transmission": number(data, transmission, errors),
        "beam_size_x": number(data, "beamSizeHorizontal", errors, scale=MM_TO_UM),
        "beam_size_y": number(data, "beamSizeVertical", errors, scale=MM_TO_UM),
        "flux": number(data, "flux", errors),
        "comments": text(data, "comments", errors, max_length=10000),
    }


def _kept(data: dict, used: set[str]) -> dict:
    return {key: value for key, value in data.items() if key not in used and value not in (None, "")}


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


ENERGY_SCAN_KEYS = {
    "sessionId", "blSampleId", "element", "edge", "startEnergy", "endEnergy", "peakEnergy", "peakFPrime",
    "peakFDoublePrime", "inflectionEnergy", "inflectionFPrime", "inflectionFDoublePrime", "fluorescenceDetector",
    "scanFileFullPath", "choochFileFullPath", "jpegChoochFileFullPath", "startTime", "endTime", "exposureTime",
    "transmissionFactor", "beamSizeHorizontal", "beamSizeVertical", "flux", "comments",
}  # fmt: skip


@endpoint
def energy_scan_store(request, principal):
    """``POST events/energyscan``: an edge scan of the session (and sample, when named)."""
    access.may_ingest.require(principal)
    data = body(request)
    errors = {}
    found = owner(principal, data, errors)
    element = text(data, "element", errors, max_length=3)
    if not element and "element" not in errors:
        errors["element"] = ["This field is required."]
    # ISPyB's "edgeEnergy" is the edge ("K", "L3"); ESRF's MXCuBE sends the edge's energy there (keV), kept
    # in metadata, and the edge as "edge".
    edge = text(data, "edge", errors, max_length=5)
    edge_energy = data.get("edgeEnergy")
    used = ENERGY_SCAN_KEYS
    if not edge and isinstance(edge_energy, str) and not _is_number(edge_energy):
        edge = text(data, "edgeEnergy", errors, max_length=5)
        used = used | {"edgeEnergy"}
    values = {
        "element": element,
        "edge": edge,
        **{
            field: number(data, key, errors)
            for field, key in (
                ("start_energy", "startEnergy"),
                ("end_energy", "endEnergy"),
                ("peak_energy", "peakEnergy"),
                ("peak_f_prime", "peakFPrime"),
                ("peak_f_double_prime", "peakFDoublePrime"),
                ("inflection_energy", "inflectionEnergy"),
                ("inflection_f_prime", "inflectionFPrime"),
                ("inflection_f_double_prime", "inflectionFDoublePrime"),
            )
        },
        "fluorescence_detector": text(data, "fluorescenceDetector", errors, max_length=60),
        "scan_file": text(data, "scanFileFullPath", errors),
        "chooch_file": text(data, "choochFileFullPath", errors),
        "chooch_plot": text(data, "jpegChoochFileFullPath", errors),
        **_times(data, errors),
        **_beam(data, errors, transmission="transmissionFactor"),
        "metadata": _kept(data, used),
    }
    if errors:
        raise invalid(errors)
    scan = records.energy_scan_store(principal=principal, owner=found, values=values)
    return reply({"energyScanId": scan.pk, "results": scan.pk}, status=201)


@endpoint
def energy_scan_link_sample(request, principal):
    """``PATCH events/energyscan/associate-bl-sample`` ``{energyScanId, blSampleId}``."""
    access.may_ingest.require(principal)
    data = body(request)
    errors = {}
    scan_id = parse_id(data.get("energyScanId"), "energyScanId", errors, blank=False)
    sample_id = parse_id(data.get("blSampleId"), "blSampleId", errors, blank=False)
    if errors:
        raise invalid(errors)
    try:
        scan = records.energy_scan_link_sample(principal=principal, scan_id=scan_id, sample_id=sample_id)
    except Http404:
        raise not_found("No such energy scan.") from None
    except ValidationError as exc:
        raise invalid(
            {{"sample": "blSampleId", "session": "energyScanId"}.get(k, k): v for k, v in exc.message_dict.items()}
        ) from None
    return reply({"energyScanId": scan.pk, "blSampleId": scan.sample_id})


XRF_KEYS = {
    "sessionId", "blSampleId", "energy", "filename", "scanFileFullPath", "jpegScanFileFullPath",
    "annotatedPymcaXfeSpectrum", "fittedDataFileFullPath", "startTime", "endTime", "exposureTime",
    "beamTransmission", "beamSizeHorizontal", "beamSizeVertical", "flux", "comments",
}  # fmt: skip


@endpoint
def xrf_spectrum_store(request, principal):
    """``POST events/xfe-fluorescence-spectrum``: a fluorescence spectrum of the session (and sample)."""
    access.may_ingest.require(principal)
    data = body(request)
    errors = {}
    found = owner(principal, data, errors)
    values = {
        "energy": number(data, "energy", errors),
        "file_name": text(data, "filename", errors),
        "scan_file": text(data, "scanFileFullPath", errors),
        "plot_file": text(data, "jpegScanFileFullPath", errors),
        "annotated_file": text(data, "annotatedPymcaXfeSpectrum", errors),
        "fitted_file": text(data, "fittedDataFileFullPath", errors),
        **_times(data, errors),
        **_beam(data, errors, transmission="beamTransmission"),
        "metadata": _kept(data, XRF_KEYS | {"sample_reference"}),
    }
    if errors:
        raise invalid(errors)
    spectrum = records.xrf_spectrum_store(principal=principal, owner=found, values=values)
    return reply({"xfeFluorescenceSpectrumId": spectrum.pk, "results": spectrum.pk}, status=201)


def unknown_path(request, *args, **kwargs):
    """Any other path under /ispyb/: the API's 404, never Django's page (DEBUG or not)."""
    return error_reply(ApiError(404, "No such endpoint of the ISPyB-compatible API.", "not_found"))
